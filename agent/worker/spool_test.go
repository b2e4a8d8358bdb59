package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/drivertest"
	"printpay.dev/printpay/spool"
)

func spoolJob(t *testing.T, sp *spool.Spool, printer string, data []byte) string {
	t.Helper()
	w, err := sp.Create(printer, spool.Origin{Proto: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return w.ID()
}

func waitState(t *testing.T, sp *spool.Spool, id string, st spool.PrintState) spool.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := sp.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == st {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want %s", id, j.State, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Jobs in a real spool print in order, byte-exact, and end done with the
// analysis and the QR outcome in their result record.
func TestSpoolQueue(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	p := drivertest.New()
	qr := &qrSource{}
	w := worker.New(worker.Config{Printer: "front", PaperDots: 576}, worker.SpoolQueue(sp, "front"),
		func(context.Context) (drivers.Printer, error) { return keepOpen{p}, nil }, qr, analyze, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	plain := testReceipt("TEA 5.00\nCASH 5.00\nTOTAL 5.00")
	payable := testReceipt("TEA 12.34\nTOTAL 12.34")
	id1 := spoolJob(t, sp, "front", plain)
	id2 := spoolJob(t, sp, "front", payable)
	waitState(t, sp, id1, spool.Done)
	j2 := waitState(t, sp, id2, spool.Done)

	got := p.Bytes()
	if !bytes.HasPrefix(got, plain) {
		t.Fatal("the first job did not print first, byte-exact")
	}
	expectSpliced(t, payable, got[len(plain):], 0, "weixin://wxpay/bizpayurl?pr="+id2+"-0", 576)
	r := j2.Result
	if !r.Analyzed || !r.Payable || r.AmountFen != 1234 || r.QR != worker.QRSpliced || r.OutTradeNo == "" {
		t.Fatalf("result %+v", r)
	}
	var receipts []worker.ReceiptResult
	if err := json.Unmarshal(r.Receipts, &receipts); err != nil || len(receipts) != 1 || receipts[0].QR != worker.QRSpliced {
		t.Fatalf("receipts %s (%v)", r.Receipts, err)
	}
}
