package intake

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"time"

	"printpay.dev/printpay/spool"
)

// LPD serves RFC 1179 connections for every configured printer.
type LPD struct{ in *Intake }

// LPD returns the LPD listener.
func (in *Intake) LPD() *LPD { return &LPD{in: in} }

// Serve accepts connections on ln until ctx is done, then waits for the
// connections it started.
func (l *LPD) Serve(ctx context.Context, ln net.Listener) error {
	return l.in.serve(ctx, ln, "lpd", func(ctx context.Context, c net.Conn) {
		l.in.connections.Add(1)
		l.ServeConn(ctx, c)
	})
}

// maxControl bounds a control file.
const maxControl = 64 << 10

type lpdConn struct {
	in   *Intake
	c    net.Conn
	br   *bufio.Reader
	peer string
	log  *slog.Logger
}

// ServeConn serves one LPD connection and closes it.
func (l *LPD) ServeConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := closeOnDone(ctx, c)
	defer stop()
	lc := &lpdConn{in: l.in, c: c, br: bufio.NewReaderSize(c, 32<<10), peer: c.RemoteAddr().String()}
	lc.log = l.in.log.With("proto", "lpd", "peer", lc.peer)
	line, err := lc.readLine()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			lc.log.Warn("intake: lpd command not read", "err", err)
		} else {
			l.in.empty.Add(1)
		}
		return
	}
	cmd, err := ParseCommand(line)
	if err != nil {
		l.in.refuse("lpd", lc.peer, err.Error())
		lc.c.Write([]byte{1})
		return
	}
	switch cmd.Code {
	case CmdPrintWaiting:
		// Jobs print as they arrive; nothing waits for this.
	case CmdReceiveJob:
		lc.receive(ctx, cmd.Queue)
	case CmdQueueShort, CmdQueueLong:
		lc.queueState(cmd)
	case CmdRemoveJobs:
		lc.remove(cmd)
	}
}

// readLine reads one LF-terminated line within LPDIdle.
func (lc *lpdConn) readLine() ([]byte, error) {
	lc.c.SetReadDeadline(time.Now().Add(lc.in.opt.LPDIdle))
	var line []byte
	for {
		frag, err := lc.br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxLine+1 {
			return nil, badCommand("line longer than %d bytes", maxLine)
		}
		if err == nil {
			return line[:len(line)-1], nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

func (lc *lpdConn) ack(ok bool) error {
	b := byte(0)
	if !ok {
		b = 1
	}
	lc.c.SetWriteDeadline(time.Now().Add(lc.in.opt.LPDIdle))
	_, err := lc.c.Write([]byte{b})
	return err
}

// receive runs a receive-job session.
func (lc *lpdConn) receive(ctx context.Context, queue string) {
	printer, matched := lc.in.Route(queue)
	log := lc.log.With("queue", queue, "printer", printer)
	if !matched {
		log.Warn("intake: lpd queue matches no printer; using the first", "first", printer)
	}
	if lc.ack(true) != nil {
		return
	}
	origin := spool.Origin{Proto: "lpd", Peer: lc.peer, Queue: queue}
	var ids []string // jobs from this session, for a later control file or abort
	for {
		line, err := lc.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("intake: lpd session ended", "err", err)
			}
			return
		}
		sub, err := ParseSubcommand(line)
		if err != nil {
			lc.in.refuse("lpd", lc.peer, err.Error(), "queue", queue)
			lc.ack(false)
			return
		}
		switch sub.Code {
		case SubAbort:
			for _, id := range ids {
				if err := lc.in.sp.Cancel(id, "aborted by the LPD client"); err == nil {
					log.Info("intake: lpd job aborted by the client", "job", id)
				}
			}
			ids = nil
			if lc.ack(true) != nil {
				return
			}
		case SubControl:
			if sub.Count > maxControl {
				lc.in.refuse("lpd", lc.peer, "control file too big", "bytes", sub.Count)
				lc.ack(false)
				return
			}
			if lc.ack(true) != nil {
				return
			}
			data, err := lc.readFile(sub.Count, maxControl)
			if err != nil {
				log.Warn("intake: lpd control file not received", "err", err)
				return
			}
			cf := parseControl(data)
			origin.User, origin.Title = cf.user, cf.title
			if origin.Number == "" {
				origin.Number = jobNumber(sub.Name)
			}
			for _, id := range ids {
				lc.in.sp.SetOrigin(id, origin)
			}
			if sub.Count == 0 || lc.ack(true) != nil {
				return
			}
		case SubData:
			if origin.Number == "" {
				origin.Number = jobNumber(sub.Name)
			}
			id, ok := lc.data(ctx, printer, origin, sub, log)
			if id != "" {
				ids = append(ids, id)
			}
			if !ok {
				return
			}
		}
	}
}

// readFile reads a control file: count bytes and a NUL, or up to EOF
// when count is 0.
func (lc *lpdConn) readFile(count int64, limit int64) ([]byte, error) {
	r := &deadlineReader{c: lc.c, r: lc.br, idle: lc.in.opt.LPDIdle}
	if count == 0 {
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > limit {
			return nil, errors.New("control file too big")
		}
		return bytes.TrimSuffix(data, []byte{0}), nil
	}
	data := make([]byte, count+1)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, err
	}
	if data[count] != 0 {
		return nil, errors.New("control file not followed by NUL")
	}
	return data[:count], nil
}

