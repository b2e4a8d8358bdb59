package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/spool"
)

// Raw serves raw (AppSocket) connections for one printer.
type Raw struct {
	in      *Intake
	printer string
}

// Raw returns the raw listener for printer.
func (in *Intake) Raw(printer string) *Raw { return &Raw{in: in, printer: printer} }

// Serve accepts connections on ln until ctx is done, then waits for the
// connections it started.
func (r *Raw) Serve(ctx context.Context, ln net.Listener) error {
	return r.in.serve(ctx, ln, "raw", func(ctx context.Context, c net.Conn) {
		r.in.connections.Add(1)
		r.ServeConn(ctx, c)
	})
}

// maxPrefix bounds the status-only bytes held before a job starts (they
// become the job's first bytes when one follows).
const maxPrefix = 64 << 10

// rawConn is the state of one raw connection.
type rawConn struct {
	r    *Raw
	in   *Intake
	c    net.Conn
	peer string
	log  *slog.Logger

	wmu    sync.Mutex // replies come from the reader and the ASB watcher
	asbOn  bool
	asbGo  bool
	asbCtx context.Context
	asbWG  sync.WaitGroup

	pending  []byte // bytes not yet tokenized (a command still arriving)
	prefix   []byte // status-only bytes before the job starts
	queries  int    // status queries on this connection
	w        *spool.Writer
	jobStart time.Time
	afterCut bool
	dead     bool // the connection must close (a refusal or a limit)
}

// ServeConn reads jobs from one connection until it closes or ctx is done.
// It closes c.
func (r *Raw) ServeConn(ctx context.Context, c net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.Close()
	stop := closeOnDone(ctx, c)
	defer stop()
	rc := &rawConn{r: r, in: r.in, c: c, peer: c.RemoteAddr().String(), asbCtx: ctx}
	rc.log = r.in.log.With("proto", "raw", "peer", rc.peer, "printer", r.printer)
	rc.run(ctx)
	cancel()
	c.Close()
	rc.asbWG.Wait()
}

func (rc *rawConn) run(ctx context.Context) {
	opt := rc.in.opt
	buf := make([]byte, 32<<10)
	total := 0
	for !rc.dead {
		now := time.Now()
		deadline := now.Add(opt.ConnIdle)
		if rc.w != nil {
			idle := opt.IdleTimeoutNoCut
			if rc.afterCut {
				idle = opt.IdleTimeout
			}
			deadline = now.Add(idle)
			if end := rc.jobStart.Add(opt.JobTimeout); end.Before(deadline) {
				deadline = end
			}
		}
		rc.c.SetReadDeadline(deadline)
		n, err := rc.c.Read(buf)
		total += n
		if n > 0 {
			rc.feed(buf[:n], false)
		}
		if err == nil {
			continue
		}
		switch {
		case ctx.Err() != nil:
			rc.abort("agent stopping")
		case isTimeout(err) && rc.w != nil && time.Since(rc.jobStart) >= opt.JobTimeout:
			id := rc.w.ID()
			rc.abort("job_timeout: still arriving after " + opt.JobTimeout.String())
			rc.in.refuse("raw", rc.peer, "job_timeout", "job", id)
			return
		case isTimeout(err) && rc.w != nil:
			// Silence after the job: it ends here; the connection stays open.
			rc.feed(nil, true)
			rc.commit("idle")
			continue
		case isTimeout(err):
			rc.log.Info("intake: idle connection closed", "idle", opt.ConnIdle)
		case errors.Is(err, io.EOF):
			rc.feed(nil, true)
			rc.commit("close")
		default:
			rc.abort("connection broken: " + err.Error())
		}
		break
	}
	if rc.w != nil {
		rc.abort("connection closed by the agent")
	}
	switch {
	case total == 0:
		rc.in.empty.Add(1)
	case rc.queries > 0 && len(rc.prefix) > 0:
		rc.in.statusOnly.Add(1)
		rc.log.Debug("intake: status-only connection", "queries", rc.queries)
	}
}

// feed tokenizes b (after what was pending) and acts on each token.
func (rc *rawConn) feed(b []byte, atEOF bool) {
	// Once a job has started, bytes are spooled as they arrive; tokens only
	// drive replies and the idle rule.
	if rc.w != nil && len(b) > 0 && !rc.write(b) {
		return
	}
	rc.pending = append(rc.pending, b...)
	i := 0
	for i < len(rc.pending) && !rc.dead {
		n, tok := escpos.Split(rc.pending[i:], atEOF)
		if n == 0 {
			break
		}
		tb := rc.pending[i : i+n]
		i += n
		if tok.Op == escpos.OpStatusQuery || tok.Op == escpos.OpRealtime {
			if rc.w == nil {
				if len(rc.prefix)+len(tb) > maxPrefix {
					// A connection that only polls, for hours: the polls
					// belong to no job, so the oldest are let go.
					rc.prefix = rc.prefix[:0]
				}
				rc.prefix = append(rc.prefix, tb...)
			}
			rc.answer(tb)
			continue
		}
		if rc.w == nil {
			// The first byte that is not a status query: a job starts, with
			// the queries before it and everything received so far.
			rc.start(rc.pending[i-n:])
			if rc.dead {
				return
			}
		}
		rc.track(tok)
	}
	if rc.dead {
		return
	}
	rest := copy(rc.pending, rc.pending[i:])
	rc.pending = rc.pending[:rest]
	if atEOF {
		rc.pending = rc.pending[:0]
	}
}

