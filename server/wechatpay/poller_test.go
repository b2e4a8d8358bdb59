package wechatpay_test

import (
	"context"
	"testing"
	"time"

	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/wechatpay"
)

// TestPollerCatchesMissedNotification: WeChat never delivers; the poller
// finds the payment by query, and closes an order past its time_expire.
func TestPollerCatchesMissedNotification(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: m.mode, partner: m.partner})
			ctx := context.Background()
			start := time.Now()
			e.order(t, "Missed001", 2500, start.Add(15*time.Minute))
			e.order(t, "Expired01", 2600, start.Add(2*time.Minute))
			e.order(t, "Young0001", 2700, start.Add(15*time.Minute))
			e.sb.PlanNotify(sandbox.NotifyPlan{Drop: true})
			if _, err := e.sb.Pay("Missed001"); err != nil {
				t.Fatal(err)
			}
			e.flush(t)
			if _, ok := e.store.isPaid("Missed001"); ok {
				t.Fatal("paid without a notification")
			}
			// Young0001 is too young to query: move it forward in the store.
			e.store.mu.Lock()
			e.store.orders["Young0001"].CreatedAt = start.Add(4 * time.Minute)
			e.store.mu.Unlock()

			p := &wechatpay.Poller{Client: e.client, Orders: e.store, Late: time.Minute, Grace: time.Minute,
				Now: func() time.Time { return start.Add(4 * time.Minute) }}
			if err := p.PollOnce(ctx); err != nil {
				t.Fatal(err)
			}
			tx, ok := e.store.isPaid("Missed001")
			if !ok || tx.AmountFen != 2500 || tx.TransactionID == "" {
				t.Fatalf("missed payment not found by the poller: %+v", tx)
			}
			e.store.mu.Lock()
			closedExpired, closedYoung := e.store.closed["Expired01"], e.store.closed["Young0001"]
			e.store.mu.Unlock()
			if !closedExpired || closedYoung {
				t.Fatalf("closed: expired %t (want true), young %t (want false)", closedExpired, closedYoung)
			}
			if q, err := e.client.Query(ctx, "Expired01"); err != nil || q.TradeState != wechatpay.StateClosed {
				t.Fatalf("expired order in WeChat: %+v, %v", q, err)
			}
			if q, err := e.client.Query(ctx, "Young0001"); err != nil || q.TradeState != wechatpay.StateNotPay {
				t.Fatalf("young order in WeChat: %+v, %v", q, err)
			}
			// A second pass changes nothing.
			if err := p.PollOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if n := e.store.calls("Missed001"); n != 1 {
				t.Fatalf("MarkPaid %d times", n)
			}
		})
	}
}

// TestPollerRefusesMismatch: a query answer that disagrees with the record
// is not marked paid.
func TestPollerRefusesMismatch(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
	if _, err := e.client.CreateNative(context.Background(), wechatpay.Order{OutTradeNo: "PollMis01", Description: "d", AmountFen: 999}); err != nil {
		t.Fatal(err)
	}
	e.store.add(wechatpay.OrderRecord{OutTradeNo: "PollMis01", AmountFen: 998, CreatedAt: time.Now().Add(-time.Hour)})
	e.sb.PlanNotify(sandbox.NotifyPlan{Drop: true})
	if _, err := e.sb.Pay("PollMis01"); err != nil {
		t.Fatal(err)
	}
	p := &wechatpay.Poller{Client: e.client, Orders: e.store}
	if err := p.PollOnce(context.Background()); err == nil {
		t.Fatal("no error for a mismatching payment")
	}
	if e.store.calls("PollMis01") != 0 {
		t.Fatal("mismatching payment marked paid")
	}
}

// TestPollerRun stops with its context.
func TestPollerRun(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := &wechatpay.Poller{Client: e.client, Orders: e.store, Interval: time.Millisecond}
	go func() { done <- p.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
