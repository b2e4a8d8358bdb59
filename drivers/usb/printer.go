package usb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/link"
)

// device is one opened and claimed printer interface. The gousb backend
// implements it; tests use a fake.
type device interface {
	// Write sends p on bulk OUT, giving up when ctx is done.
	Write(ctx context.Context, p []byte) (int, error)
	// Read receives from bulk IN; errNoIn when the interface has none.
	Read(ctx context.Context, p []byte) (int, error)
	// Control performs a control request on the claimed interface.
	Control(rType, request uint8, val, idx uint16, data []byte) (int, error)
	// Index is wIndex for class requests: interface number << 8 | alternate.
	Index() uint16
	Close() error
}

var errNoIn = errors.New("usb: interface has no bulk IN endpoint")

// opener finds and claims the configured device; it returns an error
// wrapping drivers.ErrNotFound when nothing matches.
type opener func() (device, error)

type printer struct {
	cfg          drivers.Config
	name         string
	open         opener
	mapErr       func(what string, err error) error
	cache        *drivers.StatusCache
	link.Session // the bounded writer, job boundaries and poll timing
	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup

	mu     sync.Mutex
	dev    device
	closed bool
}

var (
	_ drivers.JobPrinter = (*printer)(nil)
	_ drivers.Identifier = (*printer)(nil)
)

func newPrinter(cfg drivers.Config, name string, open opener, mapErr func(string, error) error) (*printer, error) {
	cfg = cfg.WithDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	p := &printer{cfg: cfg, name: name, open: open, mapErr: mapErr, cache: cfg.Cache, ctx: ctx, cancel: cancel}
	p.IsOpen = func() bool { return p.current() != nil }
	p.Connect = p.connect
	p.PollInterval = cfg.PollInterval
	p.W = &link.Writer{
		W:         bulkWriter{p},
		ChunkSize: cfg.ChunkSize,
		Delay:     cfg.ChunkDelay,
		Rate:      cfg.Throttle,
		// bulkWriter bounds each transfer by WriteTimeout; this is the
		// backstop should the transfer not return when cancelled.
		Timeout: cfg.WriteTimeout + 2*time.Second,
	}
	if err := p.connect(); err != nil {
		cancel()
		return nil, err
	}
	p.StartPolls(ctx, cfg.StatusPoll, &p.wg, p.cache)
	return p, nil
}

func (p *printer) connect() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("usb: %s: printer closed: %w", p.name, drivers.ErrOffline)
	}
	if p.dev != nil {
		return nil
	}
	dev, err := p.open()
	if err != nil {
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
		return err
	}
	p.dev = dev
	if st := p.cache.Get(); st.State == drivers.StateOffline || st.State == drivers.StateUnknown {
		p.cache.Set(drivers.Status{State: drivers.StateOnline, Detail: "usb: " + p.name + " claimed"})
	}
	p.wg.Add(1)
	go p.readBack(dev)
	return nil
}

// readBack feeds bulk IN into the cache until the device goes away.
func (p *printer) readBack(dev device) {
	defer p.wg.Done()
	buf := make([]byte, 4096) // a multiple of every bulk max packet size
	for {
		n, err := dev.Read(p.ctx, buf)
		if n > 0 {
			p.cache.Feed(buf[:n])
		}
		if err == nil {
			continue
		}
		if p.ctx.Err() != nil || errors.Is(err, errNoIn) {
			return
		}
		p.drop(dev, p.mapErr("usb: read "+p.name, err))
		return
	}
}

func (p *printer) drop(dev device, err error) {
	p.mu.Lock()
	if p.dev != dev {
		p.mu.Unlock()
		return
	}
	p.dev = nil
	closed := p.closed
	p.mu.Unlock()
	dev.Close()
	if !closed {
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
	}
}

func (p *printer) current() device {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dev
}

type bulkWriter struct{ p *printer }

func (w bulkWriter) Write(b []byte) (int, error) {
	dev := w.p.current()
	if dev == nil {
		return 0, fmt.Errorf("usb: %s: not open: %w", w.p.name, drivers.ErrOffline)
	}
	ctx, cancel := context.WithTimeout(w.p.ctx, w.p.cfg.WriteTimeout)
	defer cancel()
	n, err := dev.Write(ctx, b)
	if err == nil {
		return n, nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		// A stalled bulk OUT: the printer is not taking data. Keep the
		// device; the next write tries again.
		return n, fmt.Errorf("usb: write %s: not accepted within %v: %w", w.p.name, w.p.cfg.WriteTimeout, drivers.ErrOffline)
	}
	err = w.p.mapErr("usb: write "+w.p.name, err)
	w.p.drop(dev, err)
	return n, err
}

// DeviceID reads the IEEE 1284 device ID (GET_DEVICE_ID).
func (p *printer) DeviceID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dev := p.current()
	if dev == nil {
		if err := p.connect(); err != nil {
			return "", err
		}
		dev = p.current()
	}
	return readDeviceID(dev, p.mapErr, p.name)
}

func readDeviceID(dev device, mapErr func(string, error) error, name string) (string, error) {
	buf := make([]byte, 1024)
	n, err := dev.Control(rtClassIn, reqGetDeviceID, 0, dev.Index(), buf)
	if err != nil {
		return "", mapErr("usb: get device id "+name, err)
	}
	return drivers.DeviceIDFromWire(buf[:max(n, 0)]), nil
}

// Status asks the printer's port status when the device is open, and
// otherwise reports the cache.
func (p *printer) Status(ctx context.Context) (drivers.Status, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Status{}, err
	}
	dev := p.current()
	if dev == nil {
		return p.cache.Get(), nil
	}
	var b [1]byte
	n, err := dev.Control(rtClassIn, reqGetPortStatus, 0, dev.Index(), b[:])
	if err != nil || n != 1 {
		return p.cache.Get(), nil // not every printer answers; the cache still counts
	}
	ps := drivers.PortStatus(b[0])
	cur := p.cache.Get()
	if ps.State != drivers.StateOnline && ps.State != cur.State {
		p.cache.Set(ps)
		return p.cache.Get(), nil
	}
	return cur, nil
}

func (p *printer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	dev := p.dev
	p.dev = nil
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	if dev != nil {
		if err := dev.Close(); err != nil {
			return p.mapErr("usb: close "+p.name, err)
		}
	}
	return nil
}
