package drivertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"printpay.dev/printpay/drivers"
)

var (
	_ drivers.Printer    = (*Recorder)(nil)
	_ drivers.JobPrinter = (*Recorder)(nil)
)

// Job is one job as the Recorder saw it through BeginJob/EndJob.
type Job struct {
	ID    string
	Data  []byte
	Ended bool
}

// Recorder is a fake printer. The zero value is not ready: use New.
// All methods are safe for concurrent use.
type Recorder struct {
	mu       sync.Mutex
	cond     *sync.Cond
	buf      bytes.Buffer
	jobs     []Job
	inJob    bool
	status   drivers.Status
	closed   bool
	stalled  bool
	failAt   int // fail once len(buf) reaches this; -1 = never
	failErr  error
	down     error // every write fails with this until Reconnect
	timeout  time.Duration
	writes   int
	notifyCh chan struct{}
}

// New returns a Recorder that accepts everything and reports online.
func New() *Recorder {
	r := &Recorder{failAt: -1, status: drivers.Status{State: drivers.StateOnline}}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// Write records p. It honours the failure modes set on r: after FailAfter
// it accepts only the bytes up to the limit and returns the error; while
// stalled it blocks until Resume, Close or the stall timeout.
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stalled {
		deadline := time.Time{}
		if r.timeout > 0 {
			deadline = time.Now().Add(r.timeout)
			t := time.AfterFunc(r.timeout, func() {
				r.mu.Lock()
				r.cond.Broadcast()
				r.mu.Unlock()
			})
			defer t.Stop()
		}
		for r.stalled && !r.closed {
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				return 0, fmt.Errorf("drivertest: write stalled for %v: %w", r.timeout, drivers.ErrOffline)
			}
			r.cond.Wait()
		}
	}
	if r.closed {
		return 0, fmt.Errorf("drivertest: write on closed printer: %w", drivers.ErrOffline)
	}
	if r.down != nil {
		return 0, r.down
	}
	n := len(p)
	var err error
	if r.failAt >= 0 {
		// Exactly reaching the limit succeeds; the write after it fails.
		if room := r.failAt - r.buf.Len(); len(p) > room || room <= 0 {
			n, err = max(room, 0), r.failErr
		}
	}
	r.buf.Write(p[:n])
	if r.inJob && len(r.jobs) > 0 {
		j := &r.jobs[len(r.jobs)-1]
		j.Data = append(j.Data, p[:n]...)
	}
	r.writes++
	if err != nil {
		r.trip(err)
	}
	if r.notifyCh != nil {
		close(r.notifyCh)
		r.notifyCh = nil
	}
	r.cond.Broadcast()
	return n, err
}

// trip puts r in the failed state for err: further writes fail too.
func (r *Recorder) trip(err error) {
	r.down = err
	r.failAt = -1
	switch {
	case errors.Is(err, drivers.ErrPaperOut):
		r.status = drivers.Status{State: drivers.StatePaperOut, Since: time.Now(), Detail: "drivertest: paper out"}
	default:
		r.status = drivers.Status{State: drivers.StateOffline, Since: time.Now(), Detail: err.Error()}
	}
}

// Close marks the printer closed; blocked writes return ErrOffline.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.cond.Broadcast()
	return nil
}

// Status reports the status set by SetStatus or by a failure.
func (r *Recorder) Status(ctx context.Context) (drivers.Status, error) {
	if err := ctx.Err(); err != nil {
		return drivers.Status{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, nil
}

// BeginJob starts recording a new job.
func (r *Recorder) BeginJob(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, Job{ID: id})
	r.inJob = true
	return nil
}

// EndJob ends the current job.
func (r *Recorder) EndJob() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.inJob {
		return fmt.Errorf("drivertest: EndJob without BeginJob")
	}
	r.jobs[len(r.jobs)-1].Ended = true
	r.inJob = false
	return nil
}

// FailAfter makes the printer accept n more bytes and then fail with err
// (drivers.ErrOffline when nil): the write that crosses the limit returns
// the bytes up to it and err, and every later write returns err until
// Reconnect. err wrapping drivers.ErrPaperOut also reports paper-out.
func (r *Recorder) FailAfter(n int, err error) {
	if err == nil {
		err = fmt.Errorf("drivertest: disconnected: %w", drivers.ErrOffline)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failAt = r.buf.Len() + n
	r.failErr = err
}

// Disconnect makes every write fail with ErrOffline until Reconnect.
func (r *Recorder) Disconnect() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trip(fmt.Errorf("drivertest: disconnected: %w", drivers.ErrOffline))
}

// Reconnect clears a failure: writes succeed and the status is online.
func (r *Recorder) Reconnect() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down, r.failAt = nil, -1
	r.status = drivers.Status{State: drivers.StateOnline, Since: time.Now()}
}

// Stall makes writes block until Resume or Close; with timeout > 0 a
// blocked write gives up after it with ErrOffline, like a real driver's
// write deadline.
func (r *Recorder) Stall(timeout time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stalled, r.timeout = true, timeout
}

// Resume releases stalled writes.
func (r *Recorder) Resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stalled = false
	r.cond.Broadcast()
}

// SetStatus sets what Status reports.
func (r *Recorder) SetStatus(s drivers.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = s
}

// Bytes returns a copy of everything accepted so far.
func (r *Recorder) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// Len returns how many bytes were accepted.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Len()
}

// Jobs returns the jobs seen through BeginJob/EndJob.
func (r *Recorder) Jobs() []Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Job, len(r.jobs))
	for i, j := range r.jobs {
		out[i] = Job{ID: j.ID, Data: bytes.Clone(j.Data), Ended: j.Ended}
	}
	return out
}

// Closed reports whether Close was called.
func (r *Recorder) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// WaitLen blocks until at least n bytes were accepted or ctx is done, and
// reports whether they were.
func (r *Recorder) WaitLen(ctx context.Context, n int) bool {
	for {
		r.mu.Lock()
		if r.buf.Len() >= n {
			r.mu.Unlock()
			return true
		}
		if r.notifyCh == nil {
			r.notifyCh = make(chan struct{})
		}
		ch := r.notifyCh
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}
