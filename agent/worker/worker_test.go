package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/drivertest"
)

// memQueue is a spool that lives in memory: jobs go in through add and come
// out once, in order.
type memQueue struct {
	jobs chan worker.Job

	mu       sync.Mutex
	results  map[string]worker.Result
	sending  map[string]int // id -> times marked sending
	finished chan string
	errs     map[string]error
}

func newQueue() *memQueue {
	return &memQueue{
		jobs: make(chan worker.Job, 100), results: map[string]worker.Result{},
		sending: map[string]int{}, finished: make(chan string, 100), errs: map[string]error{},
	}
}

func (q *memQueue) add(id string, data []byte, received time.Time) {
	q.jobs <- worker.Job{ID: id, ReceivedAt: received, Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

func (q *memQueue) Next(ctx context.Context) (worker.Job, error) {
	select {
	case j := <-q.jobs:
		return j, nil
	case <-ctx.Done():
		return worker.Job{}, ctx.Err()
	}
}

func (q *memQueue) Sending(id string, reprint int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sending[id]++
	return nil
}

func (q *memQueue) Record(id string, r worker.Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.results[id] = r
	return nil
}

func (q *memQueue) Finish(id string, r worker.Result, err error) error {
	q.mu.Lock()
	q.results[id] = r
	q.errs[id] = err
	q.mu.Unlock()
	q.finished <- id
	return nil
}

func (q *memQueue) result(id string) worker.Result {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.results[id]
}

func (q *memQueue) wait(t *testing.T, id string) worker.Result {
	t.Helper()
	select {
	case got := <-q.finished:
		if got != id {
			t.Fatalf("finished %s, want %s", got, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("job %s never finished", id)
	}
	return q.result(id)
}

// qrSource answers with a URL per job and receipt, or fails, stalls or
// says paid on demand.
type qrSource struct {
	mu    sync.Mutex
	down  bool
	fail  error
	stall time.Duration
	paid  bool
	asked []worker.QRRequest
}

func (s *qrSource) Ready() bool { s.mu.Lock(); defer s.mu.Unlock(); return !s.down }

func (s *qrSource) QR(ctx context.Context, req worker.QRRequest) (worker.QRResponse, error) {
	s.mu.Lock()
	s.asked = append(s.asked, req)
	fail, stall, paid := s.fail, s.stall, s.paid
	s.mu.Unlock()
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-ctx.Done():
			return worker.QRResponse{}, ctx.Err()
		}
	}
	if fail != nil {
		return worker.QRResponse{}, fail
	}
	return worker.QRResponse{
		OutTradeNo: fmt.Sprintf("T%s%d", req.JobID, req.ReceiptIndex),
		CodeURL:    fmt.Sprintf("weixin://wxpay/bizpayurl?pr=%s-%d", req.JobID, req.ReceiptIndex),
		Paid:       paid,
	}, nil
}

var totalRE = regexp.MustCompile(`TOTAL\s+(\d+)\.(\d\d)`)

// analyze stands in for the rule engine: a receipt is payable when it has a
// "TOTAL n.nn" line and does not say CASH.
func analyze(data []byte) worker.Analysis {
	job := escpos.Scan(data, escpos.Options{})
	a := worker.Analysis{Encoding: job.Encoding}
	for _, r := range job.Receipts {
		wr := worker.Receipt{Index: r.Index, CutOffset: r.CutOffset, SpliceOffset: r.SpliceOffset,
			SpliceReason: r.SpliceReason, State: r.State, Reason: "no total"}
		text := ""
		for _, l := range r.Lines {
			wr.Lines = append(wr.Lines, l.Text)
			text += l.Text + "\n"
		}
		if m := totalRE.FindStringSubmatch(text); m != nil && !strings.Contains(text, "CASH") {
			yuan, _ := strconv.ParseInt(m[1], 10, 64)
			fen, _ := strconv.ParseInt(m[2], 10, 64)
			wr.Payable, wr.AmountKnown, wr.AmountFen, wr.Currency, wr.Reason = true, true, yuan*100+fen, "CNY", "amount due from TOTAL"
		}
		a.Receipts = append(a.Receipts, wr)
	}
	return a
}

func testReceipt(body string) []byte {
	return []byte("\x1b@\x1ba\x01SHOP\n\x1ba\x00" + body + "\n\n\n\x1dVA\x00")
}

// keepOpen lets the worker close and reopen the same recorder.
type keepOpen struct{ *drivertest.Recorder }

func (keepOpen) Close() error { return nil }

type rig struct {
	w   *worker.Worker
	q   *memQueue
	p   *drivertest.Recorder
	qr  *qrSource
	cfg worker.Config
	ctx context.Context
}

func newRig(t *testing.T, cfg worker.Config) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{q: newQueue(), p: drivertest.New(), qr: &qrSource{}, cfg: cfg, ctx: ctx}
	if r.cfg.QRBudget == 0 {
		r.cfg.QRBudget = 3 * time.Second // tests of the budget itself set their own
	}
	if r.cfg.LateWait == 0 {
		r.cfg.LateWait = 2 * time.Second
	}
	r.cfg.RetryMin, r.cfg.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	w := worker.New(r.cfg, r.q, func(context.Context) (drivers.Printer, error) { return keepOpen{r.p}, nil }, r.qr, analyze, nil)
	r.w = w
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

// expectSpliced checks that out is in plus exactly one QR block at the
// receipt's splice offset, for the given URL.
func expectSpliced(t *testing.T, in, out []byte, idx int, url string, paperDots int) {
	t.Helper()
	job := escpos.Scan(in, escpos.Options{})
	r := job.Receipts[idx]
	block, err := escpos.QRBlock(escpos.QROptions{URL: url, PaperDots: paperDots, AmountFen: 1234, Encoding: job.Encoding, State: r.State})
	if err != nil {
		t.Fatal(err)
	}
	want := escpos.Splice(in, []escpos.Insertion{{Offset: r.SpliceOffset, Block: block}})
	if !bytes.Equal(out, want) {
		t.Fatalf("printed %d bytes, want input (%d) + block (%d) at %d", len(out), len(in), len(block), r.SpliceOffset)
	}
}

func TestNotPayableIsByteExact(t *testing.T) {
	r := newRig(t, worker.Config{})
	in := testReceipt("TEA 12.34\nCASH 20.00\nTOTAL 12.34")
	r.q.add("j1", in, time.Now())
	res := r.q.wait(t, "j1")
	if !bytes.Equal(r.p.Bytes(), in) {
		t.Fatalf("printed bytes differ from the job")
	}
	if res.QR != worker.QRNone || *res.Payable {
		t.Fatalf("qr %q payable %v, want none/false", res.QR, *res.Payable)
	}
	if len(r.qr.asked) != 0 {
		t.Fatalf("asked for a QR on a receipt that is not payable")
	}
}

func TestPayableGetsOneBlockAtSplicePoint(t *testing.T) {
	r := newRig(t, worker.Config{PaperDots: 576})
	in := append(testReceipt("TEA 12.34\nTOTAL 12.34"), "\x1bp\x00\x19\xfa"...) // drawer kick after the cut stays after it
	r.q.add("j2", in, time.Now())
	res := r.q.wait(t, "j2")
	expectSpliced(t, in, r.p.Bytes(), 0, "weixin://wxpay/bizpayurl?pr=j2-0", 576)
	if res.QR != worker.QRSpliced || res.OutTradeNo != "Tj20" || *res.AmountFen != 1234 {
		t.Fatalf("result %+v", res)
	}
}

func TestNoCutSplicesAtEnd(t *testing.T) {
	r := newRig(t, worker.Config{PaperDots: 576})
	in := []byte("\x1b@TOTAL 12.34\n\n\n")
	r.q.add("j3", in, time.Now())
	res := r.q.wait(t, "j3")
	if res.QR != worker.QRSpliced {
		t.Fatalf("qr %q (%s), want spliced", res.QR, res.QRReason)
	}
	expectSpliced(t, in, r.p.Bytes(), 0, "weixin://wxpay/bizpayurl?pr=j3-0", 576)
}

func TestStallingSourcePrintsWithinBudget(t *testing.T) {
	budget := 300 * time.Millisecond
	r := newRig(t, worker.Config{QRBudget: budget, LateWait: 500 * time.Millisecond})
	r.qr.stall = 5 * time.Second
	in := testReceipt("TOTAL 12.34")
	start := time.Now()
	r.q.add("j4", in, start)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !r.p.WaitLen(ctx, len(in)) {
		t.Fatal("the receipt never printed")
	}
	// The behaviour is the budget: printed within qr_budget + 100 ms.
	if el := time.Since(start); el > budget+100*time.Millisecond {
		t.Fatalf("printed after %v, budget %v", el, budget)
	}
	if !bytes.Equal(r.p.Bytes(), in) {
		t.Fatal("a receipt without QR must print byte-exact")
	}
	res := r.q.wait(t, "j4")
	if res.QR != "" {
		t.Fatalf("qr = %q while the answer is still awaited; want null until final", res.QR)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.q.result("j4").QR == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.q.result("j4"); got.QR != worker.QRTimeout {
		t.Fatalf("final qr %q, want timeout", got.QR)
	}
}

func TestLateAnswerIsRecordedLate(t *testing.T) {
	r := newRig(t, worker.Config{QRBudget: 100 * time.Millisecond, LateWait: 3 * time.Second})
	r.qr.stall = 400 * time.Millisecond
	in := testReceipt("TOTAL 12.34")
	r.q.add("j5", in, time.Now())
	r.q.wait(t, "j5")
	deadline := time.Now().Add(5 * time.Second)
	for r.q.result("j5").QR == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.q.result("j5"); got.QR != worker.QRLate || got.OutTradeNo != "Tj50" {
		t.Fatalf("result %+v, want late with the order", got)
	}
	if !bytes.Equal(r.p.Bytes(), in) {
		t.Fatal("a late QR must not change the printed bytes")
	}
}

func TestNoWaitWhenDownOrOld(t *testing.T) {
	for _, tc := range []struct {
		name     string
		down     bool
		received time.Time
		reason   string
	}{
		{"link down", true, time.Now(), "link is down"},
		{"job too old", false, time.Now().Add(-time.Hour), "qr_max_age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, worker.Config{QRBudget: 5 * time.Second})
			r.qr.down = tc.down
			in := testReceipt("TOTAL 12.34")
			start := time.Now()
			r.q.add("j", in, tc.received)
			res := r.q.wait(t, "j")
			if time.Since(start) > 2*time.Second {
				t.Fatalf("waited %v", time.Since(start))
			}
			if res.QR != worker.QRNone || !strings.Contains(res.QRReason, tc.reason) {
				t.Fatalf("qr %q reason %q", res.QR, res.QRReason)
			}
			if !bytes.Equal(r.p.Bytes(), in) {
				t.Fatal("not byte-exact")
			}
		})
	}
}

func TestSourceErrorPrintsWithoutQR(t *testing.T) {
	r := newRig(t, worker.Config{})
	r.qr.fail = errors.New("amount_cap: above the merchant's cap")
	in := testReceipt("TOTAL 12.34")
	r.q.add("j6", in, time.Now())
	res := r.q.wait(t, "j6")
	if res.QR != worker.QRError || !strings.Contains(res.QRReason, "amount_cap") {
		t.Fatalf("qr %q reason %q", res.QR, res.QRReason)
	}
	if !bytes.Equal(r.p.Bytes(), in) {
		t.Fatal("not byte-exact")
	}
}

func TestPaidReprintGetsPaidLine(t *testing.T) {
	r := newRig(t, worker.Config{})
	r.qr.paid = true
	in := testReceipt("TOTAL 12.34")
	r.q.add("j7", in, time.Now())
	res := r.q.wait(t, "j7")
	if res.QR != worker.QRPaidLine {
		t.Fatalf("qr %q", res.QR)
	}
	job := escpos.Scan(in, escpos.Options{})
	rc := job.Receipts[0]
	want := escpos.Splice(in, []escpos.Insertion{{Offset: rc.SpliceOffset, Block: escpos.PaidBlock(1234, job.Encoding, rc.State)}})
	if !bytes.Equal(r.p.Bytes(), want) {
		t.Fatal("want the input plus the paid line at the splice point")
	}
}

func TestCopies(t *testing.T) {
	in := append(testReceipt("TOTAL 12.34"), testReceipt("TOTAL 12.34")...)
	for _, tc := range []struct {
		copies string
		asks   int
	}{{"first", 1}, {"all", 2}} {
		t.Run(tc.copies, func(t *testing.T) {
			r := newRig(t, worker.Config{QRCopies: tc.copies})
			r.q.add("j8", in, time.Now())
			res := r.q.wait(t, "j8")
			if len(r.qr.asked) != tc.asks {
				t.Fatalf("asked %d times, want %d", len(r.qr.asked), tc.asks)
			}
			if len(res.Receipts) != 2 || res.Receipts[0].QR != worker.QRSpliced {
				t.Fatalf("receipts %+v", res.Receipts)
			}
			if tc.copies == "first" && res.Receipts[1].QR != worker.QRNone {
				t.Fatalf("second copy qr %q", res.Receipts[1].QR)
			}
		})
	}
}

// A job still being received flows to the printer before it ends; only the
// possible tail is held back.
func TestStreamsBeforeTheJobEnds(t *testing.T) {
	r := newRig(t, worker.Config{})
	pr, pw := io.Pipe()
	r.q.jobs <- worker.Job{ID: "j9", ReceivedAt: time.Now(), Open: func(context.Context) (io.ReadCloser, error) { return pr, nil }}
	head := []byte("\x1b@ITEM ONE 1.00\nITEM TWO 2.00\n")
	tail := []byte("\n\n")
	go pw.Write(append(append([]byte{}, head...), tail...))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	body := head[:len(head)-1] // the last LF may still turn out to be part of the tail
	if !r.p.WaitLen(ctx, len(body)) {
		t.Fatal("the body did not flow before the job ended")
	}
	time.Sleep(50 * time.Millisecond)
	if got := r.p.Bytes(); !bytes.Equal(got, body) {
		t.Fatalf("printed %q; want the body without its held-back feeds", got)
	}
	pw.Write([]byte("TOTAL 3.00\n\n\n\x1dVA\x00"))
	pw.Close()
	r.q.wait(t, "j9")
	if !bytes.HasPrefix(r.p.Bytes(), head) || r.qr.asked == nil {
		t.Fatal("the receipt was not completed with a QR")
	}
}

// A printer that fails mid-job gets the whole job again once it is back,
// counted as a reprint; later jobs wait their turn.
func TestPrinterFailureResendsWholeJob(t *testing.T) {
	r := newRig(t, worker.Config{QRMode: "off"})
	r.p.FailAfter(10, fmt.Errorf("unplugged: %w", drivers.ErrOffline))
	a := testReceipt("FIRST 1.00")
	b := testReceipt("SECOND 2.00")
	r.q.add("ja", a, time.Now())
	r.q.add("jb", b, time.Now())
	time.Sleep(100 * time.Millisecond)
	r.p.Reconnect()
	resA := r.q.wait(t, "ja")
	r.q.wait(t, "jb")
	got := r.p.Bytes()
	want := append(append(append([]byte{}, a[:10]...), a...), b...)
	if !bytes.Equal(got, want) {
		t.Fatalf("printed %q\nwant %q", got, want)
	}
	if resA.Reprint != 1 {
		t.Fatalf("reprint = %d, want 1", resA.Reprint)
	}
}

func TestPaidNotice(t *testing.T) {
	for _, tc := range []struct {
		notice string
		want   []byte
	}{
		{worker.NoticeSlip, worker.PaidSlip(worker.Notice{JobID: "jp", AmountFen: 15300, OrderNo: "A1024", Encoding: "gb18030"}, nil)},
		{worker.NoticeBeep, []byte("\x1b(A\x04\x00\x30\x01\x03\x01")},
		{worker.NoticeOff, nil},
	} {
		t.Run(tc.notice, func(t *testing.T) {
			r := newRig(t, worker.Config{PaidNotice: tc.notice, Buzzer: []byte("\x1b(A\x04\x00\x30\x01\x03\x01")})
			r.q.add("j0", testReceipt("TEA 1.00"), time.Now()) // the worker is idle in Next after this
			r.q.wait(t, "j0")
			before := r.p.Len()
			r.p.Reconnect()
			// Notify wakes the worker out of Next.
			r.w.Notify(worker.Notice{JobID: "jp", AmountFen: 15300, OrderNo: "A1024", Encoding: "gb18030"})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if tc.want == nil {
				time.Sleep(100 * time.Millisecond)
				if r.p.Len() != before {
					t.Fatal("paid_notice = off printed something")
				}
				return
			}
			if !r.p.WaitLen(ctx, before+len(tc.want)) {
				t.Fatal("the paid notice never printed")
			}
			if got := r.p.Bytes()[before:]; !bytes.Equal(got, tc.want) {
				t.Fatalf("printed %q, want %q", got, tc.want)
			}
			if tc.notice == worker.NoticeSlip {
				var last drivertest.Job
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					jobs := r.p.Jobs()
					if last = jobs[len(jobs)-1]; last.Ended {
						break
					}
				}
				if last.ID != drivers.PaidSlipID("jp") || !last.Ended {
					t.Fatalf("slip printed as job %q (ended %v)", last.ID, last.Ended)
				}
			}
		})
	}
}

func TestPaidSlipText(t *testing.T) {
	slip := worker.PaidSlip(worker.Notice{AmountFen: 15300, OrderNo: "A1024", Encoding: "gb18030"}, nil)
	job := escpos.Scan(slip, escpos.Options{Encoding: "gb18030"})
	var lines []string
	for _, r := range job.Receipts {
		for _, l := range r.Lines {
			if l.Text != "" {
				lines = append(lines, l.Text)
			}
		}
	}
	if got := strings.Join(lines, "|"); got != "已支付 ￥153.00|单号 A1024" {
		t.Fatalf("slip reads %q", got)
	}
}
