package worker_test

import (
	"context"
	"testing"
	"time"

	"printpay.dev/printpay/agent/worker"
)

func TestParseLocalQR(t *testing.T) {
	for _, tc := range []struct {
		url     string
		ok      bool
		want    worker.LocalQR
		wantErr bool
	}{
		{"wss://pay.example.com/v1/agent", false, worker.LocalQR{}, false},
		{"local:", true, worker.LocalQR{}, false},
		{"local:fail", true, worker.LocalQR{Fail: true}, false},
		{"local:paid,stall=2s", true, worker.LocalQR{Paid: true, Stall: 2 * time.Second}, false},
		{"local:stall=soon", true, worker.LocalQR{}, true},
		{"local:bogus", true, worker.LocalQR{}, true},
	} {
		q, ok, err := worker.ParseLocalQR(tc.url)
		if ok != tc.ok || (err != nil) != tc.wantErr {
			t.Errorf("%q: ok %v err %v", tc.url, ok, err)
			continue
		}
		if ok && err == nil && *q != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.url, *q, tc.want)
		}
	}
}

func TestLocalQRAnswers(t *testing.T) {
	q := &worker.LocalQR{}
	r, err := q.QR(context.Background(), worker.QRRequest{JobID: "01jxyz", ReceiptIndex: 1})
	if err != nil || r.OutTradeNo != "L01JXYZ1" || r.CodeURL != "https://printpay.invalid/pay/L01JXYZ1" {
		t.Fatalf("%+v %v", r, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := (&worker.LocalQR{Stall: time.Hour}).QR(ctx, worker.QRRequest{}); err == nil {
		t.Fatal("a stalled source must give up with its caller")
	}
}
