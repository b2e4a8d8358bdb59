package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kardianos/service"

	"printpay.dev/printpay/agent"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/installer"
)

// The service manager starts the agent as `printpay --service --config
// FILE`; registering the flag as a command keeps main's dispatch unchanged.
func init() {
	commands[installer.ServiceFlag] = command{cmdServiceRun, "run as the service (how the service manager starts printpay)"}
}

// svcControl is the part of kardianos' service.Service the service commands
// use; tests give a fake.
type svcControl interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Status() (service.Status, error)
}

// queueOps are the spooler and firewall calls; tests give fakes.
type queueOps struct {
	add, remove    func(installer.Queue) error
	addFirewall    func(exe string) error
	removeFirewall func() error
	firewall       bool // the platform has a firewall rule to make
}

var realQueueOps = queueOps{
	add: installer.AddQueue, remove: installer.RemoveQueue,
	addFirewall: installer.AddFirewallRule, removeFirewall: installer.RemoveFirewallRule,
	firewall: installer.FirewallSupported(),
}

// portFree reports whether a loopback port is free; tests replace it.
var portFree = installer.PortFree

// newServiceControl is how the commands reach the service manager; tests
// replace it.
var newServiceControl = func(exe, configFile string) (svcControl, error) {
	s, err := service.New(&program{}, installer.ServiceConfig(exe, configFile))
	if err != nil {
		return nil, fmt.Errorf("printpay: the service manager: %w", err)
	}
	return s, nil
}

// cmdService is `printpay install [--printer-queue] | uninstall | start |
// stop | status`; args[0] names which.
//
//	install [--config FILE] [--server URL] [--printer-queue] [--driver NAME] [--no-service]
//	uninstall [--config FILE] [--purge] [--no-service]
//	start | stop | status
//
// install writes (or repairs) the configuration, secures the spool and token,
// registers the service (automatic start, restart on failure, started as
// `printpay --service --config FILE`), and with --printer-queue makes the
// print queue "printpay" that sends RAW jobs to the agent's raw port. It does
// not start the service: `printpay start` does. Every step can run again:
// install twice, uninstall twice, or install over a damaged configuration
// ends in the same state. Exit status: 0 done, 1 a step failed (the message
// says which; running the command again repairs), 2 usage; status exits 0
// running, 3 stopped, 4 not installed.
func cmdService(_ context.Context, s stdio, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(s.err, "usage: printpay install|uninstall|start|stop|status")
		return 2
	}
	action := args[0]
	fs := flag.NewFlagSet(action, flag.ContinueOnError)
	fs.SetOutput(s.err)
	cfgFile := fs.String("config", "", "configuration file (default: the system-wide one)")
	var (
		queue, noService, purge *bool
		server, driver          *string
	)
	switch action {
	case "install":
		queue = fs.Bool("printer-queue", false, "make the print queue \"printpay\" the POS prints to")
		driver = fs.String("driver", installer.DefaultDriver, "Windows: the print queue's driver")
		server = fs.String("server", "", "the server to pair with, https://host")
		noService = fs.Bool("no-service", false, "prepare files and queue only (a package manager owns the service)")
	case "uninstall":
		purge = fs.Bool("purge", false, "also delete the configuration, token, spool and log")
		noService = fs.Bool("no-service", false, "remove the queue and rule only (a package manager owns the service)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(s.err, "printpay %s: unexpected arguments: %v\n", action, fs.Args())
		return 2
	}
	paths, err := installer.PathsFor(*cfgFile)
	if err != nil {
		fmt.Fprintln(s.err, "printpay:", err)
		return 1
	}
	exe, err := executable()
	if err != nil {
		fmt.Fprintln(s.err, "printpay:", err)
		return 1
	}
	ctl, err := newServiceControl(exe, paths.Config)
	if err != nil {
		fmt.Fprintln(s.err, err)
		return 1
	}
	u := &setup{s: s, svc: ctl, paths: paths, exe: exe, q: realQueueOps, portFree: portFree}
	switch action {
	case "install":
		return u.install(installOptions{queue: *queue, driver: *driver, server: *server, noService: *noService})
	case "uninstall":
		return u.uninstall(*purge, *noService)
	case "start":
		return u.start()
	case "stop":
		return u.stop()
	case "status":
		return u.status()
	}
	fmt.Fprintf(s.err, "printpay: unknown service command %q\n", action)
	return 2
}

