package cloud_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"printpay.dev/printpay/agent/cloud"
	"printpay.dev/printpay/server/apiv1"
)

// The agent keeps one Client for its whole life: Run in its own goroutine,
// QR from the print workers under their budget, Upload after printing.
func ExampleClient() {
	token, err := cloud.ReadToken("/var/lib/printpay/token")
	if err != nil {
		return // no token: receipts print without QR
	}
	c, err := cloud.New(cloud.Config{
		URL:          "wss://pay.example.com/v1/agent",
		Token:        token,
		AgentVersion: "0.1.0",
		StateDir:     "/var/lib/printpay/cloud",
		OnPaid: func(p apiv1.OrderPaid) error {
			slog.Info("paid", "out_trade_no", p.OutTradeNo, "amount_fen", p.AmountFen)
			return nil
		},
		OnRules: func(version string, rules json.RawMessage) error { return nil },
	})
	if err != nil {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()

	if c.Ready() { // never wait for a link that is down
		qctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond) // qr_budget
		resp, err := c.QR(qctx, apiv1.QRRequest{JobID: "01J…", Printer: "front", AmountFen: 15300, OrderNo: "A1024"})
		cancel()
		if err == nil {
			_ = resp.CodeURL // splice it
		}
	}
	_ = c.Upload(apiv1.ReceiptUpload{JobID: "01J…", Printer: "front", PrintedAt: time.Now()})

	stop()
	<-done
}
