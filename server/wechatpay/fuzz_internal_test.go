package wechatpay

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
)

// memOrders is a minimal Orders for the fuzz target.
type memOrders struct {
	mu    sync.Mutex
	rec   OrderRecord
	paid  []Transaction
	calls int
}

func (m *memOrders) Lookup(_ context.Context, no string) (OrderRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if no != m.rec.OutTradeNo {
		return OrderRecord{}, ErrOrderNotExist
	}
	return m.rec, nil
}

func (m *memOrders) MarkPaid(_ context.Context, t Transaction) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if !m.rec.Paid {
		m.rec.Paid = true
		m.paid = append(m.paid, t)
	}
	return nil
}

// FuzzNotify fuzzes the notification handler's parsing: the raw body's shape
// check, and what follows a successful verification and decryption (the
// transaction and refund resources, the event types, matching against the
// order). Signing and decryption are left to TestNotifySignedSeeds: RSA under
// fuzzing instrumentation manages about one execution a second. Nothing may
// panic; a payment counts only when it matches the order exactly, and at
// most once.
func FuzzNotify(f *testing.F) {
	f.Add([]byte(`{"id":"EV-1","resource":{"algorithm":"AEAD_AES_256_GCM"}}`), "TRANSACTION.SUCCESS", "transaction",
		[]byte(`{"appid":"wx01","mchid":"1900000001","out_trade_no":"FuzzOrder1","transaction_id":"4200000000000000000000000001","trade_state":"SUCCESS","success_time":"2026-11-26T10:00:00+08:00","amount":{"total":100,"payer_total":100,"currency":"CNY"}}`))
	f.Add([]byte(`{}`), "TRANSACTION.SUCCESS", "transaction",
		[]byte(`{"sp_appid":"wx01","sp_mchid":"1900000001","sub_mchid":"1900000002","out_trade_no":"FuzzOrder1","trade_state":"SUCCESS","amount":{"total":100}}`))
	f.Add([]byte(`{"resource":null}`), "REFUND.SUCCESS", "refund",
		[]byte(`{"mchid":"1900000001","out_trade_no":"FuzzOrder1","out_refund_no":"R1","refund_status":"SUCCESS","amount":{"total":100,"refund":1}}`))
	f.Add([]byte(`not json`), "TRANSACTION.SUCCESS", "transaction", []byte(`{"out_trade_no":"FuzzOrder1","trade_state":"SUCCESS","success_time":"soon"}`))
	c := &Client{cfg: Config{AppID: "wx01", MchID: "1900000001"}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, body []byte, event, origType string, plain []byte) {
		if err := checkShape(body); err == nil && len(body) < 2 {
			t.Fatalf("shape accepted %q", body)
		}
		orders := &memOrders{rec: OrderRecord{OutTradeNo: "FuzzOrder1", AmountFen: 100}}
		h := NewNotifyHandler(c, orders)
		refunds := 0
		h.OnRefund = func(context.Context, RefundNotice) error {
			refunds++
			if refunds%2 == 0 {
				return errors.New("store down")
			}
			return nil
		}
		for range 2 { // a duplicate delivery
			if nerr := h.dispatch(context.Background(), c.log, event, origType, plain); nerr != nil && (nerr.status < 400 || nerr.status > 599) {
				t.Fatalf("status %d", nerr.status)
			}
		}
		if orders.calls > 1 {
			t.Fatalf("MarkPaid %d times", orders.calls)
		}
		for _, tx := range orders.paid {
			if tx.AmountFen != 100 || tx.MchID != "1900000001" || tx.SubMchID != "" || tx.OutTradeNo != "FuzzOrder1" ||
				tx.TradeState != StateSuccess || (tx.AppID != "" && tx.AppID != "wx01") || (tx.Currency != "" && tx.Currency != "CNY") {
				t.Fatalf("paid with a mismatching transaction %+v", tx)
			}
		}
	})
}

// TestCheckShape: what reaches the SDK's parser.
func TestCheckShape(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"resource":{}}`, true},
		{`{}`, false},
		{`{"resource":null}`, false},
		{`{"resource":"x"}`, false},
		{`[]`, false},
		{``, false},
	} {
		if err := checkShape([]byte(c.body)); (err == nil) != c.ok {
			t.Errorf("checkShape(%q) = %v", c.body, err)
		}
	}
}
