package usblp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/link"
)

// Open opens the usblp device node cfg.Device (default /dev/usb/lp0).
func Open(cfg drivers.Config) (drivers.Printer, error) {
	cfg = cfg.WithDefaults()
	if cfg.Device == "" {
		cfg.Device = "/dev/usb/lp0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &printer{cfg: cfg, cache: cfg.Cache, ctx: ctx, cancel: cancel}
	p.IsOpen = func() bool { return p.current() != nil }
	p.Connect = p.connect
	p.PollInterval = cfg.PollInterval
	p.W = &link.Writer{
		W:         fileWriter{p},
		ChunkSize: cfg.ChunkSize,
		Delay:     cfg.ChunkDelay,
		Rate:      cfg.Throttle,
		Timeout:   cfg.WriteTimeout + time.Second, // backstop; fileWriter sets a deadline
	}
	if err := p.connect(); err != nil {
		cancel()
		return nil, err
	}
	p.StartPolls(ctx, cfg.StatusPoll, &p.wg, p.cache)
	return p, nil
}

type printer struct {
	cfg          drivers.Config
	cache        *drivers.StatusCache
	link.Session // the bounded writer, job boundaries and poll timing
	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup

	mu     sync.Mutex
	f      *os.File
	closed bool
}

var (
	_ drivers.JobPrinter = (*printer)(nil)
	_ drivers.Identifier = (*printer)(nil)
)

func (p *printer) connect() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("usblp: %s: printer closed: %w", p.cfg.Device, drivers.ErrOffline)
	}
	if p.f != nil {
		return nil
	}
	// Non-blocking, so the runtime poller gives reads and writes deadlines
	// and Close ends a pending read.
	f, err := os.OpenFile(p.cfg.Device, os.O_RDWR|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		err = link.MapOSError("usblp: open "+p.cfg.Device, err)
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
		return err
	}
	p.f = f
	if st := p.cache.Get(); st.State == drivers.StateOffline || st.State == drivers.StateUnknown {
		p.cache.Set(drivers.Status{State: drivers.StateOnline, Detail: "usblp: " + p.cfg.Device + " open"})
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := link.ReadBack(f, p.cache)
		if p.ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
			return
		}
		// A unidirectional printer: usblp refuses reads with EINVAL.
		if errors.Is(err, unix.EINVAL) {
			return
		}
		p.drop(f, link.MapOSError("usblp: read "+p.cfg.Device, err))
	}()
	return nil
}

func (p *printer) drop(f *os.File, err error) {
	p.mu.Lock()
	if p.f != f {
		p.mu.Unlock()
		return
	}
	p.f = nil
	closed := p.closed
	p.mu.Unlock()
	f.Close()
	if !closed {
		p.cache.Set(drivers.Status{State: drivers.StateOffline, Detail: err.Error()})
	}
}

func (p *printer) current() *os.File {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.f
}

type fileWriter struct{ p *printer }

func (w fileWriter) Write(b []byte) (int, error) {
	f := w.p.current()
	if f == nil {
		return 0, fmt.Errorf("usblp: %s: not open: %w", w.p.cfg.Device, drivers.ErrOffline)
	}
	f.SetWriteDeadline(time.Now().Add(w.p.cfg.WriteTimeout))
	n, err := f.Write(b)
	if err == nil {
		return n, nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return n, fmt.Errorf("usblp: write %s: not accepted within %v: %w", w.p.cfg.Device, w.p.cfg.WriteTimeout, drivers.ErrOffline)
	}
	err = link.MapOSError("usblp: write "+w.p.cfg.Device, err)
	w.p.drop(f, err)
	return n, err
}

// DeviceID reads the 1284 device ID with LPIOC_GET_DEVICE_ID.
func (p *printer) DeviceID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f := p.current()
	if f == nil {
		return "", fmt.Errorf("usblp: %s: not open: %w", p.cfg.Device, drivers.ErrOffline)
	}
	return deviceID(f, p.cfg.Device)
}

func deviceID(f *os.File, name string) (string, error) {
	buf := make([]byte, idBufLen)
	var errno unix.Errno
	rc, err := f.SyscallConn()
	if err != nil {
		return "", link.MapOSError("usblp: device id "+name, err)
	}
	rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, uintptr(iocGetDeviceID(len(buf))), uintptr(unsafe.Pointer(&buf[0])))
	})
	if errno != 0 {
		return "", link.MapOSError("usblp: device id "+name, errno)
	}
	return drivers.DeviceIDFromWire(buf), nil
}

// Status asks LPGETSTATUS when the device is open and reports the cache
// otherwise (or when the ioctl is not answered).
func (p *printer) Status(ctx context.Context) (drivers.Status, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Status{}, err
	}
	f := p.current()
	if f == nil {
		return p.cache.Get(), nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return p.cache.Get(), nil
	}
	var st int32
	var errno unix.Errno
	rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, lpGetStatus, uintptr(unsafe.Pointer(&st)))
	})
	if errno != 0 {
		return p.cache.Get(), nil
	}
	ps := drivers.PortStatus(byte(st))
	if cur := p.cache.Get(); ps.State != drivers.StateOnline && ps.State != cur.State {
		p.cache.Set(ps)
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
	f := p.f
	p.f = nil
	p.mu.Unlock()
	p.cancel()
	var err error
	if f != nil {
		err = f.Close()
	}
	p.wg.Wait()
	if err != nil {
		return link.MapOSError("usblp: close "+p.cfg.Device, err)
	}
	return nil
}

// devGlob and sysClass are where usblp nodes and their sysfs entries
// live; tests point them elsewhere.
var (
	devGlob  = "/dev/usb/lp*"
	sysClass = "/sys/class/usbmisc"
)

// List returns the usblp device nodes with their 1284 IDs and USB ids when
// they can be read (a node another program holds open answers EBUSY).
func List() ([]drivers.Found, error) {
	paths, _ := filepath.Glob(devGlob)
	var out []drivers.Found
	for _, path := range paths {
		fd := drivers.Found{Driver: "usblp", Device: path, Description: "usblp device"}
		if f, err := os.OpenFile(path, os.O_RDWR|unix.O_NONBLOCK, 0); err == nil {
			fd.DeviceID, _ = deviceID(f, path)
			f.Close()
		} else {
			fd.Description = "usblp device (" + err.Error() + ")"
		}
		fd.VID, fd.PID = usbIDs(filepath.Base(path))
		out = append(out, fd)
	}
	return out, nil
}

// usbIDs reads idVendor/idProduct of the USB device behind lpN: sysfs
// links /sys/class/usbmisc/lpN/device to the interface, whose parent is
// the device.
func usbIDs(node string) (vid, pid uint16) {
	iface, err := filepath.EvalSymlinks(filepath.Join(sysClass, node, "device"))
	if err != nil {
		return 0, 0
	}
	dev := filepath.Dir(iface)
	read := func(name string) uint16 {
		b, err := os.ReadFile(filepath.Join(dev, name))
		if err != nil {
			return 0
		}
		v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 16, 16)
		return uint16(v)
	}
	return read("idVendor"), read("idProduct")
}
