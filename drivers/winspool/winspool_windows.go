package winspool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/link"
)

var (
	winspool          = windows.NewLazySystemDLL("winspool.drv")
	procOpenPrinter   = winspool.NewProc("OpenPrinterW")
	procClosePrinter  = winspool.NewProc("ClosePrinter")
	procStartDoc      = winspool.NewProc("StartDocPrinterW")
	procEndDoc        = winspool.NewProc("EndDocPrinter")
	procStartPage     = winspool.NewProc("StartPagePrinter")
	procEndPage       = winspool.NewProc("EndPagePrinter")
	procWritePrinter  = winspool.NewProc("WritePrinter")
	procGetPrinter    = winspool.NewProc("GetPrinterW")
	procEnumPrinters  = winspool.NewProc("EnumPrintersW")
	procEnumJobs      = winspool.NewProc("EnumJobsW")
	errNoSuchPrinter  = syscall.Errno(1801) // ERROR_INVALID_PRINTER_NAME
	errPrinterDeleted = syscall.Errno(1905) // ERROR_PRINTER_DELETED
)

type docInfo1 struct {
	docName    *uint16
	outputFile *uint16
	datatype   *uint16
}

// Open opens the queue cfg.Device, refusing one that prints back into the
// agent.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	cfg = cfg.WithDefaults()
	if cfg.Device == "" {
		return nil, fmt.Errorf("winspool: no queue configured: %w", drivers.ErrNotFound)
	}
	h, err := openPrinter(cfg.Device)
	if err != nil {
		return nil, err
	}
	p := &printer{cfg: cfg, h: h}
	info, err := p.info()
	if err != nil {
		closePrinter(h)
		return nil, err
	}
	host, port := tcpPortTarget(info.Port)
	if loopsBack(info.Port, host, port, withLocalIPs(cfg.AgentAddrs)) {
		closePrinter(h)
		return nil, fmt.Errorf("winspool: queue %q prints to port %q, which is this agent: refusing a loop: %w",
			cfg.Device, info.Port, drivers.ErrUnsupported)
	}
	p.w = &link.Writer{W: rawWriter{p}, ChunkSize: cfg.ChunkSize, Delay: cfg.ChunkDelay, Rate: cfg.Throttle, Timeout: cfg.WriteTimeout}
	cfg.Cache.Set(statusOf(info, nil))
	return p, nil
}

type printer struct {
	cfg drivers.Config
	w   *link.Writer

	mu     sync.Mutex
	h      windows.Handle
	docID  uint32 // current RAW document, 0 = none
	inJob  bool
	closed bool
}

var _ drivers.JobPrinter = (*printer)(nil)

func openPrinter(name string) (windows.Handle, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, fmt.Errorf("winspool: queue name %q: %w", name, drivers.ErrNotFound)
	}
	var h windows.Handle
	r, _, e := procOpenPrinter.Call(uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&h)), 0)
	if r == 0 {
		return 0, mapError("winspool: open queue "+name, e)
	}
	return h, nil
}

func closePrinter(h windows.Handle) { procClosePrinter.Call(uintptr(h)) }

func (p *printer) startDoc(name string) error {
	dn, _ := windows.UTF16PtrFromString(name)
	dt, _ := windows.UTF16PtrFromString("RAW")
	di := docInfo1{docName: dn, datatype: dt}
	r, _, e := procStartDoc.Call(uintptr(p.h), 1, uintptr(unsafe.Pointer(&di)))
	if r == 0 {
		return mapError("winspool: start document", e)
	}
	p.docID = uint32(r)
	if r, _, e := procStartPage.Call(uintptr(p.h)); r == 0 {
		procEndDoc.Call(uintptr(p.h))
		p.docID = 0
		return mapError("winspool: start page", e)
	}
	return nil
}

func (p *printer) endDoc() error {
	if p.docID == 0 {
		return nil
	}
	p.docID = 0
	procEndPage.Call(uintptr(p.h))
	if r, _, e := procEndDoc.Call(uintptr(p.h)); r == 0 {
		return mapError("winspool: end document", e)
	}
	return nil
}

func (p *printer) BeginJob(id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("winspool: queue closed: %w", drivers.ErrOffline)
	}
	if err := p.endDoc(); err != nil {
		return err
	}
	if err := p.startDoc("printpay " + id); err != nil {
		return err
	}
	p.inJob = true
	return nil
}

func (p *printer) EndJob() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inJob = false
	return p.endDoc()
}

type rawWriter struct{ p *printer }

func (w rawWriter) Write(b []byte) (int, error) {
	p := w.p
	var written uint32
	r, _, e := procWritePrinter.Call(uintptr(p.h), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&written)))
	if r == 0 {
		return int(written), mapError("winspool: write", e)
	}
	return int(written), nil
}

func (p *printer) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, fmt.Errorf("winspool: queue closed: %w", drivers.ErrOffline)
	}
	implicit := false
	if p.docID == 0 {
		if err := p.startDoc("printpay"); err != nil {
			return 0, err
		}
		implicit = !p.inJob
	}
	n, err := p.w.Write(b)
	if implicit {
		if e := p.endDoc(); err == nil {
			err = e
		}
	}
	return n, err
}