// executable is this program's path with symlinks resolved: what the service
// manager starts.
func executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("printpay: finding this program: %w", err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	return exe, nil
}

// setup carries out the service commands.
type setup struct {
	s        stdio
	svc      svcControl
	paths    installer.Paths
	exe      string
	q        queueOps
	portFree func(int) bool
}

type installOptions struct {
	queue     bool
	driver    string
	server    string
	noService bool
}

func (u *setup) say(format string, args ...any) {
	fmt.Fprintf(u.s.out, "printpay: "+format+"\n", args...)
}

func (u *setup) fail(format string, args ...any) int {
	fmt.Fprintf(u.s.err, "printpay: "+format+"\n", args...)
	return 1
}

// installed reports the service's state; ok false when it is not installed.
func (u *setup) installed() (st service.Status, ok bool, err error) {
	st, err = u.svc.Status()
	if errors.Is(err, service.ErrNotInstalled) {
		return service.StatusUnknown, false, nil
	}
	if err != nil {
		return st, false, err
	}
	return st, true, nil
}

func (u *setup) install(opt installOptions) int {
	running := false
	if !opt.noService {
		if st, ok, err := u.installed(); err == nil && ok && st == service.StatusRunning {
			running = true
		}
	}
	res, err := installer.PrepareConfig(u.paths, installer.ConfigOptions{
		ServerURL: opt.server, PortFree: u.portFree, OwnPort: running,
	})
	if err != nil {
		return u.fail("configuration %s: %v", u.paths.Config, err)
	}
	for _, n := range res.Notes {
		u.say("%s", n)
	}
	cfg := res.Config
	for _, d := range []string{u.paths.Data, cfg.Spool.Dir} {
		if err := installer.SecureDir(d); err != nil {
			return u.fail("%v", err)
		}
	}
	if err := installer.SecureFile(cfg.Server.TokenFile); err != nil {
		return u.fail("%v", err)
	}
	for _, p := range cfg.Printers {
		if p.Driver == "file" && p.Device != "" {
			if err := os.MkdirAll(p.Device, 0o755); err != nil {
				return u.fail("preview folder: %v", err)
			}
		}
	}
	if cfg.Log.File != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.Log.File), 0o755); err != nil {
			return u.fail("log folder: %v", err)
		}
	}

	if !opt.noService {
		if _, ok, err := u.installed(); err != nil {
			return u.fail("the service manager: %v", err)
		} else if ok {
			u.say("the service %q is already installed", installer.ServiceName)
		} else if err := u.svc.Install(); err != nil {
			return u.fail("registering the service: %v", err)
		} else {
			u.say("installed the service %q (%s)", installer.ServiceName, u.exe)
		}
	}

	if opt.queue {
		if res.Port == 0 {
			u.say("raw intake is off in %s; no print queue made", u.paths.Config)
		} else {
			err := u.q.add(installer.Queue{Port: res.Port, Driver: opt.driver})
			switch {
			case errors.Is(err, installer.ErrNoSpooler):
				u.say("print queue skipped: %v", err)
			case err != nil:
				return u.fail("print queue: %v", err)
			default:
				u.say("print queue %q sends to 127.0.0.1:%d", installer.QueueName, res.Port)
			}
		}
	}

	if u.q.firewall {
		if installer.LANIntake(cfg) {
			if err := u.q.addFirewall(u.exe); err != nil {
				return u.fail("firewall rule: %v", err)
			}
			u.say("firewall rule %q lets the LAN reach printpay", installer.FirewallRuleName)
		} else if err := u.q.removeFirewall(); err != nil {
			u.say("firewall rule: %v", err)
		}
	}
	if cfg.Server.URL == "" {
		u.say("no server set: receipts print without a payment QR until `printpay enroll` pairs this till")
	}
	return 0
}

