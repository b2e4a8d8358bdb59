package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kardianos/service"

	"printpay.dev/printpay/agent"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/installer"
)

// fakeSCM is a service manager that remembers one service.
type fakeSCM struct {
	installed, running bool
	calls              []string
	exe, configFile    string
}

func (f *fakeSCM) Install() error {
	f.calls = append(f.calls, "install")
	if f.installed {
		return errors.New("service printpay already exists")
	}
	f.installed = true
	return nil
}

func (f *fakeSCM) Uninstall() error {
	f.calls = append(f.calls, "uninstall")
	if !f.installed {
		return service.ErrNotInstalled
	}
	f.installed, f.running = false, false
	return nil
}

func (f *fakeSCM) Start() error {
	f.calls = append(f.calls, "start")
	if !f.installed {
		return service.ErrNotInstalled
	}
	f.running = true
	return nil
}

func (f *fakeSCM) Stop() error {
	f.calls = append(f.calls, "stop")
	f.running = false
	return nil
}

func (f *fakeSCM) Status() (service.Status, error) {
	switch {
	case !f.installed:
		return service.StatusUnknown, service.ErrNotInstalled
	case f.running:
		return service.StatusRunning, nil
	}
	return service.StatusStopped, nil
}

// fakeSpooler records the queue the commands make.
type fakeSpooler struct {
	queues   map[string]installer.Queue
	firewall bool
	fail     error
}

func (f *fakeSpooler) ops() queueOps {
	return queueOps{
		add: func(q installer.Queue) error {
			if f.fail != nil {
				return f.fail
			}
			f.queues[installer.QueueName] = q
			return nil
		},
		remove:         func(installer.Queue) error { delete(f.queues, installer.QueueName); return nil },
		addFirewall:    func(string) error { f.firewall = true; return nil },
		removeFirewall: func() error { f.firewall = false; return nil },
		firewall:       true,
	}
}

type serviceEnv struct {
	scm     *fakeSCM
	spooler *fakeSpooler
	cfg     string
	taken   map[int]bool
}

func newServiceEnv(t *testing.T) *serviceEnv {
	e := &serviceEnv{
		scm:     &fakeSCM{},
		spooler: &fakeSpooler{queues: map[string]installer.Queue{}},
		cfg:     filepath.Join(t.TempDir(), "printpay", "printpay.toml"),
		taken:   map[int]bool{},
	}
	oldCtl, oldOps, oldFree := newServiceControl, realQueueOps, portFree
	newServiceControl = func(exe, configFile string) (svcControl, error) {
		e.scm.exe, e.scm.configFile = exe, configFile
		return e.scm, nil
	}
	realQueueOps = e.spooler.ops()
	portFree = func(p int) bool { return !e.taken[p] }
	t.Cleanup(func() { newServiceControl, realQueueOps, portFree = oldCtl, oldOps, oldFree })
	return e
}

func (e *serviceEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if args[0] != "start" && args[0] != "stop" && args[0] != "status" {
		args = append(args[:1:1], append([]string{"--config", e.cfg}, args[1:]...)...)
	}
	code := dispatch(context.Background(), stdio{in: strings.NewReader(""), out: &out, err: &errb}, args)
	return code, out.String(), errb.String()
}

