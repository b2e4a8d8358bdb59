package tcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/link"
)

// Open connects to the printer at cfg.Device ("host:port"; port 9100 when
// omitted).
func Open(cfg drivers.Config) (drivers.Printer, error) {
	cfg = cfg.WithDefaults()
	addr, err := address(cfg.Device)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &printer{cfg: cfg, addr: addr, cache: cfg.Cache, ctx: ctx, cancel: cancel}
	p.IsOpen = func() bool { return p.current() != nil }
	p.Connect = p.connect
	p.PollInterval = cfg.PollInterval
	p.W = &link.Writer{
		W:         connWriter{p},
		ChunkSize: cfg.ChunkSize,
		Delay:     cfg.ChunkDelay,
		Rate:      cfg.Throttle,
		Timeout:   cfg.WriteTimeout,
		OnTimeout: func() { p.dropCurrent(fmt.Errorf("tcp: write to %s timed out: %w", addr, drivers.ErrOffline)) },
		Errorf:    func(err error) error { return mapError("tcp: write "+addr, err) },
	}
	if err := p.connect(); err != nil {
		cancel()
		return nil, err
	}
	p.StartPolls(ctx, cfg.StatusPoll, &p.wg, p.cache)
	return p, nil
}

func address(dev string) (string, error) {
	if dev == "" {
		return "", fmt.Errorf("tcp: no address configured: %w", drivers.ErrNotFound)
	}
	if _, _, err := net.SplitHostPort(dev); err != nil {
		dev = net.JoinHostPort(dev, "9100")
		if _, _, err := net.SplitHostPort(dev); err != nil {
			return "", fmt.Errorf("tcp: bad address %q: %w", dev, drivers.ErrNotFound)
		}
	}
	return dev, nil
}

type printer struct {
	cfg          drivers.Config
	addr         string
	cache        *drivers.StatusCache
	link.Session // the bounded writer, job boundaries and poll timing
	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup

	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

var _ drivers.JobPrinter = (*printer)(nil)

func (p *printer) connect() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("tcp: %s: printer closed: %w", p.addr, drivers.ErrOffline)
	}
	if p.conn != nil {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		err = mapError("tcp: dial "+p.addr, err)
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
		return err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
		tc.SetKeepAlivePeriod(15 * time.Second)
		tc.SetNoDelay(true)
	}
	p.mu.Lock()
	if p.closed || p.conn != nil {
		p.mu.Unlock()
		conn.Close()
		return nil
	}
	p.conn = conn
	p.mu.Unlock()
	if st := p.cache.Get(); st.State == drivers.StateOffline {
		p.cache.Set(drivers.Status{State: drivers.StateUnknown, Detail: "connected, no reply yet"})
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := link.ReadBack(conn, p.cache)
		p.drop(conn, mapError("tcp: read "+p.addr, err))
	}()
	return nil
}

func (p *printer) drop(conn net.Conn, err error) {
	p.mu.Lock()
	if p.conn != conn {
		p.mu.Unlock()
		return
	}
	p.conn = nil
	closed := p.closed
	p.mu.Unlock()
	conn.Close()
	if !closed {
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
	}
}

func (p *printer) dropCurrent(err error) {
	if c := p.current(); c != nil {
		p.drop(c, err)
	}
}

func (p *printer) current() net.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn
}

type connWriter struct{ p *printer }

func (w connWriter) Write(b []byte) (int, error) {
	c := w.p.current()
	if c == nil {
		return 0, fmt.Errorf("not connected: %w", drivers.ErrOffline)
	}
	c.SetWriteDeadline(time.Now().Add(w.p.cfg.WriteTimeout))
	n, err := c.Write(b)
	if err != nil {
		w.p.drop(c, mapError("tcp: write "+w.p.addr, err))
	}
	return n, err
}

func (p *printer) Status(ctx context.Context) (drivers.Status, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Status{}, err
	}
	return p.cache.Get(), nil
}

func (p *printer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	conn := p.conn
	p.conn = nil
	p.mu.Unlock()
	p.cancel()
	if conn != nil {
		conn.Close()
	}
	p.wg.Wait()
	return nil
}

// mapError translates network errors into the drivers sentinels.
func mapError(what string, err error) error {
	if err == nil {
		return nil
	}
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return fmt.Errorf("%s: %w: %w", what, drivers.ErrNotFound, err)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("%s: %w: %w", what, drivers.ErrOffline, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: timed out: %w: %w", what, drivers.ErrOffline, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: timed out: %w: %w", what, drivers.ErrOffline, err)
	}
	return link.MapOSError(what, err)
}