// track keeps the idle rule's "ends with a cut".
func (rc *rawConn) track(tok escpos.Token) {
	switch {
	case tok.Op == escpos.OpCut:
		rc.afterCut = true
	case tok.Op == escpos.OpDrawer || tok.Op == escpos.OpInit || tok.Op == escpos.OpFeed:
	case tok.Kind != escpos.KindText && tok.IsTail(), tok.Op == escpos.OpBlank:
	default:
		rc.afterCut = false
	}
}

// start creates the job and spools the status prefix and rest (the bytes
// received but not yet tokenized, which start at the current token).
func (rc *rawConn) start(rest []byte) {
	w, err := rc.in.sp.Create(rc.r.printer, spool.Origin{Proto: "raw", Peer: rc.peer})
	if err != nil {
		reason := "spool: " + err.Error()
		if errors.Is(err, spool.ErrFull) {
			reason = "spool full (min_free)"
		}
		rc.in.refuse("raw", rc.peer, reason, "printer", rc.r.printer)
		rc.dead = true
		return
	}
	rc.w = w
	rc.jobStart = time.Now()
	rc.afterCut = false
	rc.log.Debug("intake: job started", "job", w.ID())
	prefix := rc.prefix
	rc.prefix = nil
	if len(prefix) > 0 && !rc.write(prefix) {
		return
	}
	// rest covers the current token and every byte after it received so far.
	rc.write(rest)
}

// write spools b, enforcing MaxJobBytes.
func (rc *rawConn) write(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if max := rc.in.opt.MaxJobBytes; rc.w.Len()+int64(len(b)) > max {
		fit := max - rc.w.Len()
		if fit > 0 {
			rc.w.Write(b[:fit])
		}
		id := rc.w.ID()
		rc.abort(fmt.Sprintf("max_job_bytes (%d) exceeded", max))
		rc.in.refuse("raw", rc.peer, "max_job_bytes", "job", id, "limit", max)
		rc.dead = true
		return false
	}
	if _, err := rc.w.Write(b); err != nil {
		rc.abort(err.Error())
		rc.dead = true
		return false
	}
	rc.in.bytes.Add(uint64(len(b)))
	return true
}

func (rc *rawConn) commit(how string) {
	if rc.w == nil {
		return
	}
	w := rc.w
	rc.w = nil
	if err := w.Commit(); err != nil {
		rc.log.Error("intake: commit job", "job", w.ID(), "err", err)
		rc.dead = true
		return
	}
	rc.in.jobs.Add(1)
	rc.log.Info("intake: job received", "job", w.ID(), "bytes", w.Len(), "end", how)
	rc.prefix = nil
	rc.queries = 0
}

func (rc *rawConn) abort(reason string) {
	if rc.w == nil {
		return
	}
	w := rc.w
	rc.w = nil
	w.Abort(reason)
	rc.in.truncated.Add(1)
	rc.log.Warn("intake: job truncated", "job", w.ID(), "bytes", w.Len(), "reason", reason)
}

// answer replies to one status query.
func (rc *rawConn) answer(cmd []byte) {
	rc.queries++
	st := rc.in.status(rc.r.printer)
	reply, asb, on := statusReply(cmd, st)
	startWatch := false
	if asb {
		rc.wmu.Lock()
		rc.asbOn = on
		startWatch = on && !rc.asbGo
		rc.asbGo = rc.asbGo || on
		rc.wmu.Unlock()
	}
	if reply != nil {
		rc.in.queries.Add(1)
		rc.send(reply)
	}
	if startWatch {
		rc.asbWG.Add(1)
		go func() {
			defer rc.asbWG.Done()
			rc.watchASB(reply)
		}()
	}
}

func (rc *rawConn) send(b []byte) {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write(b); err != nil {
		rc.log.Debug("intake: status reply not delivered", "err", err)
	}
}

// watchASB sends an Automatic Status Back block at each status change
// while ASB is on, until the connection ends. last is the block already
// sent when ASB was turned on.
func (rc *rawConn) watchASB(last []byte) {
	cache := rc.in.cache(rc.r.printer)
	if cache == nil {
		return
	}
	for {
		ch := cache.Changed() // before reading the status, so no change is missed
		rc.wmu.Lock()
		on := rc.asbOn
		rc.wmu.Unlock()
		if b := asbBlock(rc.in.status(rc.r.printer)); on && string(b) != string(last) {
			last = b
			rc.send(b)
		}
		select {
		case <-ch:
		case <-rc.asbCtx.Done():
			return
		}
	}
}