func TestInstallUninstall(t *testing.T) {
	e := newServiceEnv(t)
	code, out, errs := e.run(t, "install", "--printer-queue", "--server", "https://pay.example.com")
	if code != 0 {
		t.Fatalf("install: %d\n%s%s", code, out, errs)
	}
	if !e.scm.installed || e.scm.configFile != e.cfg {
		t.Errorf("service not registered with the config: %+v", e.scm)
	}
	if q := e.spooler.queues["printpay"]; q.Port != 9100 || q.Driver != installer.DefaultDriver {
		t.Errorf("queue %+v, want port 9100 and the default driver", q)
	}
	if e.spooler.firewall {
		t.Error("a firewall rule with loopback intake")
	}
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.URL != "wss://pay.example.com/v1/agent" || cfg.Intake.Raw != "127.0.0.1:9100" {
		t.Errorf("config %+v", cfg)
	}
	for _, d := range []string{cfg.Spool.Dir, cfg.Printers[0].Device} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s not made: %v", d, err)
		}
	}

	// Install twice: same state, says so.
	code, out, _ = e.run(t, "install", "--printer-queue")
	if code != 0 || !strings.Contains(out, "already installed") {
		t.Errorf("second install: %d %q", code, out)
	}
	if n := strings.Count(strings.Join(e.scm.calls, " "), "install"); n != 1 {
		t.Errorf("service registered %d times", n)
	}

	// start / status / stop.
	if code, out, _ := e.run(t, "start"); code != 0 || !e.scm.running {
		t.Errorf("start: %d %q", code, out)
	}
	if code, out, _ := e.run(t, "status"); code != 0 || strings.TrimSpace(out) != "running" {
		t.Errorf("status: %d %q", code, out)
	}
	if code, out, _ := e.run(t, "start"); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("start twice: %d %q", code, out)
	}
	if code, _, _ := e.run(t, "stop"); code != 0 || e.scm.running {
		t.Errorf("stop: %d", code)
	}
	if code, out, _ := e.run(t, "status"); code != 3 || strings.TrimSpace(out) != "stopped" {
		t.Errorf("status stopped: %d %q", code, out)
	}
	e.run(t, "start")

	// Uninstall keeps config, token and spool; twice is fine.
	code, out, errs = e.run(t, "uninstall")
	if code != 0 || e.scm.installed || len(e.spooler.queues) != 0 {
		t.Fatalf("uninstall: %d %q %q; scm %+v queues %v", code, out, errs, e.scm, e.spooler.queues)
	}
	if _, err := os.Stat(e.cfg); err != nil {
		t.Errorf("config removed without --purge: %v", err)
	}
	if _, err := os.Stat(cfg.Spool.Dir); err != nil {
		t.Errorf("spool removed without --purge: %v", err)
	}
	code, out, _ = e.run(t, "uninstall")
	if code != 0 || !strings.Contains(out, "not installed") {
		t.Errorf("second uninstall: %d %q", code, out)
	}
	if code, out, _ := e.run(t, "status"); code != 4 || strings.TrimSpace(out) != "not installed" {
		t.Errorf("status: %d %q", code, out)
	}
	if code, _, errs := e.run(t, "start"); code != 1 || !strings.Contains(errs, "printpay install") {
		t.Errorf("start when not installed: %d %q", code, errs)
	}

	// --purge deletes the program data, the server link's state included.
	if err := os.WriteFile(cfg.Server.TokenFile, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	cloud := agent.CloudStateDir(cfg)
	if err := os.MkdirAll(filepath.Join(cloud, "uploads"), 0o700); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := e.run(t, "uninstall", "--purge"); code != 0 {
		t.Fatalf("purge: %d %q %q", code, out, errs)
	}
	for _, p := range []string{e.cfg, cfg.Spool.Dir, cfg.Server.TokenFile, cloud, filepath.Dir(e.cfg)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived --purge: %v", p, err)
		}
	}
}

// 9100 held by another program: install picks another port, points the
// queue at it, writes it to the config and says so.
func TestInstallPortTaken(t *testing.T) {
	e := newServiceEnv(t)
	e.taken[9100] = true
	code, out, errs := e.run(t, "install", "--printer-queue")
	if code != 0 {
		t.Fatalf("install: %d %s%s", code, out, errs)
	}
	if q := e.spooler.queues["printpay"]; q.Port != 9101 {
		t.Errorf("queue port %d, want 9101", q.Port)
	}
	if !strings.Contains(out, "port 9100 is in use") || !strings.Contains(out, "127.0.0.1:9101") {
		t.Errorf("install does not say so: %q", out)
	}
	cfg, err := config.Load(e.cfg)
	if err != nil || cfg.Intake.Raw != "127.0.0.1:9101" {
		t.Errorf("config raw %q, %v", cfg.Intake.Raw, err)
	}
	// The service running on its own port: a repair install leaves it.
	e.run(t, "start")
	e.taken[9101] = true
	if code, out, _ := e.run(t, "install", "--printer-queue"); code != 0 || strings.Contains(out, "in use") {
		t.Errorf("reinstall while running moved the port: %d %q", code, out)
	}
}