// data receives one data file as one job. It reports the job's ID (when
// one was created) and whether the session may go on.
func (lc *lpdConn) data(ctx context.Context, printer string, origin spool.Origin, sub Subcommand, log *slog.Logger) (string, bool) {
	max := lc.in.opt.MaxJobBytes
	if sub.Count > max {
		lc.in.refuse("lpd", lc.peer, "max_job_bytes", "bytes", sub.Count, "limit", max)
		lc.ack(false)
		return "", false
	}
	w, err := lc.in.sp.Create(printer, origin)
	if err != nil {
		reason := "spool: " + err.Error()
		if errors.Is(err, spool.ErrFull) {
			reason = "spool full (min_free)"
		}
		lc.in.refuse("lpd", lc.peer, reason, "printer", printer)
		lc.ack(false)
		return "", false
	}
	log = log.With("job", w.ID())
	if lc.ack(true) != nil {
		w.Abort("lpd client went away")
		lc.in.truncated.Add(1)
		return w.ID(), false
	}
	start := time.Now()
	r := &deadlineReader{c: lc.c, r: lc.br, idle: lc.in.opt.LPDIdle, end: start.Add(lc.in.opt.JobTimeout)}
	fail := func(reason string) (string, bool) {
		w.Abort(reason)
		lc.in.truncated.Add(1)
		log.Warn("intake: lpd job truncated", "bytes", w.Len(), "reason", reason)
		return w.ID(), false
	}
	if sub.Count == 0 {
		// Until the sender closes; no NUL, no final ack.
		n, err := io.Copy(w, io.LimitReader(r, max+1))
		lc.in.bytes.Add(uint64(n))
		switch {
		case err != nil && ctx.Err() != nil:
			return fail("agent stopping")
		case err != nil:
			return fail("connection broken: " + err.Error())
		case n > max:
			lc.in.refuse("lpd", lc.peer, "max_job_bytes", "limit", max)
			return fail(fmt.Sprintf("max_job_bytes (%d) exceeded", max))
		}
		n = w.Len()
		if n == 0 {
			w.Discard() // nothing came: no job
			lc.in.empty.Add(1)
			return "", false
		}
		if err := w.Commit(); err != nil {
			log.Error("intake: commit lpd job", "err", err)
			return w.ID(), false
		}
		lc.in.jobs.Add(1)
		log.Info("intake: job received", "bytes", n, "end", "close")
		return w.ID(), false
	}
	n, err := io.CopyN(w, r, sub.Count)
	lc.in.bytes.Add(uint64(n))
	if err != nil {
		if ctx.Err() != nil {
			return fail("agent stopping")
		}
		if errors.Is(err, io.EOF) {
			return fail(fmt.Sprintf("connection closed after %d of %d bytes", n, sub.Count))
		}
		return fail("connection broken: " + err.Error())
	}
	var nul [1]byte
	if _, err := io.ReadFull(r, nul[:]); err != nil {
		return fail("data file not followed by NUL: " + err.Error())
	}
	if nul[0] != 0 {
		lc.ack(false)
		return fail(fmt.Sprintf("data file longer than its count %d", sub.Count))
	}
	if err := w.Commit(); err != nil {
		log.Error("intake: commit lpd job", "err", err)
		lc.ack(false)
		return w.ID(), false
	}
	lc.in.jobs.Add(1)
	log.Info("intake: job received", "bytes", n, "end", "count")
	return w.ID(), lc.ack(true) == nil
}

// deadlineReader sets a read deadline before every read: idle from now,
// but never past end.
type deadlineReader struct {
	c    net.Conn
	r    io.Reader
	idle time.Duration
	end  time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	dl := time.Now().Add(d.idle)
	if !d.end.IsZero() && d.end.Before(dl) {
		dl = d.end
	}
	d.c.SetReadDeadline(dl)
	return d.r.Read(p)
}

// queueState answers 03/04 with a text listing of the queue's unfinished
// jobs.
func (lc *lpdConn) queueState(cmd Command) {
	printer, _ := lc.in.Route(cmd.Queue)
	jobs := lc.in.sp.Queue(printer)
	var b bytes.Buffer
	if len(jobs) == 0 {
		fmt.Fprintf(&b, "%s: no entries\n", cmd.Queue)
	} else {
		fmt.Fprintf(&b, "%s: %d jobs\n", cmd.Queue, len(jobs))
		fmt.Fprintf(&b, "%-7s %-10s %-26s %-10s %s\n", "Rank", "Owner", "Job", "Size", "State")
		for i, j := range jobs {
			rank := rankName(i + 1)
			if j.State == spool.Sending {
				rank = "active"
			}
			owner := j.Origin.User
			if owner == "" {
				owner = j.Origin.Proto
			}
			fmt.Fprintf(&b, "%-7s %-10s %-26s %-10d %s", rank, owner, j.ID, j.Bytes, j.State)
			if cmd.Code == CmdQueueLong {
				fmt.Fprintf(&b, " %s %s", j.ReceivedAt.Format(time.RFC3339), j.Origin.Title)
			}
			b.WriteByte('\n')
		}
	}
	lc.c.SetWriteDeadline(time.Now().Add(lc.in.opt.LPDIdle))
	lc.c.Write(b.Bytes())
}

func rankName(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// remove cancels the queue's pending jobs that belong to the agent (root:
// any) and match the listed job numbers or IDs (none listed: all).
func (lc *lpdConn) remove(cmd Command) {
	printer, _ := lc.in.Route(cmd.Queue)
	agent, list := cmd.Operands[0], cmd.Operands[1:]
	for _, j := range lc.in.sp.Queue(printer) {
		if agent != "root" && j.Origin.User != agent {
			continue
		}
		if len(list) > 0 && !slices.Contains(list, j.Origin.Number) && !slices.Contains(list, j.ID) {
			continue
		}
		if err := lc.in.sp.Cancel(j.ID, "removed by LPD request from "+agent); err == nil {
			lc.log.Info("intake: lpd job removed", "job", j.ID, "agent", agent)
		}
	}
}
