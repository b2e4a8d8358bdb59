package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/intake"
	"printpay.dev/printpay/agent/status"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/spool"
)

// Version is reported by /api/status; main sets it.
var Version = "dev"

// Printer is what a printing function gets for one configured printer.
type Printer struct {
	Config config.Printer
	Spool  *spool.Spool         // the printer's queue is Spool.Wait(ctx, Config.Name)
	Status *drivers.StatusCache // the raw listener answers the POS from this
	Agent  config.Config        // the whole configuration (QR budget, append_cut, ...)
	// AgentAddrs are the agent's own raw listen addresses (a winspool
	// queue pointing at one of them must be refused).
	AgentAddrs []string
	Logger     *slog.Logger // with the printer attribute

	link    *link             // the server link; nil without one
	pauses  *pauses           // the status page's pause button; nil: never paused
	latency *status.Histogram // job end → printed, for /metrics; nil: not measured
}

// PrintFunc prints one printer's jobs until ctx is done. An error other
// than ctx's stops the agent.
type PrintFunc func(ctx context.Context, p Printer) error

// Addrs are the addresses the agent listens on, once bound.
type Addrs struct {
	Raw    map[string]string // printer → raw listen address
	LPD    string
	Status string
}

// Options extend Run.
type Options struct {
	Print PrintFunc   // nil: jobs stay pending
	Ready func(Addrs) // called once every listener is bound
	// Welcomed is called once, on a goroutine of Run, when the server
	// link ([server] url = ws:// or wss://) is first welcomed.
	Welcomed func()
	// DemoPay plays the customer paying an order (printpay demo: the
	// WeChat Pay sandbox); the status page shows its button when set.
	DemoPay func(ctx context.Context, outTradeNo string) error
}

// Run runs the agent until ctx is done, printing through agent/worker
// (Workers). With [server] url = ws:// or wss:// and a token file, the
// server link hands out the QR codes; url = "local:..." uses a local test
// source; "" prints without QR.
func Run(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	var qr worker.QRSource
	if local, ok, err := worker.ParseLocalQR(cfg.Server.URL); err != nil {
		return fmt.Errorf("agent: [server] url: %w", err)
	} else if ok {
		// url = "local:..." answers from a local test source: the print
		// path without a server, for benchmarks and end-to-end tests.
		qr = local
		logger.Warn("agent: QR codes come from the local test source, not a server", "url", cfg.Server.URL)
	}
	return RunWith(ctx, cfg, logger, Options{Print: Workers(qr)})
}

// ErrNoPrinter is returned when the configuration has no [[printer]].
var ErrNoPrinter = errors.New("agent: no [[printer]] configured")

