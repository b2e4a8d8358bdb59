package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/drivertest"
)

// slowMark is a queue whose Sending mark (a sync in the real spool) takes
// until release is closed, or fails.
type slowMark struct {
	*memQueue
	release chan struct{}
	fail    error
}

func (q *slowMark) Sending(id string, reprint int) error {
	<-q.release
	if q.fail != nil {
		return q.fail
	}
	return q.memQueue.Sending(id, reprint)
}

func runWorker(t *testing.T, q worker.Queue, p *drivertest.Recorder, analyze worker.Analyzer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := worker.New(worker.Config{RetryMin: 10 * time.Millisecond}, q,
		func(context.Context) (drivers.Printer, error) { return keepOpen{p}, nil }, &qrSource{}, analyze, nil)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// The Sending mark runs while the job is read and analysed, but the
// printer gets no byte before it is done: a crash after the first byte
// must find the job marked, so that it is reprinted as a reprint.
func TestNoByteBeforeSendingMark(t *testing.T) {
	q := &slowMark{memQueue: newQueue(), release: make(chan struct{})}
	p := drivertest.New()
	var analysed atomic.Int32
	runWorker(t, q, p, func(b []byte) worker.Analysis { analysed.Add(1); return analyze(b) })
	in := testReceipt("TEA 12.34\nTOTAL 12.34")
	q.add("j1", in, time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for analysed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if analysed.Load() == 0 {
		t.Fatal("the job was not analysed while its Sending mark was under way")
	}
	if n := len(p.Bytes()); n != 0 {
		t.Fatalf("the printer got %d bytes before the job was marked as sending", n)
	}
	close(q.release)
	q.wait(t, "j1")
	expectSpliced(t, in, p.Bytes(), 0, "weixin://wxpay/bizpayurl?pr=j1-0", 576)
}

// A job whose Sending mark fails is not printed and ends failed.
func TestSendingMarkFails(t *testing.T) {
	release := make(chan struct{})
	close(release)
	q := &slowMark{memQueue: newQueue(), release: release, fail: errors.New("disk gone")}
	p := drivertest.New()
	runWorker(t, q, p, analyze)
	q.add("j1", testReceipt("TEA 12.34\nCASH 20.00"), time.Now())
	select {
	case id := <-q.finished:
		q.mu.Lock()
		err := q.errs[id]
		q.mu.Unlock()
		if err == nil {
			t.Fatal("the job finished without error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the job did not finish")
	}
	if n := len(p.Bytes()); n != 0 {
		t.Fatalf("the printer got %d bytes of a job that could not be marked", n)
	}
}

// A job that ends at its cut is analysed once, at the cut, however many
// receipts arrived together; one whose last receipt has no cut is analysed
// again at its end.
func TestAnalysedOncePerCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want int32
	}{
		{"ends at the cut", testReceipt("TEA 12.34\nCASH 20.00"), 1},
		{"feeds after the cut", append(testReceipt("TEA 12.34\nCASH 20.00"), "\n\n\x1bd\x03"...), 1},
		{"two receipts in one read", append(testReceipt("A\nCASH 1.00"), testReceipt("B\nCASH 2.00")...), 1},
		{"no cut", []byte("\x1b@TEA 12.34\nTOTAL 12.34\n\n"), 1},
		{"text after the cut", append(testReceipt("TEA 12.34\nCASH 20.00"), "more\n"...), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueue()
			p := drivertest.New()
			var analysed atomic.Int32
			runWorker(t, q, p, func(b []byte) worker.Analysis { analysed.Add(1); return analyze(b) })
			q.add("j1", tc.in, time.Now())
			q.wait(t, "j1")
			if got := analysed.Load(); got != tc.want {
				t.Errorf("analysed %d times, want %d", got, tc.want)
			}
			if tc.name != "no cut" && !bytes.Equal(p.Bytes(), tc.in) {
				t.Errorf("printed bytes differ from the job")
			}
		})
	}
}

// A job resent after a printer error prints the code of its first attempt
// at once, without asking the source again.
func TestResendReusesQR(t *testing.T) {
	r := newRig(t, worker.Config{PaperDots: 576})
	in := testReceipt("TEA 12.34\nTOTAL 12.34")
	r.p.FailAfter(len(in)+100, fmt.Errorf("unplugged: %w", drivers.ErrOffline)) // inside the QR block
	r.q.add("j1", in, time.Now())
	time.Sleep(100 * time.Millisecond)
	r.p.Reconnect()
	res := r.q.wait(t, "j1")
	r.qr.mu.Lock()
	asked := len(r.qr.asked)
	r.qr.mu.Unlock()
	if asked != 1 {
		t.Fatalf("the source was asked %d times, want once", asked)
	}
	if res.Reprint != 1 || res.QR != worker.QRSpliced {
		t.Fatalf("reprint %d qr %q, want 1, spliced", res.Reprint, res.QR)
	}
	got := r.p.Bytes()
	first := len(in) + 100
	if len(got) < first {
		t.Fatalf("printed %d bytes", len(got))
	}
	expectSpliced(t, in, got[first:], 0, "weixin://wxpay/bizpayurl?pr=j1-0", 576)
}
