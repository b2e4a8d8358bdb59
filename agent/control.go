package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/spool"
)

// pauses holds which printers are paused (the status page's pause
// button). A paused printer's worker takes no new job; the job it is
// printing finishes, and its queue keeps filling.
type pauses struct {
	mu      sync.Mutex
	paused  map[string]bool
	changed chan struct{} // closed and replaced at every change
}

func newPauses() *pauses {
	return &pauses{paused: map[string]bool{}, changed: make(chan struct{})}
}

func (p *pauses) set(printer string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused[printer] == on {
		return
	}
	p.paused[printer] = on
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *pauses) get(printer string) (bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused[printer], p.changed
}

// queue wraps a printer's queue so that Next waits while it is paused.
func (p *pauses) queue(printer string, q worker.Queue) worker.Queue {
	return &pausedQueue{Queue: q, p: p, printer: printer}
}

type pausedQueue struct {
	worker.Queue
	p       *pauses
	printer string
}

// Next waits while the printer is paused; a pause that comes while it
// waits for a job takes effect before the job is handed out (waiting for
// a job consumes nothing).
func (q *pausedQueue) Next(ctx context.Context) (worker.Job, error) {
	for {
		paused, changed := q.p.get(q.printer)
		if paused {
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return worker.Job{}, ctx.Err()
			}
		}
		nctx, cancel := context.WithCancel(ctx)
		stop := make(chan struct{})
		go func() {
			select {
			case <-changed:
				cancel()
			case <-stop:
			}
		}()
		j, err := q.Queue.Next(nctx)
		close(stop)
		cancel()
		if err != nil && ctx.Err() == nil && nctx.Err() != nil {
			continue // paused (or resumed) while waiting
		}
		return j, err
	}
}

// testPrint queues a test page for a printer, as if a POS had sent it.
func testPrint(sp *spool.Spool, cfg config.Config, printer string) error {
	var pc *config.Printer
	for i := range cfg.Printers {
		if cfg.Printers[i].Name == printer {
			pc = &cfg.Printers[i]
		}
	}
	if pc == nil {
		return fmt.Errorf("agent: no printer %q", printer)
	}
	prof, err := profiles.Lookup(pc.Profile)
	if err != nil {
		return fmt.Errorf("agent: printer %q: %w", printer, err)
	}
	w, err := sp.Create(printer, spool.Origin{Proto: "test", Title: "test page"})
	if err != nil {
		return fmt.Errorf("agent: test page: %w", err)
	}
	if _, err := w.Write(testPage(*pc, prof, time.Now())); err != nil {
		w.Abort("test page: " + err.Error())
		return fmt.Errorf("agent: test page: %w", err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("agent: test page: %w", err)
	}
	return nil
}

// testPage is a short ASCII page naming the printer, with the profile's cut.
func testPage(pc config.Printer, prof profiles.Profile, now time.Time) []byte {
	b := []byte{0x1B, 0x40, 0x1B, 0x61, 0x01, 0x1D, 0x21, 0x11}
	b = append(b, "printpay\n"...)
	b = append(b, 0x1D, 0x21, 0x00)
	b = append(b, "test page\n\n"...)
	b = append(b, 0x1B, 0x61, 0x00)
	for _, l := range []string{
		"printer: " + pc.Name,
		"driver:  " + pc.Driver,
		"device:  " + pc.Device,
		"profile: " + pc.Profile,
		"printed: " + now.Format("2006-01-02 15:04:05"),
		"agent:   " + Version,
	} {
		b = append(b, l...)
		b = append(b, '\n')
	}
	b = append(b, 0x1B, 0x64, 0x04)
	cut := prof.Cut
	if len(cut) == 0 {
		cut = []byte{0x1D, 0x56, 0x42, 0x00}
	}
	return append(b, cut...)
}
