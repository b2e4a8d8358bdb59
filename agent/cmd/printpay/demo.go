package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"printpay.dev/printpay/agent"
	"printpay.dev/printpay/agent/cloud"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/internal/receiptgen"
	"printpay.dev/printpay/server/api"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/store"
)

// demoSample is the receipt the demo suggests sending: a GBK pre-bill with
// an amount due, relative to the repository root.
const demoSample = "testdata/receipts/keruyun-prebill-gbk.bin"

// demoSampleSource is the same receipt as receiptgen source, written out when
// the demo runs outside the repository.
const demoSampleSource = `encoding: gbk

@align center
@size 2x2
老街小馆
@size 1x1
预结单
@align left
桌号: A08                人数: 4
单号: 2611260012
--------------------------------
品名            数量        金额
宫保鸡丁        1          38.00
水煮鱼          1          68.00
米饭            4           8.00
--------------------------------
消费合计:                 114.00
会员折扣:                 -11.40
茶位费:                     8.00
@bold on
@size 2x2
应收金额: 110.60
@size 1x1
@bold off
--------------------------------
@align center
谢谢惠顾,欢迎再次光临
@feed 4
@cut
`

// cmdDemo runs the agent, an in-process printpay-server on SQLite with a
// demo merchant, the WeChat Pay sandbox and the preview printer, all on
// loopback, and prints where each one is once the agent is welcomed by
// the server.
//
//	printpay demo [--dir DIR] [-v]
func cmdDemo(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(s.err)
	dirFlag := fs.String("dir", "", "folder for the demo's state and preview printer (default: a new temporary folder, removed at exit)")
	verbose := fs.Bool("v", false, "log the server's and the sandbox's requests too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(s.err, "printpay demo: unexpected arguments:", fs.Args())
		return 2
	}
	dir := *dirFlag
	if dir == "" {
		tmp, err := os.MkdirTemp("", "printpay-demo-")
		if err != nil {
			fmt.Fprintln(s.err, "printpay demo:", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	serverLevel := slog.LevelWarn
	if *verbose {
		serverLevel = slog.LevelInfo
	}
	errw := &lockedWriter{w: s.err}
	agent.Version = version
	d, err := startDemo(ctx, demoOptions{
		Dir:          dir,
		Logger:       slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelInfo})),
		ServerLogger: slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: serverLevel})),
	})
	if err != nil {
		fmt.Fprintln(s.err, "printpay demo:", err)
		return 1
	}
	defer d.Close()
	sample, err := d.sample()
	if err != nil {
		fmt.Fprintln(s.err, "printpay demo:", err)
		return 1
	}
	fmt.Fprintf(s.out, "status: http://%s/\nraw: %s\nlpd: %s\nsandbox: http://%s\npreview: %s\ntry: printpay send %s %s\n",
		d.Addrs.Status, d.Addrs.Raw[d.Printer], d.Addrs.LPD, d.SandboxAddr, d.Preview, d.Addrs.Raw[d.Printer], sample)
	if runFromSource() {
		fmt.Fprintf(errw, "printpay demo: running from source; in another terminal: go run ./agent/cmd/printpay send %s %s\n", d.Addrs.Raw[d.Printer], sample)
	}
	fmt.Fprintln(errw, "printpay demo: a receipt with a QR shows in the status page; pay it there or with: curl -X POST http://"+d.SandboxAddr+"/sandbox/pay/OUT_TRADE_NO")
	fmt.Fprintln(errw, "printpay demo: Ctrl-C stops")
	select {
	case <-ctx.Done():
	case <-d.agentDone:
	}
	if err := d.Close(); err != nil {
		fmt.Fprintln(s.err, "printpay demo:", err)
		return 1
	}
	return 0
}

// runFromSource reports whether this binary was built by go run (it then
// lives in a go-build temporary folder).
func runFromSource() bool {
	exe, err := os.Executable()
	return err == nil && strings.Contains(exe, "go-build")
}

