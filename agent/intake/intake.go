package intake

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

// Options configure intake. Zero durations and limits take the defaults
// of DESIGN §6.1.
type Options struct {
	Printers         []string      // configured printers; the first takes unmatched LPD queues
	IdleTimeout      time.Duration // raw job end after a cut and this much silence (1s)
	IdleTimeoutNoCut time.Duration // ... without a cut (5s)
	MaxJobBytes      int64         // 32 MiB
	MaxConnections   int           // across every listener sharing this Intake (64)
	// StatusReply is the state answered when a printer's status is
	// unknown: StateOnline (default), StateOffline or StatePaperOut.
	StatusReply drivers.PrinterState
	// ConnIdle bounds the silence on a raw connection between jobs (POS
	// programs that keep one socket open) and on an LPD command (1h, 60s).
	ConnIdle time.Duration
	LPDIdle  time.Duration
	// JobTimeout bounds one job's transfer; a job still arriving after it
	// is kept as truncated and the connection closed (10m).
	JobTimeout time.Duration
	// Status returns a printer's status cache; nil, or a nil result, means
	// the status is unknown.
	Status func(printer string) *drivers.StatusCache
	Logger *slog.Logger
}

// Stats are intake's counters since New.
type Stats struct {
	Connections   uint64 // accepted connections (raw and LPD)
	Refused       uint64 // connections or jobs refused (limits, full spool)
	Jobs          uint64 // jobs committed complete
	Truncated     uint64 // jobs kept as truncated
	Bytes         uint64 // job bytes spooled
	StatusQueries uint64 // status queries answered
	StatusOnly    uint64 // connections that carried status queries only
	Empty         uint64 // connections that closed without a byte
}

// Intake receives jobs into a spool.
type Intake struct {
	sp  *spool.Spool
	opt Options
	log *slog.Logger
	sem chan struct{}

	connections, refused, jobs, truncated, bytes, queries, statusOnly, empty atomic.Uint64
}

// New returns an Intake writing into sp.
func New(sp *spool.Spool, opt Options) *Intake {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opt.IdleTimeout, time.Second)
	def(&opt.IdleTimeoutNoCut, 5*time.Second)
	def(&opt.ConnIdle, time.Hour)
	def(&opt.LPDIdle, time.Minute)
	def(&opt.JobTimeout, 10*time.Minute)
	if opt.MaxJobBytes <= 0 {
		opt.MaxJobBytes = 32 << 20
	}
	if opt.MaxConnections <= 0 {
		opt.MaxConnections = 64
	}
	if opt.StatusReply == drivers.StateUnknown {
		opt.StatusReply = drivers.StateOnline
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Intake{sp: sp, opt: opt, log: opt.Logger, sem: make(chan struct{}, opt.MaxConnections)}
}

// Stats returns the counters.
func (in *Intake) Stats() Stats {
	return Stats{
		Connections: in.connections.Load(), Refused: in.refused.Load(), Jobs: in.jobs.Load(),
		Truncated: in.truncated.Load(), Bytes: in.bytes.Load(), StatusQueries: in.queries.Load(),
		StatusOnly: in.statusOnly.Load(), Empty: in.empty.Load(),
	}
}

// status returns printer's current status, with an unknown state replaced
// by the configured answer.
func (in *Intake) status(printer string) drivers.Status {
	var st drivers.Status
	if in.opt.Status != nil {
		if c := in.opt.Status(printer); c != nil {
			st = c.Get()
		}
	}
	if st.State == drivers.StateUnknown {
		st.State = in.opt.StatusReply
	}
	return st
}

func (in *Intake) cache(printer string) *drivers.StatusCache {
	if in.opt.Status == nil {
		return nil
	}
	return in.opt.Status(printer)
}

// Route returns the printer for an LPD queue name and whether the name
// matched one; an unknown queue goes to the first printer.
func (in *Intake) Route(queue string) (string, bool) {
	for _, p := range in.opt.Printers {
		if p == queue {
			return p, true
		}
	}
	if len(in.opt.Printers) > 0 {
		return in.opt.Printers[0], false
	}
	return queue, false
}

// refuse logs and counts a refusal.
func (in *Intake) refuse(proto, peer, reason string, args ...any) {
	in.refused.Add(1)
	in.log.Warn("intake: refused", append([]any{"proto", proto, "peer", peer, "reason", reason}, args...)...)
}

// serve is the accept loop shared by the raw and LPD listeners: it
// enforces MaxConnections and, when ctx is done, closes the listener and
// waits for every connection it started.
func (in *Intake) serve(ctx context.Context, ln net.Listener, proto string, handle func(context.Context, net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			in.log.Warn("intake: accept", "proto", proto, "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		select {
		case in.sem <- struct{}{}:
		default:
			in.refuse(proto, c.RemoteAddr().String(), "max_connections", "limit", in.opt.MaxConnections)
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-in.sem }()
			handle(ctx, c)
		}()
	}
}

// closeOnDone makes blocked reads and writes on c return when ctx is done.
func closeOnDone(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