// RunWith is Run with the printing side and a readiness hook. With
// opt.Print nil, jobs spool and list as pending.
func RunWith(ctx context.Context, cfg config.Config, logger *slog.Logger, opt Options) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The status page's log tail sees every record the agent logs.
	logs := status.NewLogHub(logger.Handler(), 0)
	logger = slog.New(logs)
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(cfg.Printers) == 0 {
		return ErrNoPrinter
	}
	if err := os.MkdirAll(cfg.Spool.Dir, 0o700); err != nil {
		return fmt.Errorf("agent: spool directory: %w", err)
	}
	sp, err := spool.Open(cfg.Spool.Dir, spool.Options{
		Retention: cfg.Spool.Retention, MinFree: cfg.Spool.MinFree, Logger: logger.With("component", "spool"),
	})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer sp.Close()
	st := sp.Stats()
	logger.Info("agent: spool open", "dir", cfg.Spool.Dir, "pending", st.Jobs[spool.Pending], "held", st.Held)

	caches := make(map[string]*drivers.StatusCache, len(cfg.Printers))
	names := make([]string, 0, len(cfg.Printers))
	for _, p := range cfg.Printers {
		caches[p.Name] = &drivers.StatusCache{}
		names = append(names, p.Name)
	}
	in := intake.New(sp, intake.Options{
		Printers:         names,
		IdleTimeout:      cfg.Intake.IdleTimeout,
		IdleTimeoutNoCut: cfg.Intake.IdleTimeoutNoCut,
		MaxJobBytes:      cfg.Intake.MaxJobBytes,
		MaxConnections:   cfg.Intake.MaxConnections,
		StatusReply:      replyState(cfg.Intake.StatusReply),
		Status:           func(p string) *drivers.StatusCache { return caches[p] },
		Logger:           logger.With("component", "intake"),
	})

	// Bind everything first, so a taken port fails the start cleanly.
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	listen := func(what, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("agent: %s listener: %w", what, err)
		}
		lns = append(lns, ln)
		return ln, nil
	}
	type rawLn struct {
		printer string
		ln      net.Listener
	}
	var raws []rawLn
	addrs := Addrs{Raw: map[string]string{}}
	if cfg.Intake.Raw != "" {
		ln, err := listen("raw", cfg.Intake.Raw)
		if err != nil {
			return err
		}
		raws = append(raws, rawLn{cfg.Printers[0].Name, ln})
	}
	for _, p := range cfg.Printers {
		if p.Raw == "" {
			continue
		}
		ln, err := listen("raw ("+p.Name+")", p.Raw)
		if err != nil {
			return err
		}
		raws = append(raws, rawLn{p.Name, ln})
	}
	var agentAddrs []string
	for _, r := range raws {
		addrs.Raw[r.printer] = r.ln.Addr().String()
		agentAddrs = append(agentAddrs, r.ln.Addr().String())
	}
	var lpdLn, statusLn net.Listener
	if cfg.Intake.LPD != "" {
		lpdLn, err = net.Listen("tcp", cfg.Intake.LPD)
		if fb, ok := lpdFallback(cfg.Intake.LPD, err); ok {
			// Port 515 is privileged; a user run takes 1515, as the default does.
			logger.Warn("agent: cannot bind the LPD port; using the user-run port", "addr", cfg.Intake.LPD, "fallback", fb, "err", err)
			lpdLn, err = net.Listen("tcp", fb)
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("agent: lpd listener: %w", err)
		}
		lns = append(lns, lpdLn)
		addrs.LPD = lpdLn.Addr().String()
	}
	if cfg.Status.Listen != "" {
		if statusLn, err = listen("status", cfg.Status.Listen); err != nil {
			return err
		}
		addrs.Status = statusLn.Addr().String()
	}
	password := ""
	if cfg.Status.PasswordFile != "" {
		b, err := os.ReadFile(cfg.Status.PasswordFile)
		if err != nil {
			closeAll()
			return fmt.Errorf("agent: status password file: %w", err)
		}
		password = string(trimSpace(b))
	}
	var printers []status.Printer
	for _, p := range cfg.Printers {
		stp := status.Printer{Name: p.Name, Driver: p.Driver, Device: p.Device, Profile: p.Profile, Status: caches[p.Name], Encoding: p.Encoding}
		if prof, err := profiles.Lookup(p.Profile); err == nil {
			stp.PaperDots = prof.PaperDots // previews as wide as the paper
			if stp.Encoding == "" {
				stp.Encoding = prof.Encoding
			}
		}
		printers = append(printers, stp)
	}
	pz := newPauses()
	var lk *link
	if IsCloudURL(cfg.Server.URL) {
		lk, err = newLink(cfg, sp, caches, logger)
		if errors.Is(err, ErrNotEnrolled) {
			logger.Warn("agent: not enrolled: run printpay enroll --server URL --code CODE; receipts print without QR", "token_file", cfg.Server.TokenFile)
			lk = nil
		} else if err != nil {
			closeAll()
			return err
		}
	}
	latency := status.NewHistogram(nil)
	sopt := status.Options{
		Latency: latency,
		Spool:   sp, Intake: in, Printers: printers, ServerURL: cfg.Server.URL, Version: Version,
		Password: password, Logger: logger.With("component", "status"),
		Logs: logs, Printed: printedFunc(cfg), DemoPay: opt.DemoPay,
		Pause: func(printer string, on bool) error {
			pz.set(printer, on)
			logger.Info("agent: printer paused from the status page", "printer", printer, "paused", on)
			return nil
		},
		Paused:    func(printer string) bool { on, _ := pz.get(printer); return on },
		TestPrint: func(printer string) error { return testPrint(sp, cfg, printer) },
	}
	if lk != nil {
		sopt.Link = lk.statusLink
	}
	statusSrv := status.New(sopt)

	// Start; the first fatal error stops everything.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errOnce.Do(func() { firstErr = fmt.Errorf("agent: %s: %w", name, err) })
				logger.Error("agent: component failed; stopping", "component", name, "err", err)
				cancel()
			}
		}()
	}
	run("spool", sp.Run)
	run("log hub", logs.Run)
	if lk != nil {
		run("server link", lk.run)
		if opt.Welcomed != nil {
			welcomed := lk.client.Welcomed()
			run("welcome hook", func(ctx context.Context) error {
				select {
				case <-welcomed:
					opt.Welcomed()
				case <-ctx.Done():
				}
				return nil
			})
		}
	}
	for _, r := range raws {
		raw := in.Raw(r.printer)
		ln := r.ln
		run("raw "+ln.Addr().String(), func(ctx context.Context) error { return raw.Serve(ctx, ln) })
		logger.Info("agent: raw listener", "addr", ln.Addr().String(), "printer", r.printer)
	}
	if lpdLn != nil {
		lpd := in.LPD()
		run("lpd", func(ctx context.Context) error { return lpd.Serve(ctx, lpdLn) })
		logger.Info("agent: lpd listener", "addr", lpdLn.Addr().String())
	}
	if statusLn != nil {
		run("status", func(ctx context.Context) error { return statusSrv.Serve(ctx, statusLn) })
		logger.Info("agent: status server", "addr", "http://"+statusLn.Addr().String()+"/")
	}
	for _, p := range cfg.Printers {
		plog := logger.With("printer", p.Name)
		if opt.Print == nil {
			plog.Info("agent: no printing for this printer yet; its jobs stay pending", "driver", p.Driver)
			continue
		}
		pr := Printer{Config: p, Spool: sp, Status: caches[p.Name], Agent: cfg, AgentAddrs: agentAddrs, Logger: plog, link: lk, pauses: pz, latency: latency}
		run("printer "+p.Name, func(ctx context.Context) error { return opt.Print(ctx, pr) })
	}
	if opt.Ready != nil {
		opt.Ready(addrs)
	}
	<-ctx.Done()
	wg.Wait()
	logger.Info("agent: stopped")
	return firstErr
}

// lpdFallback returns host:1515 when binding addr (port 515) was refused
// for lack of privilege.
func lpdFallback(addr string, err error) (string, bool) {
	host, port, serr := net.SplitHostPort(addr)
	if err == nil || serr != nil || port != "515" || !errors.Is(err, os.ErrPermission) {
		return "", false
	}
	return net.JoinHostPort(host, "1515"), true
}

func replyState(s string) drivers.PrinterState {
	switch s {
	case "offline":
		return drivers.StateOffline
	case "paper-out":
		return drivers.StatePaperOut
	}
	return drivers.StateOnline
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