// A damaged configuration is saved aside and replaced, with the line named.
func TestInstallDamagedConfig(t *testing.T) {
	e := newServiceEnv(t)
	if err := os.MkdirAll(filepath.Dir(e.cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfg, []byte("[intake\nraw = 9100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := e.run(t, "install")
	if code != 0 {
		t.Fatalf("install: %d %s%s", code, out, errs)
	}
	if !strings.Contains(out, "damaged") || !strings.Contains(out, e.cfg+":") {
		t.Errorf("message does not name the file and line: %q", out)
	}
	if _, err := config.Load(e.cfg); err != nil {
		t.Errorf("not repaired: %v", err)
	}
	if _, err := os.Stat(e.cfg + ".damaged"); err != nil {
		t.Errorf("damaged file not kept: %v", err)
	}
}

func TestInstallQueueOutcomes(t *testing.T) {
	e := newServiceEnv(t)
	e.spooler.fail = installer.ErrNoSpooler
	code, out, _ := e.run(t, "install", "--printer-queue")
	if code != 0 || !strings.Contains(out, "print queue skipped") {
		t.Errorf("no spooler: %d %q", code, out)
	}
	e.spooler.fail = errors.New("access denied")
	code, _, errs := e.run(t, "install", "--printer-queue")
	if code != 1 || !strings.Contains(errs, "access denied") {
		t.Errorf("queue failure: %d %q", code, errs)
	}
	e.spooler.fail = nil
	if code, _, _ := e.run(t, "install", "--printer-queue"); code != 0 || e.spooler.queues["printpay"].Port != 9100 {
		t.Errorf("a second run does not repair: %d", code)
	}
}

// LAN intake gets a firewall rule; back to loopback removes it.
func TestInstallFirewall(t *testing.T) {
	e := newServiceEnv(t)
	if code, _, _ := e.run(t, "install"); code != 0 {
		t.Fatal(code)
	}
	data, _ := os.ReadFile(e.cfg)
	if err := os.WriteFile(e.cfg, installer.SetKey(data, "intake", "raw", `"0.0.0.0:9100"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := e.run(t, "install"); code != 0 || !e.spooler.firewall {
		t.Fatalf("LAN intake: %d %q %q firewall=%v", code, out, errs, e.spooler.firewall)
	}
	if err := os.WriteFile(e.cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := e.run(t, "install"); code != 0 || e.spooler.firewall {
		t.Errorf("loopback again: %d firewall=%v", code, e.spooler.firewall)
	}
}

func TestServiceUsage(t *testing.T) {
	e := newServiceEnv(t)
	for _, args := range [][]string{{"install", "extra"}, {"install", "--bogus"}, {"uninstall", "--printer-queue"}} {
		if code, _, _ := e.run(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if _, ok := commands[installer.ServiceFlag]; !ok {
		t.Error("--service is not a command: the service manager could not start printpay")
	}
}

// The adapter: Start returns at once with the agent running, Stop cancels
// and waits; a stuck agent makes Stop fail after the timeout; an agent that
// ends by itself is a failure.
func TestProgramStartStop(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "printpay.toml")
	data, err := installer.NewConfigFile(installer.PathsUnder(cfgFile, dir), 9100, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}

	started := make(chan config.Config, 1)
	stopped := make(chan struct{})
	p := &program{configFile: cfgFile, stopTimeout: 5 * time.Second,
		run: func(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
			started <- cfg
			<-ctx.Done()
			close(stopped)
			return ctx.Err()
		},
		fatal: func(err error) { t.Errorf("fatal: %v", err) },
	}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case cfg := <-started:
		if cfg.File != cfgFile {
			t.Errorf("agent got config %q", cfg.File)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("agent not started")
	}
	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	default:
		t.Error("Stop returned before the agent ended")
	}
	if err := p.Stop(nil); err != nil { // stopping twice
		t.Errorf("second Stop: %v", err)
	}

	// A stuck agent: Stop gives up after its timeout.
	release := make(chan struct{})
	defer close(release)
	stuck := &program{configFile: cfgFile, stopTimeout: 50 * time.Millisecond,
		run: func(context.Context, config.Config, *slog.Logger) error { <-release; return nil }}
	if err := stuck.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := stuck.Stop(nil); err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Errorf("stuck Stop: %v", err)
	}

	// The agent failing on its own reaches fatal (the service manager restarts).
	var mu sync.Mutex
	var fatalErr error
	got := make(chan struct{})
	failing := &program{configFile: cfgFile, stopTimeout: time.Second,
		run: func(context.Context, config.Config, *slog.Logger) error { return errors.New("spool: disk gone") },
		fatal: func(err error) {
			mu.Lock()
			fatalErr = err
			mu.Unlock()
			close(got)
		}}
	if err := failing.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
		mu.Lock()
		if fatalErr == nil || !strings.Contains(fatalErr.Error(), "disk gone") {
			t.Errorf("fatal got %v", fatalErr)
		}
		mu.Unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("a failing agent did not reach fatal")
	}

	// A damaged configuration: Start fails with the file and line.
	if err := os.WriteFile(cfgFile, []byte("[intake]\nraw = 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (&program{configFile: cfgFile, run: p.run}).Start(nil); err == nil || !strings.Contains(err.Error(), cfgFile+":2") {
		t.Errorf("Start with a damaged config: %v", err)
	}
}

// TestServiceProcess runs `printpay --service --config FILE` as the service
// manager would (a child process of this test binary), waits until the
// agent takes jobs on its raw port, prints one to the file printer, then
// sends SIGTERM: the process must stop cleanly, in time.
func TestServiceProcess(t *testing.T) {
	if os.Getenv("PRINTPAY_SERVICE_CHILD") == "1" {
		os.Exit(dispatch(context.Background(), stdio{os.Stdin, os.Stdout, os.Stderr}, os.Args[len(os.Args)-3:]))
	}
	if !serviceSignals {
		t.Skip("the service manager stops services with a signal only on Unix")
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "printpay.toml")
	paths := installer.PathsUnder(cfgFile, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data, err := installer.NewConfigFile(paths, port, "")
	if err != nil {
		t.Fatal(err)
	}
	data = installer.SetKey(data, "intake", "lpd", `""`)
	data = installer.SetKey(data, "status", "listen", `""`)
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(paths.Preview, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestServiceProcess$", "--", installer.ServiceFlag, "--config", cfgFile)
	cmd.Env = append(os.Environ(), "PRINTPAY_SERVICE_CHILD=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var c net.Conn
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
	}
	if c == nil {
		t.Fatalf("the service never listened on %s: %v\n%s", addr, err, out.String())
	}
	job := []byte("\x1b@service process\n\x1dVA\x00")
	c.Write(job)
	c.Close()
	printed := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !printed; time.Sleep(50 * time.Millisecond) {
		m, _ := filepath.Glob(filepath.Join(paths.Preview, "*.bin"))
		for _, f := range m {
			if b, _ := os.ReadFile(f); bytes.Equal(b, job) {
				printed = true
			}
		}
	}
	if !printed {
		t.Errorf("job not printed to %s", paths.Preview)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("service exit: %v\n%s", err, out.String())
		}
	case <-time.After(installer.StopTimeout + 5*time.Second):
		t.Fatalf("service did not stop after SIGTERM\n%s", out.String())
	}
}