func (p *printer) info() (PrinterInfo, error) {
	var needed uint32
	procGetPrinter.Call(uintptr(p.h), 2, 0, 0, uintptr(unsafe.Pointer(&needed)))
	if needed == 0 {
		return PrinterInfo{}, fmt.Errorf("winspool: get queue info: %w", drivers.ErrOffline)
	}
	buf := make([]byte, needed)
	r, _, e := procGetPrinter.Call(uintptr(p.h), 2, uintptr(unsafe.Pointer(&buf[0])), uintptr(needed), uintptr(unsafe.Pointer(&needed)))
	if r == 0 {
		return PrinterInfo{}, mapError("winspool: get queue info", e)
	}
	ps, err := parsePrinterInfo2(buf, uint64(uintptr(unsafe.Pointer(&buf[0]))), 1)
	if err != nil || len(ps) == 0 {
		return PrinterInfo{}, fmt.Errorf("winspool: get queue info: %w", errBuffer)
	}
	return ps[0], nil
}

func (p *printer) jobs() ([]JobInfo, error) {
	var needed, returned uint32
	procEnumJobs.Call(uintptr(p.h), 0, 64, 1, 0, 0, uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&returned)))
	if needed == 0 {
		return nil, nil
	}
	buf := make([]byte, needed)
	r, _, e := procEnumJobs.Call(uintptr(p.h), 0, 64, 1, uintptr(unsafe.Pointer(&buf[0])), uintptr(needed),
		uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&returned)))
	if r == 0 {
		return nil, mapError("winspool: list jobs", e)
	}
	return parseJobInfo1(buf, uint64(uintptr(unsafe.Pointer(&buf[0]))), int(returned))
}

// Status reports the queue's state and that of its unfinished jobs.
func (p *printer) Status(ctx context.Context) (drivers.Status, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Status{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return drivers.Status{State: drivers.StateOffline, Detail: "winspool: queue closed"}, nil
	}
	info, err := p.info()
	if err != nil {
		return drivers.Status{}, err
	}
	jobs, _ := p.jobs()
	p.cfg.Cache.Set(statusOf(info, jobs))
	return p.cfg.Cache.Get(), nil
}

func (p *printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.endDoc()
	closePrinter(p.h)
	return err
}

// List returns the local and connected queues.
func List() ([]drivers.Found, error) {
	flags := uintptr(printerEnumLocal | printerEnumConn)
	var needed, returned uint32
	procEnumPrinters.Call(flags, 0, 2, 0, 0, uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&returned)))
	if needed == 0 {
		return nil, nil
	}
	buf := make([]byte, needed)
	r, _, e := procEnumPrinters.Call(flags, 0, 2, uintptr(unsafe.Pointer(&buf[0])), uintptr(needed),
		uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&returned)))
	if r == 0 {
		return nil, mapError("winspool: list queues", e)
	}
	ps, err := parsePrinterInfo2(buf, uint64(uintptr(unsafe.Pointer(&buf[0]))), int(returned))
	if err != nil {
		return nil, err
	}
	return found(ps), nil
}

// tcpPortTarget reads the host and port of a Standard TCP/IP port from
// the registry ("", 0 when the port is not one).
func tcpPortTarget(port string) (string, int) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE,
		`SYSTEM\CurrentControlSet\Control\Print\Monitors\Standard TCP/IP Port\Ports\`+port, registry.QUERY_VALUE)
	if err != nil {
		return "", 0
	}
	defer k.Close()
	host, _, _ := k.GetStringValue("HostName")
	if host == "" {
		host, _, _ = k.GetStringValue("IPAddress")
	}
	n, _, _ := k.GetIntegerValue("PortNumber")
	return host, int(n)
}

// withLocalIPs adds, for every agent port, this machine's own addresses,
// so a queue pointing at the LAN address of an agent listening on all
// interfaces is caught too.
func withLocalIPs(agent []string) []string {
	out := append([]string{}, agent...)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range agent {
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok {
				out = append(out, net.JoinHostPort(ipn.IP.String(), port))
			}
		}
	}
	if len(agent) == 0 {
		for _, ad := range addrs {
			if ipn, ok := ad.(*net.IPNet); ok {
				out = append(out, net.JoinHostPort(ipn.IP.String(), strconv.Itoa(9100)))
			}
		}
	}
	return out
}

func mapError(what string, e error) error {
	var errno syscall.Errno
	if errors.As(e, &errno) {
		switch errno {
		case errNoSuchPrinter, errPrinterDeleted, windows.ERROR_FILE_NOT_FOUND:
			return fmt.Errorf("%s: %w: %w", what, drivers.ErrNotFound, e)
		case windows.ERROR_ACCESS_DENIED:
			return fmt.Errorf("%s: %w: %w", what, drivers.ErrBusy, e)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, drivers.ErrOffline, e)
}