// demoOptions configure startDemo.
type demoOptions struct {
	Dir          string       // state, spool, token and the preview folder
	Logger       *slog.Logger // the agent's; nil = discard
	ServerLogger *slog.Logger // the server's and the sandbox's; nil = discard
	// Printer replaces the preview printer (driver "file" into Dir/preview).
	Printer *config.Printer
	// Config adjusts the agent's configuration before it starts.
	Config func(*config.Config)
	// Sandbox adjusts the sandbox's configuration.
	Sandbox func(*sandbox.Config)
	// Merchant is the sandbox merchant to create (zero: generated keys).
	Merchant sandbox.Merchant
	// Server adjusts the server's options.
	Server func(*api.Options)
}

// demo is a running demo: sandbox, server and agent.
type demo struct {
	Dir         string
	Preview     string // the preview printer's folder
	Printer     string // the printer's name
	Addrs       agent.Addrs
	SandboxAddr string
	ServerAddr  string // host:port of printpay-server
	Sandbox     *sandbox.Sandbox
	Store       *store.Store
	Config      config.Config

	opt       demoOptions
	creds     sandbox.Credentials
	agentDone chan struct{}
	agentErr  error

	mu         sync.Mutex
	server     *api.Server
	stopServer func() error // nil while the server is down
	stops      []func()     // sandbox, store: in reverse order
	stopAgent  func()
	closeOnce  sync.Once
	closeErr   error
}

const demoMerchant = "demo"

// startDemo starts everything and returns once the agent is welcomed by
// the server.
func startDemo(ctx context.Context, opt demoOptions) (d *demo, err error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.ServerLogger == nil {
		opt.ServerLogger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, err
	}
	d = &demo{Dir: dir, opt: opt, agentDone: make(chan struct{})}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	// The WeChat Pay sandbox, with its notification retries sped up.
	scfg := sandbox.Config{Mode: sandbox.ModePublicKey, RetrySchedule: sandbox.ScaledRetrySchedule(1000),
		Logger: opt.ServerLogger.With("component", "sandbox")}
	if opt.Sandbox != nil {
		opt.Sandbox(&scfg)
	}
	sb, err := sandbox.New(scfg)
	if err != nil {
		return d, err
	}
	d.Sandbox = sb
	if d.creds, err = sb.AddMerchant(opt.Merchant); err != nil {
		return d, err
	}
	sbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return d, fmt.Errorf("sandbox listener: %w", err)
	}
	d.SandboxAddr = sbLn.Addr().String()
	d.stops = append(d.stops, serveUntil(func(ctx context.Context) error { return sb.Serve(ctx, sbLn) }))

	// printpay-server on SQLite, with the demo merchant.
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "server.db"))
	if err != nil {
		return d, err
	}
	d.Store = st
	d.stops = append(d.stops, func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		return d, err
	}
	srvLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return d, fmt.Errorf("server listener: %w", err)
	}
	d.ServerAddr = srvLn.Addr().String()
	if err := d.startServer(ctx, srvLn); err != nil {
		return d, err
	}

	// Pair the agent with the server, as printpay enroll does.
	code, _, err := st.NewPairingCode(ctx, demoMerchant)
	if err != nil {
		return d, err
	}
	host, _ := os.Hostname()
	er, err := cloud.Enroll(ctx, "http://"+d.ServerAddr, apiv1.EnrollRequest{Code: code, AgentVersion: agent.Version, Hostname: host}, nil)
	if err != nil {
		return d, err
	}
	cfg := config.Default()
	cfg.Intake.Raw, cfg.Intake.LPD, cfg.Status.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Spool.Dir = filepath.Join(dir, "agent", "spool")
	cfg.Server.URL = "ws://" + d.ServerAddr + "/v1/agent"
	cfg.Server.TokenFile = filepath.Join(dir, "agent", "token")
	cfg.Log.File = ""
	if err := os.MkdirAll(filepath.Dir(cfg.Server.TokenFile), 0o700); err != nil {
		return d, err
	}
	if err := cloud.WriteToken(cfg.Server.TokenFile, er.Token); err != nil {
		return d, err
	}
	if opt.Printer != nil {
		cfg.Printers = []config.Printer{*opt.Printer}
	} else {
		p := config.DefaultPrinter()
		p.Name, p.Driver, p.Profile = "preview", "file", "generic-80mm"
		p.Device = filepath.Join(dir, "preview")
		if err := os.MkdirAll(p.Device, 0o755); err != nil {
			return d, err
		}
		cfg.Printers = []config.Printer{p}
		d.Preview = p.Device
	}
	d.Printer = cfg.Printers[0].Name
	if opt.Config != nil {
		opt.Config(&cfg)
	}
	d.Config = cfg

	// The agent; ready once its listeners are bound and the server welcomed it.
	actx, stopAgent := context.WithCancel(context.WithoutCancel(ctx))
	d.stopAgent = stopAgent
	ready, welcomed := make(chan agent.Addrs, 1), make(chan struct{})
	go func() {
		defer close(d.agentDone)
		d.agentErr = agent.RunWith(actx, cfg, opt.Logger, agent.Options{
			Print:    agent.Workers(nil),
			Ready:    func(a agent.Addrs) { ready <- a },
			Welcomed: func() { close(welcomed) },
			// The status page's "play the customer paying" button.
			DemoPay: func(_ context.Context, outTradeNo string) error {
				_, err := sb.Pay(outTradeNo)
				return err
			},
		})
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for ready != nil || welcomed != nil {
		select {
		case a := <-ready:
			d.Addrs, ready = a, nil
		case <-welcomed:
			welcomed = nil
		case <-d.agentDone:
			if d.agentErr == nil {
				d.agentErr = errors.New("the agent stopped")
			}
			return d, d.agentErr
		case <-ctx.Done():
			return d, ctx.Err()
		case <-timeout.C:
			return d, errors.New("the agent was not welcomed by the server within 30s")
		}
	}
	return d, nil
}

