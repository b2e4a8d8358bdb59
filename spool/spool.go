package spool

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
)

// Sentinel errors callers branch on.
var (
	ErrFull      = errors.New("spool: disk nearly full")
	ErrNotFound  = errors.New("spool: no such job")
	ErrTruncated = errors.New("spool: job truncated")
	ErrState     = errors.New("spool: job is not in a state that allows this")
	ErrLocked    = errors.New("spool: in use by another process")
	ErrClosed    = errors.New("spool: closed")
)

// IntakeState says how much of a job arrived.
type IntakeState string

// Intake states.
const (
	Receiving IntakeState = "receiving"
	Complete  IntakeState = "complete"
	Truncated IntakeState = "truncated"
)

// PrintState says where a job is on its way to paper.
type PrintState string

// Print states.
const (
	Pending PrintState = "pending"
	Sending PrintState = "sending"
	Done    PrintState = "done"
	Failed  PrintState = "failed"
)

// Origin says where a job came from.
type Origin struct {
	Proto  string `json:"proto,omitempty"`  // "raw" or "lpd"
	Peer   string `json:"peer,omitempty"`   // remote address
	Queue  string `json:"queue,omitempty"`  // LPD queue name
	User   string `json:"user,omitempty"`   // LPD control file P
	Title  string `json:"title,omitempty"`  // LPD control file J or N
	Number string `json:"number,omitempty"` // LPD job number (the 3 digits of dfA123host)
}

