package serial

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.bug.st/serial"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/link"
)

// Open opens the serial printer at cfg.Device.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	cfg = cfg.WithDefaults()
	if cfg.Device == "" {
		return nil, fmt.Errorf("serial: no device configured: %w", drivers.ErrNotFound)
	}
	mode, err := modeOf(cfg)
	if err != nil {
		return nil, err
	}
	switch cfg.Flow {
	case "", "none", "rtscts", "xonxoff":
	default:
		return nil, fmt.Errorf("serial: flow %q: want none, rtscts or xonxoff: %w", cfg.Flow, drivers.ErrUnsupported)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &printer{cfg: cfg, mode: mode, cache: cfg.Cache, ctx: ctx, cancel: cancel}
	p.IsOpen = func() bool { return p.current() != nil }
	p.Connect = p.connect
	p.PollInterval = cfg.PollInterval
	p.W = &link.Writer{
		W:         portWriter{p},
		ChunkSize: cfg.ChunkSize,
		Delay:     cfg.ChunkDelay,
		Rate:      cfg.Throttle,
		Timeout:   cfg.WriteTimeout,
		OnTimeout: p.flush,
		Errorf:    func(err error) error { return mapError("serial: write "+cfg.Device, err) },
	}
	if err := p.connect(); err != nil {
		cancel()
		return nil, err
	}
	p.StartPolls(ctx, cfg.StatusPoll, &p.wg, p.cache)
	return p, nil
}

func modeOf(cfg drivers.Config) (*serial.Mode, error) {
	m := &serial.Mode{BaudRate: cfg.Baud, DataBits: cfg.DataBits}
	switch cfg.Parity {
	case "", "none":
		m.Parity = serial.NoParity
	case "odd":
		m.Parity = serial.OddParity
	case "even":
		m.Parity = serial.EvenParity
	case "mark":
		m.Parity = serial.MarkParity
	case "space":
		m.Parity = serial.SpaceParity
	default:
		return nil, fmt.Errorf("serial: parity %q: want none, odd, even, mark or space: %w", cfg.Parity, drivers.ErrUnsupported)
	}
	switch cfg.StopBits {
	case 1:
		m.StopBits = serial.OneStopBit
	case 2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("serial: stop bits %d: want 1 or 2: %w", cfg.StopBits, drivers.ErrUnsupported)
	}
	if cfg.DataBits < 5 || cfg.DataBits > 8 {
		return nil, fmt.Errorf("serial: data bits %d: want 5..8: %w", cfg.DataBits, drivers.ErrUnsupported)
	}
	if cfg.Baud <= 0 {
		return nil, fmt.Errorf("serial: baud %d: %w", cfg.Baud, drivers.ErrUnsupported)
	}
	// InitialStatusBits stays nil: setting it needs TIOCMGET, which ptys
	// and some adapters refuse (ENOTTY), and then Open fails.
	return m, nil
}

type printer struct {
	cfg          drivers.Config
	mode         *serial.Mode
	cache        *drivers.StatusCache
	link.Session // the bounded writer, job boundaries and poll timing
	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup

	mu     sync.Mutex
	port   serial.Port // nil while disconnected
	closed bool
}

var _ drivers.JobPrinter = (*printer)(nil)

// connect opens the port and starts its back-channel reader.
func (p *printer) connect() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("serial: %s: printer closed: %w", p.cfg.Device, drivers.ErrOffline)
	}
	if p.port != nil {
		return nil
	}
	port, err := openPort(p.cfg.Device, p.mode, p.cfg.Flow)
	if err != nil {
		err = mapError("serial: open "+p.cfg.Device, err)
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
		return err
	}
	p.port = port
	if st := p.cache.Get(); st.State == drivers.StateOffline {
		p.cache.Set(drivers.Status{State: drivers.StateUnknown, Detail: "port open, no reply yet"})
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := link.ReadBack(port, p.cache)
		p.drop(port, mapError("serial: read "+p.cfg.Device, err))
	}()
	return nil
}

// drop forgets port after an error (if it is still the current one).
func (p *printer) drop(port serial.Port, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.port != port {
		return
	}
	p.port = nil
	if !p.closed {
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
	}
	p.mu.Unlock()
	// Close outside the lock: it waits for the reader, which may be
	// about to call drop itself.
	port.Close()
	p.mu.Lock()
}

func (p *printer) current() serial.Port {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.port
}

func (p *printer) flush() {
	if port := p.current(); port != nil {
		port.ResetOutputBuffer()
	}
}

// portWriter writes to whatever port is current, so link.Writer survives
// reconnects.
type portWriter struct{ p *printer }

func (w portWriter) Write(b []byte) (int, error) {
	port := w.p.current()
	if port == nil {
		return 0, fmt.Errorf("port not open: %w", drivers.ErrOffline)
	}
	n, err := port.Write(b)
	if err != nil {
		w.p.drop(port, mapError("serial: write "+w.p.cfg.Device, err))
	}
	return n, err
}

// Status reports the cache, refined by the modem lines where the port has
// them: with RTS/CTS flow control, CTS low means the printer is off or
// busy.
func (p *printer) Status(ctx context.Context) (drivers.Status, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Status{}, err
	}
	port := p.current()
	s := p.cache.Get()
	if port == nil || p.cfg.Flow != "rtscts" {
		return s, nil
	}
	bits, err := port.GetModemStatusBits()
	if err != nil {
		return s, nil // ENOTTY on ptys and some adapters: not supported, not an error
	}
	if !bits.CTS && (s.State == drivers.StateOnline || s.State == drivers.StateUnknown) {
		s.State, s.Detail = drivers.StateOffline, "serial: CTS is low (printer off or busy)"
	}
	return s, nil
}

func (p *printer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	port := p.port
	p.port = nil
	p.mu.Unlock()
	p.cancel()
	var err error
	if port != nil {
		err = port.Close()
	}
	p.wg.Wait()
	if err != nil {
		return mapError("serial: close "+p.cfg.Device, err)
	}
	return nil
}

// mapError translates go.bug.st/serial's PortError codes, then OS errors,
// into the drivers sentinels.
func mapError(what string, err error) error {
	if err == nil {
		return nil
	}
	var pe *serial.PortError
	if errors.As(err, &pe) {
		var s error
		switch pe.Code() {
		case serial.PortBusy, serial.PermissionDenied:
			s = drivers.ErrBusy
		case serial.PortNotFound, serial.InvalidSerialPort, serial.ErrorEnumeratingPorts:
			s = drivers.ErrNotFound
		case serial.InvalidSpeed, serial.InvalidDataBits, serial.InvalidParity, serial.InvalidStopBits,
			serial.InvalidTimeoutValue, serial.FunctionNotImplemented:
			s = drivers.ErrUnsupported
		default: // PortClosed and anything new
			s = drivers.ErrOffline
		}
		return fmt.Errorf("%s: %w: %w", what, s, err)
	}
	return link.MapOSError(what, err)
}
