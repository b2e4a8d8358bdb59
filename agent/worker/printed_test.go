package worker_test

import (
	"bytes"
	"testing"
	"time"

	"printpay.dev/printpay/agent/worker"
)

// Printed rebuilds exactly the bytes the printer got, for spliced QR codes,
// paid lines and receipts left alone.
func TestPrintedRebuildsWhatWasPrinted(t *testing.T) {
	for _, tc := range []struct {
		name string
		paid bool
		job  []byte
	}{
		{"qr", false, testReceipt("TEA 12.34\nTOTAL 12.34")},
		{"paid line", true, testReceipt("TEA 12.34\nTOTAL 12.34")},
		{"two copies", false, append(testReceipt("TOTAL 12.34"), testReceipt("TOTAL 12.34")...)},
		{"not payable", false, testReceipt("TOTAL 12.34\nCASH 20.00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := worker.Config{PaperDots: 384, QRCopies: "all"}
			r := newRig(t, cfg)
			r.qr.paid = tc.paid
			r.q.add("jp", tc.job, time.Now())
			res := r.q.wait(t, "jp")
			got, err := worker.Printed(tc.job, res, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, r.p.Bytes()) {
				t.Fatalf("rebuilt %d bytes, printer got %d", len(got), len(r.p.Bytes()))
			}
		})
	}
}