func (u *setup) uninstall(purge, noService bool) int {
	rc := 0
	port := installer.DefaultRawPort
	if cfg, err := config.Load(u.paths.Config); err == nil {
		if _, p, ok := splitPort(cfg.Intake.Raw); ok {
			port = p
		}
	}
	st, ok, err := u.installed()
	switch {
	case noService:
	case err != nil:
		rc = u.fail("the service manager: %v", err)
	case !ok:
		u.say("the service %q is not installed", installer.ServiceName)
	default:
		if st == service.StatusRunning {
			if err := u.svc.Stop(); err != nil {
				u.say("stopping the service: %v", err)
			}
		}
		if err := u.svc.Uninstall(); err != nil {
			rc = u.fail("removing the service: %v", err)
		} else {
			u.say("removed the service %q", installer.ServiceName)
		}
	}
	if err := u.q.remove(installer.Queue{Port: port}); err != nil {
		rc = u.fail("print queue: %v", err)
	}
	if u.q.firewall {
		if err := u.q.removeFirewall(); err != nil {
			rc = u.fail("firewall rule: %v", err)
		}
	}
	if purge {
		var cfg config.Config
		if c, err := config.Load(u.paths.Config); err == nil {
			cfg = c
		}
		cloud := ""
		if cfg.Spool.Dir != "" {
			cloud = agent.CloudStateDir(cfg)
		}
		for _, p := range []string{cfg.Spool.Dir, cloud, cfg.Server.TokenFile, cfg.Log.File,
			u.paths.Config, u.paths.Config + ".damaged", u.paths.Spool, u.paths.Token, u.paths.Preview} {
			if p == "" {
				continue
			}
			if err := removeAllRetry(p); err != nil {
				rc = u.fail("%v", err)
			}
		}
		for _, p := range []string{cfg.Log.File, u.paths.Log} {
			if p != "" {
				removeMatching(p + ".*") // rotated logs
				removeAllRetry(p)
			}
		}
		os.Remove(u.paths.Data) // only when empty
		os.Remove(filepath.Dir(u.paths.Config))
		u.say("deleted the configuration, token, spool, server state and log")
	} else if rc == 0 {
		u.say("kept the configuration, token and spool in %s", u.paths.Data)
	}
	return rc
}

