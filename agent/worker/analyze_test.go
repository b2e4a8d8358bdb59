package worker_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/drivertest"
)

// With the real rules, every labelled receipt prints byte-exact when it is
// not payable, and as the input plus one QR block at its splice offset when
// it is.
func TestLabelledReceiptsThroughTheWorker(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/receipts/*.bin")
	if len(files) < 20 {
		t.Fatalf("only %d labelled receipts", len(files))
	}
	q := newQueue()
	p := drivertest.New()
	qr := &qrSource{}
	an := worker.ReceiptAnalyzer(receipt.Options{})
	w := worker.New(worker.Config{Printer: "front", PaperDots: 576}, q,
		func(context.Context) (drivers.Printer, error) { return keepOpen{p}, nil }, qr, an, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		id := filepath.Base(f)
		before := p.Len()
		q.add(id, data, time.Now())
		res := q.wait(t, id)
		got := p.Bytes()[before:]
		rep := receipt.Analyze(data, receipt.Options{})
		if len(rep.QR) == 0 {
			if !bytes.Equal(got, data) {
				t.Errorf("%s: not payable but not printed byte-exact", id)
			}
			if res.QR != worker.QRNone {
				t.Errorf("%s: qr %q", id, res.QR)
			}
			continue
		}
		r := rep.Receipts[rep.QR[0]]
		block, err := escpos.QRBlock(escpos.QROptions{
			URL: "weixin://wxpay/bizpayurl?pr=" + id + "-" + itoa(r.Index), PaperDots: 576,
			AmountFen: *r.AmountFen, Encoding: rep.Encoding, State: r.Escpos.State,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := escpos.Splice(data, []escpos.Insertion{{Offset: *r.SpliceOffset, Block: block}})
		if !bytes.Equal(got, want) {
			t.Errorf("%s: payable receipt %d not printed as input + block at %d (qr %q: %s)", id, r.Index, *r.SpliceOffset, res.QR, res.QRReason)
		}
		if res.AmountFen == nil || *res.AmountFen != *r.AmountFen {
			t.Errorf("%s: recorded amount %v, want %d", id, res.AmountFen, *r.AmountFen)
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
