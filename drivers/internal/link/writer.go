package link

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"printpay.dev/printpay/drivers"
)

// Writer makes a blocking device writer safe for the worker: each Write is
// cut into chunks, paced to Rate bytes/s with Delay between chunks, and
// bounded by Timeout. A chunk that does not finish in time returns
// drivers.ErrOffline (after OnTimeout, which may flush the device's output
// to unblock it); while that chunk's write is still blocked in the device,
// further writes return drivers.ErrBusy at once rather than interleaving.
//
// Writer serialises its callers, so status polls and job bytes never mix
// inside a chunk.
type Writer struct {
	W         io.Writer
	ChunkSize int                   // 0 = 4096
	Delay     time.Duration         // pause between chunks
	Rate      int                   // bytes per second; 0 = unlimited
	Timeout   time.Duration         // per chunk; 0 = drivers.DefaultWriteTimeout
	OnTimeout func()                // called when a chunk times out
	Errorf    func(err error) error // maps device errors to sentinels; nil keeps them

	mu       sync.Mutex
	inflight chan result // non-nil while a timed-out write may still be running
	last     time.Time   // end of the last write, for pacing and idle checks
}

type result struct {
	n   int
	err error
}

// ErrStuck is wrapped in the ErrBusy returned while an earlier timed-out
// write has not returned from the device.
var ErrStuck = errors.New("link: previous write still blocked in the device")

// Write writes p, returning how many bytes the device accepted.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight != nil {
		select {
		case <-w.inflight:
			w.inflight = nil
		default:
			return 0, fmt.Errorf("%w: %w", drivers.ErrBusy, ErrStuck)
		}
	}
	size := w.ChunkSize
	if size <= 0 {
		size = 4096
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = drivers.DefaultWriteTimeout
	}
	start := time.Now()
	done := 0
	for done < len(p) {
		if done > 0 && w.Delay > 0 {
			time.Sleep(w.Delay)
		}
		if w.Rate > 0 && done > 0 {
			due := start.Add(time.Duration(int64(done) * int64(time.Second) / int64(w.Rate)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		chunk := p[done:min(done+size, len(p))]
		n, err := w.writeChunk(chunk, timeout)
		done += n
		if err != nil {
			w.last = time.Now()
			return done, err
		}
	}
	w.last = time.Now()
	return done, nil
}

func (w *Writer) writeChunk(chunk []byte, timeout time.Duration) (int, error) {
	ch := make(chan result, 1)
	go func() {
		total := 0
		for total < len(chunk) {
			n, err := w.W.Write(chunk[total:])
			total += n
			if err != nil {
				ch <- result{total, err}
				return
			}
			if n == 0 {
				ch <- result{total, io.ErrShortWrite}
				return
			}
		}
		ch <- result{total, nil}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return r.n, w.mapErr(r.err)
		}
		return r.n, nil
	case <-t.C:
	}
	if w.OnTimeout != nil {
		w.OnTimeout()
	}
	// Give a flushed device a moment to return what it accepted.
	select {
	case r := <-ch:
		return r.n, fmt.Errorf("link: write of %d bytes not accepted within %v: %w", len(chunk), timeout, drivers.ErrOffline)
	case <-time.After(100 * time.Millisecond):
		w.inflight = ch
		return 0, fmt.Errorf("link: write of %d bytes not accepted within %v: %w", len(chunk), timeout, drivers.ErrOffline)
	}
}

func (w *Writer) mapErr(err error) error {
	if w.Errorf != nil {
		return w.Errorf(err)
	}
	return err
}

// IdleSince reports when the last write ended (zero before any).
func (w *Writer) IdleSince() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Stuck reports whether a timed-out write is still blocked in the device.
func (w *Writer) Stuck() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight == nil {
		return false
	}
	select {
	case <-w.inflight:
		w.inflight = nil
		return false
	default:
		return true
	}
}
