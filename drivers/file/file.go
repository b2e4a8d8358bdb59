package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/link"
)

// Open returns a preview printer writing into the folder cfg.Device,
// creating it when needed.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	cfg = cfg.WithDefaults()
	if cfg.Device == "" {
		return nil, fmt.Errorf("file: no folder configured: %w", drivers.ErrNotFound)
	}
	dir, err := filepath.Abs(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, link.MapOSError("file: create folder", err)
	}
	p := &printer{cfg: cfg, dir: dir}
	cfg.Cache.Set(drivers.Status{State: drivers.StateOnline, Detail: "preview folder " + dir})
	return p, nil
}

type printer struct {
	cfg drivers.Config
	dir string

	mu     sync.Mutex
	id     string   // current job id, "" between jobs
	f      *os.File // the .part file of the current job
	closed bool
}

var _ drivers.JobPrinter = (*printer)(nil)

// validID keeps job ids to one path element of safe characters.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

func (p *printer) part(id string) string { return filepath.Join(p.dir, "."+id+".bin.part") }

func (p *printer) BeginJob(id string) error {
	if !validID(id) {
		return fmt.Errorf("file: job id %q: want letters, digits, '-', '_' or '.'", id)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("file: printer closed: %w", drivers.ErrOffline)
	}
	if p.f != nil {
		if err := p.endLocked(); err != nil {
			return err
		}
	}
	return p.beginLocked(id)
}

func (p *printer) beginLocked(id string) error {
	f, err := os.OpenFile(p.part(id), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return link.MapOSError("file: begin job "+id, err)
	}
	p.id, p.f = id, f
	return nil
}

func (p *printer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, fmt.Errorf("file: printer closed: %w", drivers.ErrOffline)
	}
	if p.f == nil {
		if err := p.beginLocked("unnamed-" + strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
			return 0, err
		}
	}
	n, err := p.f.Write(b)
	if err != nil {
		return n, link.MapOSError("file: write job "+p.id, err)
	}
	return n, nil
}

func (p *printer) EndJob() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return fmt.Errorf("file: EndJob without BeginJob")
	}
	return p.endLocked()
}

// endLocked finishes the current job: .part → .bin, then the PNG.
func (p *printer) endLocked() error {
	id, f := p.id, p.f
	p.id, p.f = "", nil
	if err := f.Close(); err != nil {
		return link.MapOSError("file: finish job "+id, err)
	}
	bin := filepath.Join(p.dir, id+".bin")
	if err := os.Rename(p.part(id), bin); err != nil {
		return link.MapOSError("file: finish job "+id, err)
	}
	if p.cfg.Render == nil {
		return nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return link.MapOSError("file: read job "+id, err)
	}
	if err := p.render(id, data); err != nil {
		p.cfg.Logger.Warn("preview not rendered", "job", id, "err", err)
		p.cfg.Cache.Set(drivers.Status{State: drivers.StateOnline, Detail: err.Error()})
	}
	return nil
}

func (p *printer) render(id string, data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("file: render job %s: panic: %v", id, r)
		}
	}()
	png, err := p.cfg.Render(data)
	if err != nil {
		return fmt.Errorf("file: render job %s: %w", id, err)
	}
	tmp := filepath.Join(p.dir, "."+id+".png.part")
	if err := os.WriteFile(tmp, png, 0o644); err != nil {
		return fmt.Errorf("file: write preview of %s: %w", id, err)
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, id+".png")); err != nil {
		return fmt.Errorf("file: write preview of %s: %w", id, err)
	}
	return nil
}

func (p *printer) Status(ctx context.Context) (drivers.Status, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Status{}, err
	}
	return p.cfg.Cache.Get(), nil
}

// Close finishes a job in progress and closes the printer.
func (p *printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.f != nil {
		return p.endLocked()
	}
	return nil
}