// startServer runs printpay-server on ln with the demo merchant, whose
// WeChat client is redirected to the sandbox.
func (d *demo) startServer(ctx context.Context, ln net.Listener) error {
	o := api.Options{Store: d.Store, PublicURL: "http://" + d.ServerAddr, Logger: d.opt.ServerLogger.With("component", "server")}
	if d.opt.Server != nil {
		d.opt.Server(&o)
	}
	srv, err := api.New(o)
	if err != nil {
		ln.Close()
		return err
	}
	m := store.Merchant{ID: demoMerchant, Name: "printpay demo shop"}
	if err := srv.AddWechatMerchant(ctx, m, d.creds.ClientConfig(demoMerchant, "", d.SandboxAddr)); err != nil {
		ln.Close()
		return err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	d.mu.Lock()
	d.server = srv
	d.stopServer = func() error { cancel(); return <-done }
	d.mu.Unlock()
	return nil
}

// StopServer stops printpay-server (the agent loses its link).
func (d *demo) StopServer() error {
	d.mu.Lock()
	stop := d.stopServer
	d.stopServer = nil
	d.mu.Unlock()
	if stop == nil {
		return nil
	}
	return stop()
}

// StartServer starts printpay-server again on its address.
func (d *demo) StartServer(ctx context.Context) error {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger a moment
		if ln, err = net.Listen("tcp", d.ServerAddr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	return d.startServer(ctx, ln)
}

// Close stops the agent, the server and the sandbox, in that order.
func (d *demo) Close() error {
	d.closeOnce.Do(func() {
		if d.stopAgent != nil {
			d.stopAgent()
			<-d.agentDone
			if d.agentErr != nil && !errors.Is(d.agentErr, context.Canceled) {
				d.closeErr = d.agentErr
			}
		}
		if err := d.StopServer(); err != nil && d.closeErr == nil {
			d.closeErr = err
		}
		for i := len(d.stops) - 1; i >= 0; i-- {
			d.stops[i]()
		}
	})
	return d.closeErr
}

// sample is the path of the receipt to try: relative to the working
// folder when the repository is here or above it, else a copy written
// into the demo's folder.
func (d *demo) sample() (string, error) {
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(demoSample))); err == nil {
				rel, err := filepath.Rel(wd, filepath.Join(dir, filepath.FromSlash(demoSample)))
				if err == nil {
					return filepath.ToSlash(rel), nil
				}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	b, err := receiptgen.Encode([]byte(demoSampleSource))
	if err != nil {
		return "", err
	}
	p := filepath.Join(d.Dir, "sample-prebill.bin")
	return p, os.WriteFile(p, b, 0o644)
}

// serveUntil runs serve on its own goroutine; the returned func stops it
// and waits.
func serveUntil(serve func(context.Context) error) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(ctx)
	}()
	return func() { cancel(); <-done }
}

// lockedWriter serialises writes of several loggers to one stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