// removeAllRetry removes path and everything under it, retrying for a few
// seconds: on Windows a file the just-stopped service still had open cannot
// be deleted until its process has exited.
func removeAllRetry(path string) error {
	var err error
	for i := 0; i < 25; i++ {
		if err = removeTree(path); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

// removeTree is os.RemoveAll by plain per-file removes, children first.
// (os.RemoveAll's handle-relative deletion is not implemented by every
// Windows file system layer, Wine's included.)
func removeTree(path string) error {
	var paths []string
	err := filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(paths) - 1; i >= 0; i-- {
		if err := os.Remove(paths[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func removeMatching(glob string) {
	m, _ := filepath.Glob(glob)
	for _, f := range m {
		os.Remove(f)
	}
}

func splitPort(addr string) (string, int, bool) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, false
	}
	var p int
	if _, err := fmt.Sscanf(addr[i+1:], "%d", &p); err != nil || p <= 0 {
		return "", 0, false
	}
	return addr[:i], p, true
}

func (u *setup) start() int {
	st, ok, err := u.installed()
	switch {
	case err != nil:
		return u.fail("the service manager: %v", err)
	case !ok:
		return u.fail("the service %q is not installed; run `printpay install` first", installer.ServiceName)
	case st == service.StatusRunning:
		u.say("the service %q is already running", installer.ServiceName)
		return 0
	}
	if err := u.svc.Start(); err != nil {
		return u.fail("starting the service: %v (see the log %s)", err, u.paths.Log)
	}
	u.say("started the service %q", installer.ServiceName)
	return 0
}

func (u *setup) stop() int {
	st, ok, err := u.installed()
	switch {
	case err != nil:
		return u.fail("the service manager: %v", err)
	case !ok:
		u.say("the service %q is not installed", installer.ServiceName)
		return 0
	case st == service.StatusStopped:
		u.say("the service %q is already stopped", installer.ServiceName)
		return 0
	}
	if err := u.svc.Stop(); err != nil {
		return u.fail("stopping the service: %v", err)
	}
	u.say("stopped the service %q", installer.ServiceName)
	return 0
}

func (u *setup) status() int {
	st, ok, err := u.installed()
	switch {
	case err != nil:
		return u.fail("the service manager: %v", err)
	case !ok:
		fmt.Fprintln(u.s.out, "not installed")
		return 4
	case st == service.StatusRunning:
		fmt.Fprintln(u.s.out, "running")
		return 0
	default:
		fmt.Fprintln(u.s.out, "stopped")
		return 3
	}
}

// cmdServiceRun is what the service manager starts: `printpay --service
// --config FILE`. Start, stop and failures go to the Windows Event Log or
// syslog (the journal); the agent's own log goes to its log file.
func cmdServiceRun(_ context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet(installer.ServiceFlag, flag.ContinueOnError)
	fs.SetOutput(s.err)
	cfgFile := fs.String("config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	paths, err := installer.PathsFor(*cfgFile)
	if err != nil {
		fmt.Fprintln(s.err, "printpay:", err)
		return 1
	}
	p := &program{configFile: paths.Config, run: runAgent, stopTimeout: installer.StopTimeout}
	exe, err := executable()
	if err != nil {
		fmt.Fprintln(s.err, err)
		return 1
	}
	svc, err := service.New(p, installer.ServiceConfig(exe, paths.Config))
	if err != nil {
		fmt.Fprintln(s.err, "printpay:", err)
		return 1
	}
	p.events = systemLogger(svc, s.err)
	p.fatal = func(err error) {
		p.events.Errorf("printpay stopped on an error: %v", err)
		os.Exit(1) // a failure: the service manager restarts the service
	}
	if err := nativeRunService(svc, p); err != nil {
		p.events.Errorf("printpay: %v", err)
		return 1
	}
	return 0
}

// systemLogger is the Event Log / syslog logger, or stderr when there is
// none (syslog absent; the journal still gets stderr).
func systemLogger(svc service.Service, stderr io.Writer) service.Logger {
	if l, err := svc.SystemLogger(nil); err == nil {
		return l
	}
	return consoleLogger{stderr}
}

type consoleLogger struct{ w io.Writer }

func (c consoleLogger) Error(v ...any) error   { _, err := fmt.Fprintln(c.w, v...); return err }
func (c consoleLogger) Warning(v ...any) error { _, err := fmt.Fprintln(c.w, v...); return err }
func (c consoleLogger) Info(v ...any) error    { _, err := fmt.Fprintln(c.w, v...); return err }
func (c consoleLogger) Errorf(f string, v ...any) error {
	_, err := fmt.Fprintf(c.w, f+"\n", v...)
	return err
}
func (c consoleLogger) Warningf(f string, v ...any) error {
	_, err := fmt.Fprintf(c.w, f+"\n", v...)
	return err
}
func (c consoleLogger) Infof(f string, v ...any) error {
	_, err := fmt.Fprintf(c.w, f+"\n", v...)
	return err
}

// runFunc runs the agent until ctx ends: agent.Run, as `printpay run` does.
type runFunc func(ctx context.Context, cfg config.Config, logger *slog.Logger) error

// runAgent is what the service runs: the same agent.Run as `printpay run`,
// with the agent's file logger.
func runAgent(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
	logger, closer, err := agent.NewLogger(cfg.Log, nil, slog.LevelInfo)
	if err != nil {
		return fmt.Errorf("printpay: log: %w", err)
	}
	defer closer.Close()
	agent.Version = version
	logger.Info("printpay starting as a service", "version", version, "config", cfg.File, "pid", os.Getpid())
	err = agent.Run(ctx, cfg, logger)
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("printpay stopped", "err", err)
	}
	return err
}

// program is the thin service adapter: Start loads the configuration and
// runs the agent in a goroutine, returning at once; Stop cancels and waits
// at most stopTimeout. The agent returning by itself is a failure handed to
// fatal, so the service manager restarts the service.
type program struct {
	configFile  string
	run         runFunc
	stopTimeout time.Duration
	events      service.Logger
	fatal       func(error)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func (p *program) Start(service.Service) error {
	cfg, err := config.Load(p.configFile)
	if err != nil {
		if p.events != nil {
			p.events.Errorf("printpay cannot start: %v", err)
		}
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p.mu.Lock()
	p.cancel, p.done = cancel, done
	p.mu.Unlock()
	go func() {
		defer close(done)
		err := p.run(ctx, cfg, nil)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the agent returned before it was stopped")
		}
		if p.fatal != nil {
			p.fatal(err)
		}
	}()
	if p.events != nil {
		p.events.Infof("printpay %s started (%s)", version, p.configFile)
	}
	return nil
}

func (p *program) Stop(service.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		if p.events != nil {
			p.events.Info("printpay stopped")
		}
		return nil
	case <-time.After(p.stopTimeout):
		err := fmt.Errorf("printpay: the agent did not stop within %s", p.stopTimeout)
		if p.events != nil {
			p.events.Error(err.Error())
		}
		return err
	}
}