// Result is what analysis and printing found out about a job; the status
// API shows it. Zero values mean "not known yet" (null in the API).
type Result struct {
	Analyzed   bool            `json:"analyzed,omitempty"` // Payable, AmountFen, OrderNo and Reason are set
	Payable    bool            `json:"payable,omitempty"`
	AmountFen  int64           `json:"amount_fen,omitempty"`
	OrderNo    string          `json:"order_no,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	OutTradeNo string          `json:"out_trade_no,omitempty"`
	QR         string          `json:"qr,omitempty"` // spliced | paid-line | none | timeout | late | error; "" until final
	QRReason   string          `json:"qr_reason,omitempty"`
	Paid       bool            `json:"paid,omitempty"`
	Receipts   json.RawMessage `json:"receipts,omitempty"` // a JSON array, stored as given
}

// Job is a snapshot of one spooled job.
type Job struct {
	ID         string      `json:"id"`
	Printer    string      `json:"printer"`
	ReceivedAt time.Time   `json:"received_at"`
	Bytes      int64       `json:"bytes"`
	Intake     IntakeState `json:"intake"`
	State      PrintState  `json:"state"`
	Reprint    int         `json:"reprint,omitempty"`
	Held       bool        `json:"held,omitempty"`    // waits for a person (Requeue)
	Reason     string      `json:"reason,omitempty"`  // why truncated, held or failed
	Finished   time.Time   `json:"finished,omitzero"` // when done or failed
	Origin     Origin      `json:"origin,omitzero"`   //
	Result     Result      `json:"result,omitzero"`   //
	version    uint64      //
	dir        string      // the printer's directory
	changed    chan struct{}
}

// Options configure a spool. The zero value is usable: the real file
// system, no retention limit, no free-space floor.
type Options struct {
	FS        FS               // default OS{}
	Retention time.Duration    // done jobs older than this are pruned; 0 = keep
	MinFree   int64            // Create refuses with ErrFull below this many free bytes
	Now       func() time.Time // default time.Now
	Logger    *slog.Logger     // default: discard
}

// Stats are the spool's counters since Open, and its current gauges.
type Stats struct {
	Created, Completed, Truncated, Refused, Pruned uint64
	BytesIn                                        uint64
	Syncs                                          uint64 // journal sync batches
	Jobs                                           map[PrintState]int
	Held                                           int
}

// Spool is an open spool directory. Its methods are safe for concurrent use.
type Spool struct {
	dir  string
	fs   FS
	opt  Options
	log  *slog.Logger
	lock io.Closer

	mu        sync.Mutex
	closed    bool
	jobs      map[string]*Job
	all       []*Job            // every job, oldest first
	queues    map[string][]*Job // per printer, oldest first
	notify    map[string]chan struct{}
	dirs      map[string]bool // printer directories known to exist
	lastID    ulid.ULID
	entropy   io.Reader
	jlines    int
	journal   File
	dirtyMu   sync.Mutex
	dirty     map[string]bool // directories with unsynced entries
	commitMu  sync.Mutex
	idle      *sync.Cond   // on commitMu: signalled when a group commit ends
	compactMu sync.RWMutex // held for writing while the journal file is swapped
	queue     []*syncReq
	leading   bool

	created, completed, truncated, refused, pruned, bytesIn, syncs atomic.Uint64
}

const (
	journalName = "journal"
	jobsDir     = "jobs"
)

// Open opens (creating if needed) the spool in dir, takes its lock, and
// recovers every job left by a previous run.
func Open(dir string, opt Options) (*Spool, error) {
	if opt.FS == nil {
		opt.FS = OS{}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Spool{
		dir:     dir,
		fs:      opt.FS,
		opt:     opt,
		log:     opt.Logger,
		jobs:    make(map[string]*Job),
		queues:  make(map[string][]*Job),
		notify:  make(map[string]chan struct{}),
		dirs:    make(map[string]bool),
		dirty:   make(map[string]bool),
		entropy: ulid.Monotonic(rand.Reader, 0),
	}
	s.idle = sync.NewCond(&s.commitMu)
	if err := s.fs.MkdirAll(filepath.Join(dir, jobsDir), 0o700); err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	lock, err := s.fs.Lock(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the journal and releases the lock. Writers still open can no
// longer commit.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, ch := range s.notify {
		close(ch)
	}
	s.notify = make(map[string]chan struct{})
	s.mu.Unlock()
	s.commitMu.Lock()
	for s.leading {
		s.idle.Wait()
	}
	s.commitMu.Unlock()
	s.mu.Lock()
	err := s.journal.Close()
	s.mu.Unlock()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Run prunes done jobs past retention and compacts the journal from time
// to time, until ctx is done.
func (s *Spool) Run(ctx context.Context) error {
	every := time.Hour
	if r := s.opt.Retention; r > 0 && r/10 < every {
		every = max(r/10, time.Second)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := s.Prune(); err != nil {
				s.log.Warn("spool: prune", "err", err)
			}
			if err := s.maybeCompact(); err != nil {
				s.log.Warn("spool: compact journal", "err", err)
			}
		}
	}
}

// newID returns a ULID greater than every ID handed out before, even when
// the clock steps back. Called with s.mu held.
func (s *Spool) newID() (string, time.Time, error) {
	now := s.opt.Now()
	ms := ulid.Timestamp(now)
	if last := s.lastID.Time(); ms < last {
		ms = last
	}
	id, err := ulid.New(ms, s.entropy)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("spool: new job id: %w", err)
	}
	if id.Compare(s.lastID) <= 0 { // entropy wrapped: step into the next millisecond
		id, err = ulid.New(ms+1, s.entropy)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("spool: new job id: %w", err)
		}
	}
	s.lastID = id
	return id.String(), now, nil
}

// Create starts a job for printer. The caller writes its bytes and then
// calls Commit or Abort. Create returns ErrFull when the disk holding the
// spool has less than MinFree bytes free, even after pruning done jobs.
func (s *Spool) Create(printer string, origin Origin) (*Writer, error) {
	if err := s.checkFree(); err != nil {
		return nil, err
	}
	dir, err := s.printerDir(printer)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	id, now, err := s.newID()
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Unlock()

	f, err := s.fs.OpenFile(filepath.Join(dir, id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: create job %s: %w", id, err)
	}
	s.markDirty(dir)

	j := &Job{
		ID: id, Printer: printer, ReceivedAt: now.UTC().Truncate(time.Millisecond),
		Intake: Receiving, State: Pending, Origin: origin,
		dir: dir, changed: make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		f.Close()
		return nil, ErrClosed
	}
	s.insert(j)
	err = s.appendLocked(j)
	s.wakeLocked(printer)
	s.mu.Unlock()
	s.created.Add(1)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Writer{s: s, j: j, f: f}, nil
}

// checkFree enforces MinFree, pruning the oldest done jobs first.
func (s *Spool) checkFree() error {
	if s.opt.MinFree <= 0 {
		return nil
	}
	for range 8 {
		free, err := s.fs.Free(s.dir)
		if err != nil {
			return fmt.Errorf("spool: free space: %w", err)
		}
		if free >= uint64(s.opt.MinFree) {
			return nil
		}
		if n := s.pruneOldest(32); n == 0 {
			break
		}
	}
	s.refused.Add(1)
	return ErrFull
}

// printerDir returns (creating once) the printer's job directory.
func (s *Spool) printerDir(printer string) (string, error) {
	dir := filepath.Join(s.dir, jobsDir, escapeName(printer))
	s.mu.Lock()
	ok := s.dirs[dir]
	s.mu.Unlock()
	if ok {
		return dir, nil
	}
	if err := s.fs.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("spool: printer %q: %w", printer, err)
	}
	if err := s.fs.SyncDir(filepath.Join(s.dir, jobsDir)); err != nil {
		return "", fmt.Errorf("spool: printer %q: %w", printer, err)
	}
	s.mu.Lock()
	s.dirs[dir] = true
	s.mu.Unlock()
	return dir, nil
}

func (s *Spool) markDirty(dir string) {
	s.dirtyMu.Lock()
	s.dirty[dir] = true
	s.dirtyMu.Unlock()
}

// insert adds j to the indexes, keeping ID order. Called with s.mu held.
func (s *Spool) insert(j *Job) {
	s.jobs[j.ID] = j
	if n := len(s.all); n == 0 || s.all[n-1].ID < j.ID {
		s.all = append(s.all, j)
	} else {
		i, _ := slices.BinarySearchFunc(s.all, j.ID, func(a *Job, id string) int { return cmpString(a.ID, id) })
		s.all = slices.Insert(s.all, i, j)
	}
	q := s.queues[j.Printer]
	if n := len(q); n == 0 || q[n-1].ID < j.ID {
		q = append(q, j)
	} else {
		i, _ := slices.BinarySearchFunc(q, j.ID, func(a *Job, id string) int { return cmpString(a.ID, id) })
		q = slices.Insert(q, i, j)
	}
	s.queues[j.Printer] = q
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// wakeLocked wakes everyone waiting on printer's queue. Called with s.mu
// held.
func (s *Spool) wakeLocked(printer string) {
	if ch, ok := s.notify[printer]; ok {
		close(ch)
		delete(s.notify, printer)
	}
}

// changedLocked wakes readers following j. Called with s.mu held.
func changedLocked(j *Job) {
	close(j.changed)
	j.changed = make(chan struct{})
}

// Notify returns a channel that is closed at the next change to printer's
// queue: a job created, completed, truncated, requeued or finished.
func (s *Spool) Notify(printer string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	ch, ok := s.notify[printer]
	if !ok {
		ch = make(chan struct{})
		s.notify[printer] = ch
	}
	return ch
}

// Next returns printer's oldest job that is pending and not held. It may
// still be receiving: Open follows it.
func (s *Spool) Next(printer string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.queues[printer] {
		if j.State == Pending && !j.Held {
			return j.snapshot(), true
		}
	}
	return Job{}, false
}

// Wait blocks until Next has a job for printer, or ctx is done.
func (s *Spool) Wait(ctx context.Context, printer string) (Job, error) {
	for {
		ch := s.Notify(printer)
		if j, ok := s.Next(printer); ok {
			return j, nil
		}
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return Job{}, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Job{}, ctx.Err()
		}
	}
}

// Get returns a snapshot of the job.
func (s *Spool) Get(id string) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return Job{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return j.snapshot(), nil
}

// List returns up to limit jobs (all when limit <= 0), newest first.
func (s *Spool) List(limit int) []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.all)
	if limit > 0 && limit < n {
		n = limit
	}
	out := make([]Job, 0, n)
	for i := len(s.all) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, s.all[i].snapshot())
	}
	return out
}

// Queue returns printer's jobs that are not finished (pending or sending),
// oldest first.
func (s *Spool) Queue(printer string) []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Job
	for _, j := range s.queues[printer] {
		if j.State == Pending || j.State == Sending {
			out = append(out, j.snapshot())
		}
	}
	return out
}

func (j *Job) snapshot() Job {
	c := *j
	c.changed = nil
	c.Result.Receipts = slices.Clip(j.Result.Receipts)
	return c
}

// Stats returns the counters and gauges.
func (s *Spool) Stats() Stats {
	st := Stats{
		Created: s.created.Load(), Completed: s.completed.Load(), Truncated: s.truncated.Load(),
		Refused: s.refused.Load(), Pruned: s.pruned.Load(), BytesIn: s.bytesIn.Load(), Syncs: s.syncs.Load(),
		Jobs: map[PrintState]int{Pending: 0, Sending: 0, Done: 0, Failed: 0},
	}
	s.mu.Lock()
	for _, j := range s.all {
		st.Jobs[j.State]++
		if j.Held {
			st.Held++
		}
	}
	s.mu.Unlock()
	return st
}

// update applies f to job id under the lock, journals the new snapshot and,
// when durable, waits until it is synced.
func (s *Spool) update(id string, durable bool, f func(j *Job) error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err := f(j); err != nil {
		s.mu.Unlock()
		return err
	}
	changedLocked(j)
	s.wakeLocked(j.Printer)
	var err error
	var rec []byte
	if durable {
		rec, err = s.recordLocked(j)
	} else {
		err = s.appendLocked(j)
	}
	s.mu.Unlock()
	if err != nil || !durable {
		return err
	}
	return s.sync("", rec)
}

// MarkSending moves a pending job to sending (synced: a crash from now on
// prints it again whole, with Reprint counted).
func (s *Spool) MarkSending(id string) error {
	return s.update(id, true, func(j *Job) error {
		if j.State != Pending {
			return fmt.Errorf("%w: %s is %s, not pending", ErrState, id, j.State)
		}
		j.State = Sending
		return nil
	})
}

// MarkResend records that a job being sent is sent again from its start
// (its printer failed mid-job): Reprint is incremented, synced like a state
// change, so the status shows that the receipt may come out twice.
func (s *Spool) MarkResend(id string) error {
	return s.update(id, true, func(j *Job) error {
		if j.State != Sending {
			return fmt.Errorf("%w: %s is %s, not sending", ErrState, id, j.State)
		}
		j.Reprint++
		return nil
	})
}

// MarkDone records that the job reached the printer.
func (s *Spool) MarkDone(id string) error {
	return s.update(id, true, func(j *Job) error {
		if j.State != Sending {
			return fmt.Errorf("%w: %s is %s, not sending", ErrState, id, j.State)
		}
		j.State = Done
		j.Finished = s.opt.Now().UTC()
		return nil
	})
}

// MarkFailed records that the job could not be printed, and why.
func (s *Spool) MarkFailed(id, reason string) error {
	return s.update(id, true, func(j *Job) error {
		if j.State == Done || j.State == Failed {
			return fmt.Errorf("%w: %s is already %s", ErrState, id, j.State)
		}
		j.State = Failed
		j.Reason = reason
		j.Finished = s.opt.Now().UTC()
		return nil
	})
}

// Requeue puts a job back in its printer's queue on a person's request: a
// reprint of a done or failed job (Reprint is incremented), or the release
// of a held truncated job. A job still receiving or sending cannot be
// requeued.
func (s *Spool) Requeue(id string) error {
	return s.update(id, true, func(j *Job) error {
		if j.Intake == Receiving || j.State == Sending {
			return fmt.Errorf("%w: %s is %s/%s", ErrState, id, j.Intake, j.State)
		}
		if j.State == Done || j.State == Failed {
			j.Reprint++
		}
		j.State = Pending
		j.Held = false
		j.Finished = time.Time{}
		return nil
	})
}

// UpdateResult changes the job's result record. It is written to the journal
// at once and synced with the next synced change.
func (s *Spool) UpdateResult(id string, f func(r *Result)) error {
	return s.update(id, false, func(j *Job) error {
		f(&j.Result)
		j.Result.Receipts = slices.Clone(j.Result.Receipts)
		return nil
	})
}

// SetOrigin replaces the job's origin (an LPD control file that arrives
// after its data file).
func (s *Spool) SetOrigin(id string, o Origin) error {
	return s.update(id, false, func(j *Job) error {
		j.Origin = o
		return nil
	})
}

// Cancel marks a job that has not started printing as failed with reason
// (an LPD remove-job request). Jobs already sending are left alone.
func (s *Spool) Cancel(id, reason string) error {
	return s.update(id, true, func(j *Job) error {
		if j.State != Pending {
			return fmt.Errorf("%w: %s is %s", ErrState, id, j.State)
		}
		j.State = Failed
		j.Reason = reason
		j.Finished = s.opt.Now().UTC()
		return nil
	})
}

// Prune removes done jobs that finished longer than Retention ago.
func (s *Spool) Prune() (int, error) {
	if s.opt.Retention <= 0 {
		return 0, nil
	}
	cutoff := s.opt.Now().Add(-s.opt.Retention)
	return s.remove(func(j *Job) bool { return j.State == Done && j.Finished.Before(cutoff) }, 0, true)
}

// pruneOldest removes up to n of the oldest done jobs, whatever their age.
func (s *Spool) pruneOldest(n int) int {
	k, err := s.remove(func(j *Job) bool { return j.State == Done }, n, true)
	if err != nil {
		s.log.Warn("spool: prune for space", "err", err)
	}
	return k
}

// remove deletes up to limit (0 = all) jobs matching match, oldest first;
// prune says whether they count as pruned.
func (s *Spool) remove(match func(*Job) bool, limit int, prune bool) (int, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	var gone []*Job
	for _, j := range s.all {
		if match(j) {
			gone = append(gone, j)
			if limit > 0 && len(gone) == limit {
				break
			}
		}
	}
	if len(gone) == 0 {
		s.mu.Unlock()
		return 0, nil
	}
	var err error
	for _, j := range gone {
		delete(s.jobs, j.ID)
		if e := s.appendRaw(removal(j.ID)); e != nil && err == nil {
			err = e
		}
		changedLocked(j)
	}
	isGone := func(j *Job) bool { _, ok := s.jobs[j.ID]; return !ok }
	s.all = slices.DeleteFunc(s.all, isGone)
	printers := map[string]bool{}
	for _, j := range gone {
		printers[j.Printer] = true
	}
	for p := range printers {
		s.queues[p] = slices.DeleteFunc(s.queues[p], isGone)
	}
	s.mu.Unlock()
	for _, j := range gone {
		if e := s.fs.Remove(filepath.Join(j.dir, j.ID)); e != nil && !errors.Is(e, os.ErrNotExist) && err == nil {
			err = e
		}
		s.markDirty(j.dir)
	}
	if prune {
		s.pruned.Add(uint64(len(gone)))
	}
	if err != nil {
		return len(gone), fmt.Errorf("spool: prune: %w", err)
	}
	return len(gone), nil
}

// Writer receives one job's bytes. It is not safe for concurrent use.
type Writer struct {
	s    *Spool
	j    *Job
	f    File
	n    int64
	done bool
}

// ID is the job's ID.
func (w *Writer) ID() string { return w.j.ID }

// Len is the number of bytes written so far.
func (w *Writer) Len() int64 { return w.n }

// Write appends to the job file; readers following the job see the bytes
// at once.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("spool: write job %s: %w", w.j.ID, ErrState)
	}
	n, err := w.f.Write(p)
	if n > 0 {
		w.n += int64(n)
		w.s.bytesIn.Add(uint64(n))
		w.s.mu.Lock()
		w.j.Bytes = w.n
		changedLocked(w.j)
		w.s.mu.Unlock()
	}
	if err != nil {
		return n, fmt.Errorf("spool: write job %s: %w", w.j.ID, err)
	}
	return n, nil
}

// Commit makes the job durable and complete. When it returns nil the job
// survives any crash; only then may the sender be told it was received.
func (w *Writer) Commit() error {
	if w.done {
		return fmt.Errorf("spool: commit job %s: %w", w.j.ID, ErrState)
	}
	w.done = true
	s := w.s
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.sync(w.j.dir, nil) // the directory entry, before any record says complete
	}
	if err != nil {
		w.fail("spool: " + err.Error())
		return fmt.Errorf("spool: commit job %s: %w", w.j.ID, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("spool: commit job %s: %w", w.j.ID, ErrClosed)
	}
	w.j.Intake = Complete
	w.j.Bytes = w.n
	changedLocked(w.j)
	s.wakeLocked(w.j.Printer)
	rec, err := s.recordLocked(w.j)
	s.mu.Unlock()
	if err == nil {
		err = s.sync("", rec)
	}
	if err != nil {
		return fmt.Errorf("spool: commit job %s: %w", w.j.ID, err)
	}
	s.completed.Add(1)
	return nil
}

// Abort ends the job as truncated: its sender went away before its end (or
// broke a limit). A truncated job is held until a person requeues it.
func (w *Writer) Abort(reason string) error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	w.fail(reason)
	return nil
}

// Discard removes a job that turned out to carry nothing worth keeping (an
// LPD data file with no bytes), as if it had never been created.
func (w *Writer) Discard() error {
	if w.done {
		return fmt.Errorf("spool: discard job %s: %w", w.j.ID, ErrState)
	}
	w.done = true
	w.f.Close()
	_, err := w.s.remove(func(j *Job) bool { return j == w.j }, 1, false)
	return err
}

func (w *Writer) fail(reason string) {
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	w.j.Intake = Truncated
	w.j.Held = true
	w.j.Reason = reason
	changedLocked(w.j)
	s.wakeLocked(w.j.Printer)
	if err := s.appendLocked(w.j); err != nil {
		s.log.Warn("spool: journal truncated job", "job", w.j.ID, "err", err)
	}
	s.truncated.Add(1)
}

// Reader reads a job's bytes, following a job that is still being received.
type Reader struct {
	s   *Spool
	ctx context.Context
	id  string
	f   File
	off int64
}

// Open returns a reader over the job's bytes. While the job is receiving,
// Read waits for more bytes (or for ctx); at the end of a complete job it
// returns io.EOF, at the end of a truncated one ErrTruncated.
func (s *Spool) Open(ctx context.Context, id string) (*Reader, error) {
	s.mu.Lock()
	j, ok := s.jobs[id]
	var name string
	if ok {
		name = filepath.Join(j.dir, j.ID)
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	f, err := s.fs.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: open job %s: %w", id, err)
	}
	return &Reader{s: s, ctx: ctx, id: id, f: f}, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		r.s.mu.Lock()
		j, ok := r.s.jobs[r.id]
		var size int64
		var intake IntakeState
		var ch chan struct{}
		if ok {
			size, intake, ch = j.Bytes, j.Intake, j.changed
		}
		r.s.mu.Unlock()
		if !ok {
			return 0, fmt.Errorf("%w: %s", ErrNotFound, r.id)
		}
		if r.off < size {
			n, err := r.f.ReadAt(p[:min(int64(len(p)), size-r.off)], r.off)
			r.off += int64(n)
			if n > 0 {
				return n, nil
			}
			if err != nil && err != io.EOF {
				return 0, fmt.Errorf("spool: read job %s: %w", r.id, err)
			}
		}
		switch intake {
		case Complete:
			if r.off >= size {
				return 0, io.EOF
			}
		case Truncated:
			if r.off >= size {
				return 0, ErrTruncated
			}
		}
		select {
		case <-ch:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

// Close closes the reader.
func (r *Reader) Close() error { return r.f.Close() }
