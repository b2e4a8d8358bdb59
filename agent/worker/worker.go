package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/drivers"
)

// Job is one spooled job as the worker sees it.
type Job struct {
	ID         string
	ReceivedAt time.Time
	Reprint    int // times the job was sent before (crash recovery, retries)
	// Open returns a reader over the job's bytes that follows a job still
	// being received: Read blocks for more bytes, returns io.EOF once the
	// job is complete, and another error when it was truncated.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Queue is one printer's spool as the worker uses it.
type Queue interface {
	// Next blocks until the printer's next job (FIFO) is ready to print.
	Next(ctx context.Context) (Job, error)
	// Sending marks the job as being sent to the printer.
	Sending(id string, reprint int) error
	// Record stores what is known of the job so far (for /api/jobs).
	Record(id string, r Result) error
	// Finish ends the job: done when printErr is nil, failed otherwise.
	Finish(id string, r Result, printErr error) error
}

// QRRequest asks for the payment QR of one receipt.
type QRRequest struct {
	Printer      string
	JobID        string
	ReceiptIndex int
	AmountFen    int64
	Currency     string
	OrderNo      string
	Receipt      Receipt
}

// QRResponse is the server's answer.
type QRResponse struct {
	OutTradeNo string
	CodeURL    string
	ExpiresAt  time.Time
	Paid       bool // the bill is already paid: print the paid line instead
}

// QRSource hands out payment QR codes.
type QRSource interface {
	// Ready reports whether asking can succeed now (link up, token
	// present). When it is false the worker does not wait at all.
	Ready() bool
	// QR asks for the receipt's code. It must honour ctx.
	QR(ctx context.Context, req QRRequest) (QRResponse, error)
}

// Receipt is one receipt of a job as analysed: what the rules decided and
// where a block could go.
type Receipt struct {
	Index        int
	CutOffset    int // -1 when the receipt has no cut
	Payable      bool
	AmountFen    int64
	AmountKnown  bool
	Currency     string
	OrderNo      string
	Reason       string
	Lines        []string
	Items        []Item
	SpliceOffset int // -1 when no block can go in
	SpliceReason string
	State        escpos.State
}

// Item is one line item of a receipt.
type Item struct {
	Name      string `json:"name"`
	Qty       string `json:"qty"`
	AmountFen int64  `json:"amount_fen"`
}

// Analysis is what an Analyzer reads in a job (or a prefix of one that ends
// at a cut).
type Analysis struct {
	Encoding string
	Receipts []Receipt
}

// Analyzer reads a job. It is injected so the worker does not depend on the
// rule engine's packaging; the agent wires agent/receipt into it.
type Analyzer func(data []byte) Analysis

// Result is what /api/jobs shows of a job.
type Result struct {
	Encoding   string
	Payable    *bool
	AmountFen  *int64
	OrderNo    *string
	Reason     string
	OutTradeNo string
	CodeURL    string
	// QR is "" until the outcome is final, then one of spliced, paid-line,
	// none, timeout, late, error.
	QR       string
	QRReason string
	Reprint  int
	Receipts []ReceiptResult
	// Latency is from the job's end (its last byte read from the spool) to
	// its last byte accepted by the printer; 0 until the job is printed.
	Latency time.Duration
}

// ReceiptResult is one receipt's part of a Result.
type ReceiptResult struct {
	Index        int      `json:"index"`
	Payable      bool     `json:"payable"`
	AmountFen    *int64   `json:"amount_fen"`
	Currency     string   `json:"currency,omitempty"`
	OrderNo      string   `json:"order_no,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	CutOffset    int      `json:"cut_offset"`
	SpliceOffset int      `json:"splice_offset"`
	QR           string   `json:"qr,omitempty"`
	QRReason     string   `json:"qr_reason,omitempty"`
	OutTradeNo   string   `json:"out_trade_no,omitempty"`
	CodeURL      string   `json:"code_url,omitempty"`
	Block        string   `json:"block,omitempty"` // what was spliced: "qr" or "paid", for Printed
	Items        []Item   `json:"items,omitempty"`
	Lines        []string `json:"lines,omitempty"`

	awaiting bool // the budget ran out; the request is still under way
}

// QR outcomes.
const (
	QRSpliced  = "spliced"
	QRPaidLine = "paid-line"
	QRNone     = "none"
	QRTimeout  = "timeout"
	QRLate     = "late"
	QRError    = "error"
)

// Config is one printer's printing policy.
type Config struct {
	Printer    string
	QRBudget   time.Duration // from a receipt's cut to giving up on its QR; default 1500ms
	QRMaxAge   time.Duration // jobs older than this print without asking; default 5m
	QRMode     string        // raster (default) | native | off
	QRCopies   string        // first (default) | all
	PaperDots  int           // default 576
	ModuleSize int           // 0 = fit to the paper
	AppendCut  []byte        // written after a job that has no cut; nil = off
	PaidNotice string        // slip (default) | beep | off
	Cut        []byte        // the profile's cut, for paid slips; default GS V 66 0
	Buzzer     []byte        // the profile's buzzer command, for paid_notice = "beep"
	LateWait   time.Duration // how long an answer after the budget is still awaited; default 30s
	// Cache is the printer's status cache: status queries of the POS that
	// are forwarded to the printer are announced to it, so it can read the
	// printer's one-byte answers. nil = none.
	Cache    *drivers.StatusCache
	RetryMin time.Duration // printer retry backoff; default 500ms
	RetryMax time.Duration // default 30s
}

func (c Config) withDefaults() Config {
	if c.QRBudget <= 0 {
		c.QRBudget = 1500 * time.Millisecond
	}
	if c.QRMaxAge <= 0 {
		c.QRMaxAge = 5 * time.Minute
	}
	if c.QRMode == "" || c.QRMode == "auto" {
		c.QRMode = "raster"
	}
	if c.QRCopies == "" {
		c.QRCopies = "first"
	}
	if c.PaperDots <= 0 {
		c.PaperDots = 576
	}
	if c.LateWait <= 0 {
		c.LateWait = 30 * time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 500 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 30 * time.Second
	}
	return c
}

// Opener opens the printer; the worker calls it again after a failure.
type Opener func(ctx context.Context) (drivers.Printer, error)

// Worker prints one printer's queue. Create it with New and run it with Run.
type Worker struct {
	cfg     Config
	q       Queue
	open    Opener
	qr      QRSource
	analyze Analyzer
	log     *slog.Logger
	now     func() time.Time

	p       drivers.Printer
	late    sync.WaitGroup // answers still awaited after their budget
	notices chan Notice
	wake    chan struct{}
}

// New returns a worker. qr may be nil (no QR at all).
func New(cfg Config, q Queue, open Opener, qr QRSource, analyze Analyzer, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{
		cfg: cfg.withDefaults(), q: q, open: open, qr: qr, analyze: analyze,
		log: log.With("printer", cfg.Printer), now: time.Now,
		notices: make(chan Notice, 64), wake: make(chan struct{}, 1),
	}
}

// errJob marks failures of the job itself (unreadable), which retrying the
// printer cannot fix.
type jobError struct{ err error }

func (e jobError) Error() string { return e.err.Error() }
func (e jobError) Unwrap() error { return e.err }

// Run prints jobs until ctx is done. It returns nil on cancellation, after
// every goroutine it started has ended.
func (w *Worker) Run(ctx context.Context) error {
	defer func() {
		w.late.Wait()
		w.closePrinter()
	}()
	delay := w.cfg.RetryMin
	for {
		w.drainNotices(ctx)
		job, ok, err := w.next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && !ok {
			continue // a paid notice arrived
		}
		if err != nil {
			w.log.Error("worker: next job", "err", err)
			if !sleep(ctx, delay) {
				return nil
			}
			delay = min(2*delay, w.cfg.RetryMax)
			continue
		}
		delay = w.cfg.RetryMin
		w.printWithRetry(ctx, job)
	}
}

func (w *Worker) printWithRetry(ctx context.Context, job Job) {
	delay := w.cfg.RetryMin
	log := w.log.With("job", job.ID)
	codes := map[int]QRResponse{} // answers already had, by receipt, reused when the job is resent
	for {
		res, wrote, err := w.printJob(ctx, job, codes)
		if err == nil {
			if ferr := w.q.Finish(job.ID, res, nil); ferr != nil {
				log.Error("worker: finish job", "err", ferr)
			}
			return
		}
		if ctx.Err() != nil {
			return // still sending: recovery resends it whole
		}
		var je jobError
		if errors.As(err, &je) {
			log.Error("worker: job cannot be printed", "err", err)
			if ferr := w.q.Finish(job.ID, res, err); ferr != nil {
				log.Error("worker: finish job", "err", ferr)
			}
			return
		}
		log.Warn("worker: printer error; job kept first in the queue", "err", err, "retry_in", delay)
		w.closePrinter()
		if wrote {
			job.Reprint++
		}
		if !sleep(ctx, delay) {
			return
		}
		delay = min(2*delay, w.cfg.RetryMax)
	}
}

func (w *Worker) printer(ctx context.Context) (drivers.Printer, error) {
	if w.p != nil {
		return w.p, nil
	}
	p, err := w.open(ctx)
	if err != nil {
		return nil, err
	}
	w.p = p
	return p, nil
}

func (w *Worker) closePrinter() {
	if w.p != nil {
		w.p.Close()
		w.p = nil
	}
}

// stream is the state of one job being printed.
type stream struct {
	job      Job
	p        drivers.Printer
	buf      []byte
	tokPos   int // next byte to tokenize
	written  int // bytes of buf the printer has
	hold     int // start of held-back bytes, -1 when none
	wroteAny bool
	hasCut   bool
	content  bool // something printable came since the last cut
	placed   bool // a receipt of this job already asked for its QR
	res      *shared

	mark    chan error // the Sending mark's outcome; nil once received
	markErr error

	analysis   Analysis // of buf[:analyzedTo]
	analyzedTo int

	// codes holds the answers of earlier attempts at this job: a resend
	// after a printer error prints the same code at once, without asking
	// (and perhaps waiting) again.
	codes map[int]QRResponse
}

// marked waits for the job's Sending mark and returns its error.
func (s *stream) marked() error {
	if s.mark != nil {
		if err := <-s.mark; err != nil {
			s.markErr = jobError{fmt.Errorf("worker: mark sending: %w", err)}
		}
		s.mark = nil
	}
	return s.markErr
}

// shared is a Result that a late QR answer may still update.
type shared struct {
	mu  sync.Mutex
	res Result
}

func (s *stream) flush(upto int) error {
	if upto <= s.written {
		return nil
	}
	if err := s.write(s.buf[s.written:upto]); err != nil {
		return err
	}
	s.written = upto
	return nil
}

func (s *stream) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if err := s.marked(); err != nil {
		return err
	}
	n, err := s.p.Write(b)
	if n > 0 {
		s.wroteAny = true
	}
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// holdable tells the tokens that may still end up after a QR block: feeds
// and state setters (the receipt's tail), ESC @ and status queries.
func holdable(t escpos.Token) bool {
	return t.IsTail() || t.Op == escpos.OpInit || t.Op == escpos.OpStatusQuery
}

func (w *Worker) printJob(ctx context.Context, job Job, codes map[int]QRResponse) (Result, bool, error) {
	sh := &shared{res: Result{Reprint: job.Reprint}}
	snapshot := func() Result {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		return cloneResult(sh.res)
	}
	p, err := w.printer(ctx)
	if err != nil {
		return snapshot(), false, err
	}
	// Marking the job as sending is durable (a sync), so it runs while the
	// job is read and analysed; the printer gets no byte before it is done.
	mark := make(chan error, 1)
	go func() { mark <- w.q.Sending(job.ID, job.Reprint) }()
	s := &stream{job: job, p: p, hold: -1, res: sh, mark: mark, codes: codes}
	defer s.marked() // the mark has ended before the attempt does
	rc, err := job.Open(ctx)
	if err != nil {
		return snapshot(), false, jobError{fmt.Errorf("worker: open job: %w", err)}
	}
	defer rc.Close()
	stop := context.AfterFunc(ctx, func() { rc.Close() }) // unblock a Read on shutdown
	defer stop()
	if jp, ok := p.(drivers.JobPrinter); ok {
		if err := jp.BeginJob(job.ID); err != nil {
			return snapshot(), false, err
		}
	}
	chunk := make([]byte, 64<<10)
	var truncated error
	for {
		n, rerr := rc.Read(chunk)
		s.buf = append(s.buf, chunk[:n]...)
		atEOF := rerr != nil
		for s.tokPos < len(s.buf) {
			n, tok := escpos.Split(s.buf[s.tokPos:], atEOF)
			if n == 0 {
				break
			}
			off := s.tokPos
			s.tokPos += n
			switch {
			case tok.Op == escpos.OpCut:
				s.hasCut, s.content = true, false
				if err := w.endReceipt(ctx, s, off, off+n); err != nil {
					return snapshot(), s.wroteAny, err
				}
				s.hold = -1
			case holdable(tok):
				if s.hold < 0 {
					s.hold = off
				}
				if tok.Op == escpos.OpStatusQuery && w.cfg.Cache != nil {
					if q := drivers.QueryOf(s.buf[off : off+n]); q != drivers.QueryNone {
						w.cfg.Cache.Expect(q)
					}
				}
			default:
				s.hold, s.content = -1, true
			}
		}
		upto := s.tokPos
		if s.hold >= 0 {
			upto = s.hold
		}
		if !atEOF {
			if err := s.flush(upto); err != nil {
				return snapshot(), s.wroteAny, err
			}
			continue
		}
		if rerr != io.EOF {
			truncated = rerr
		}
		break
	}
	if ctx.Err() != nil {
		return snapshot(), s.wroteAny, ctx.Err()
	}
	jobEnd := w.now()
	if err := w.endJob(ctx, s, truncated); err != nil {
		return snapshot(), s.wroteAny, err
	}
	if err := s.marked(); err != nil { // a job that wrote nothing
		return snapshot(), false, err
	}
	if jp, ok := p.(drivers.JobPrinter); ok {
		if err := jp.EndJob(); err != nil {
			return snapshot(), s.wroteAny, err
		}
	}
	sh.mu.Lock()
	sh.res.Latency = w.now().Sub(jobEnd)
	sh.mu.Unlock()
	return snapshot(), s.wroteAny, nil
}

// endReceipt handles a receipt that ends with the cut at [cutOff, cutEnd).
func (w *Worker) endReceipt(ctx context.Context, s *stream, cutOff, cutEnd int) error {
	cutAt := w.now()
	r := w.receiptAt(s, cutOff, cutEnd)
	if r == nil {
		// A cut that ends no receipt of its own (nothing printed since the
		// previous cut) belongs to the receipt before it.
		return s.flush(cutEnd)
	}
	if err := w.placeBlock(ctx, s, r, cutAt); err != nil {
		return err
	}
	return s.flush(cutEnd)
}

// receiptAt returns the receipt that ends with the cut at [cutOff, cutEnd),
// nil when the cut ends no receipt of its own. One analysis of everything
// read so far serves every cut in it: a job of many receipts that arrives
// at once is read once, not once per cut. (A receipt's reading does not
// depend on the bytes after its cut.)
func (w *Worker) receiptAt(s *stream, cutOff, cutEnd int) *Receipt {
	if cutEnd > s.analyzedTo {
		s.analysis = w.analyze(s.buf)
		s.analyzedTo = len(s.buf)
		s.setEncoding(s.analysis.Encoding)
	}
	for i := range s.analysis.Receipts {
		if s.analysis.Receipts[i].CutOffset == cutOff {
			return &s.analysis.Receipts[i]
		}
	}
	return nil
}

// endJob handles the end of the job: the last receipt when it has no cut,
// then everything still held.
func (w *Worker) endJob(ctx context.Context, s *stream, truncated error) error {
	if truncated != nil {
		w.log.Warn("worker: job truncated; printing what arrived without a QR", "job", s.job.ID, "err", truncated)
	}
	// Only a receipt without a cut is left to decide. When nothing printable
	// came after the last cut, the analysis made there stands.
	var a Analysis
	if s.content || !s.hasCut {
		a = w.analyze(s.buf)
		s.setEncoding(a.Encoding)
	}
	if n := len(a.Receipts); n > 0 && a.Receipts[n-1].CutOffset < 0 && s.content {
		r := &a.Receipts[n-1]
		if truncated != nil {
			s.addReceipt(receiptResult(r, QRNone, "the job was truncated: its sender went away before the end"))
		} else if err := w.placeBlock(ctx, s, r, w.now()); err != nil {
			return err
		}
	}
	if err := s.flush(len(s.buf)); err != nil {
		return err
	}
	if !s.hasCut && len(w.cfg.AppendCut) > 0 && len(s.buf) > 0 {
		if err := s.write(w.cfg.AppendCut); err != nil {
			return err
		}
	}
	s.finishResult()
	return nil
}

// placeBlock decides the receipt's QR and writes the body up to the splice
// point followed by the block, leaving the tail to the caller.
func (w *Worker) placeBlock(ctx context.Context, s *stream, r *Receipt, cutAt time.Time) error {
	outcome, reason, block, resp, wait := w.decide(ctx, s, r, cutAt)
	rr := receiptResult(r, outcome, reason)
	rr.OutTradeNo, rr.CodeURL = resp.OutTradeNo, resp.CodeURL
	switch outcome {
	case QRSpliced:
		rr.Block = "qr"
	case QRPaidLine:
		rr.Block = "paid"
	}
	if block != nil {
		if r.SpliceOffset < s.written {
			rr.QR, rr.QRReason, rr.Block = QRNone, "the splice point had already gone to the printer", ""
			block = nil
		} else {
			if err := s.flush(r.SpliceOffset); err != nil {
				return err
			}
			if err := s.write(block); err != nil {
				return err
			}
		}
	}
	rr.awaiting = wait != nil
	idx := s.addReceipt(rr)
	if wait != nil {
		w.awaitLate(s, idx, wait)
	}
	return nil
}

type answer struct {
	resp QRResponse
	err  error
}

// decide returns the receipt's QR outcome and its block. When the budget
// ran out while the request is still under way, wait delivers its answer.
func (w *Worker) decide(ctx context.Context, s *stream, r *Receipt, cutAt time.Time) (outcome, reason string, block []byte, resp QRResponse, wait <-chan answer) {
	switch {
	case !r.Payable:
		return QRNone, r.Reason, nil, resp, nil
	case w.cfg.QRMode == "off":
		return QRNone, "QR is off for this printer", nil, resp, nil
	case s.placed && w.cfg.QRCopies != "all":
		return QRNone, "an earlier copy in this job already asked for the QR", nil, resp, nil
	case r.SpliceOffset < 0:
		return QRNone, r.SpliceReason, nil, resp, nil
	case w.qr == nil:
		return QRNone, "no server configured", nil, resp, nil
	case !w.qr.Ready():
		return QRNone, "the server link is down", nil, resp, nil
	case w.now().Sub(s.job.ReceivedAt) > w.cfg.QRMaxAge:
		return QRNone, fmt.Sprintf("the job is older than qr_max_age (%s)", w.cfg.QRMaxAge), nil, resp, nil
	}
	s.placed = true // one request per job unless qr_copies = "all"
	if resp, ok := s.codes[r.Index]; ok {
		ch := make(chan answer, 1)
		ch <- answer{resp: resp}
		return w.decideAnswer(s, r, ch)
	}

	req := QRRequest{
		Printer: w.cfg.Printer, JobID: s.job.ID, ReceiptIndex: r.Index,
		AmountFen: r.AmountFen, Currency: r.Currency, OrderNo: r.OrderNo, Receipt: *r,
	}
	if req.Currency == "" {
		req.Currency = "CNY"
	}
	ch := make(chan answer, 1)
	answered := make(chan struct{})
	reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.QRBudget+w.cfg.LateWait)
	go func() {
		defer cancel()
		resp, err := w.qr.QR(reqCtx, req)
		ch <- answer{resp, err}
		close(answered)
	}()
	budget := time.NewTimer(w.cfg.QRBudget - w.now().Sub(cutAt))
	defer budget.Stop()
	select {
	case <-answered:
		return w.decideAnswer(s, r, ch)
	case <-budget.C:
		select {
		case <-answered: // answered just as the budget ran out
			return w.decideAnswer(s, r, ch)
		default:
		}
		return QRTimeout, fmt.Sprintf("no QR within qr_budget (%s)", w.cfg.QRBudget), nil, resp, ch
	case <-ctx.Done():
		return QRNone, "the agent is stopping", nil, resp, nil
	}
}

// decideAnswer turns the answer waiting in ch into the receipt's outcome.
func (w *Worker) decideAnswer(s *stream, r *Receipt, ch chan answer) (outcome, reason string, block []byte, resp QRResponse, wait <-chan answer) {
	a := <-ch
	if a.err != nil {
		return QRError, a.err.Error(), nil, resp, nil
	}
	if s.codes != nil && (a.resp.CodeURL != "" || a.resp.Paid) {
		s.codes[r.Index] = a.resp
	}
	b, err := w.block(s, r, a.resp)
	if err != nil {
		return QRError, err.Error(), nil, a.resp, nil
	}
	if a.resp.Paid {
		return QRPaidLine, "the bill is already paid", b, a.resp, nil
	}
	return QRSpliced, "", b, a.resp, nil
}

func (w *Worker) block(s *stream, r *Receipt, resp QRResponse) ([]byte, error) {
	enc := s.res.res.Encoding
	if resp.Paid {
		return escpos.PaidBlock(r.AmountFen, enc, r.State), nil
	}
	if resp.CodeURL == "" {
		return nil, errors.New("worker: the server sent no code_url")
	}
	return escpos.QRBlock(escpos.QROptions{
		URL: resp.CodeURL, Mode: w.cfg.QRMode, PaperDots: w.cfg.PaperDots,
		ModuleSize: w.cfg.ModuleSize, AmountFen: r.AmountFen, Encoding: enc, State: r.State,
	})
}

// awaitLate keeps the receipt's outcome open until the request that missed
// its budget answers: "late" when a code still came, "timeout" otherwise.
func (w *Worker) awaitLate(s *stream, idx int, wait <-chan answer) {
	sh, id := s.res, s.job.ID
	w.late.Add(1)
	go func() {
		defer w.late.Done()
		a := <-wait
		sh.mu.Lock()
		rr := &sh.res.Receipts[idx]
		if a.err == nil && a.resp.CodeURL != "" {
			rr.QR, rr.QRReason, rr.OutTradeNo = QRLate, "the QR came after qr_budget; the receipt printed without it", a.resp.OutTradeNo
		} else {
			rr.QR = QRTimeout
		}
		rr.awaiting = false
		summarize(&sh.res)
		res := cloneResult(sh.res)
		sh.mu.Unlock()
		if err := w.q.Record(id, res); err != nil {
			w.log.Error("worker: record late QR outcome", "job", id, "err", err)
		}
	}()
}

func receiptResult(r *Receipt, outcome, reason string) ReceiptResult {
	rr := ReceiptResult{
		Index: r.Index, Payable: r.Payable, Currency: r.Currency, OrderNo: r.OrderNo, Reason: r.Reason,
		CutOffset: r.CutOffset, SpliceOffset: r.SpliceOffset, QR: outcome, QRReason: reason,
		Items: r.Items, Lines: r.Lines,
	}
	if r.AmountKnown {
		a := r.AmountFen
		rr.AmountFen = &a
	}
	return rr
}

func (s *stream) setEncoding(enc string) {
	s.res.mu.Lock()
	s.res.res.Encoding = enc
	s.res.mu.Unlock()
}

func (s *stream) addReceipt(rr ReceiptResult) int {
	s.res.mu.Lock()
	defer s.res.mu.Unlock()
	s.res.res.Receipts = append(s.res.res.Receipts, rr)
	return len(s.res.res.Receipts) - 1
}

func (s *stream) finishResult() {
	s.res.mu.Lock()
	defer s.res.mu.Unlock()
	summarize(&s.res.res)
}

// summarize fills the job-level fields from the receipt that carries (or
// was to carry) the QR: the first payable one, else the first. The job's QR
// outcome stays "" while a late answer is awaited.
func summarize(r *Result) {
	if len(r.Receipts) == 0 {
		f := false
		r.Payable, r.QR, r.QRReason, r.Reason = &f, QRNone, "the job holds no receipt", "the job holds no receipt"
		return
	}
	pick := &r.Receipts[0]
	for i := range r.Receipts {
		if r.Receipts[i].Payable {
			pick = &r.Receipts[i]
			break
		}
	}
	for i := range r.Receipts {
		if q := r.Receipts[i].QR; q == QRSpliced || q == QRPaidLine || q == QRLate {
			pick = &r.Receipts[i]
			break
		}
	}
	payable := pick.Payable
	r.Payable, r.AmountFen, r.Reason = &payable, pick.AmountFen, pick.Reason
	if pick.OrderNo != "" {
		o := pick.OrderNo
		r.OrderNo = &o
	}
	r.OutTradeNo = pick.OutTradeNo
	r.QR, r.QRReason = pick.QR, pick.QRReason
	if pick.awaiting {
		r.QR = "" // final once the late answer is in
	}
}

func cloneResult(r Result) Result {
	c := r
	c.Receipts = append([]ReceiptResult(nil), r.Receipts...)
	return c
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
