package wechatpay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/wechatpay"
)

func statuses(ds []sandbox.Delivery, no string) (out []int) {
	for _, d := range ds {
		if d.OutTradeNo == no && d.EventType == "TRANSACTION.SUCCESS" {
			out = append(out, d.Status)
		}
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNotifications(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: m.mode, partner: m.partner})

			t.Run("duplicates applied once", func(t *testing.T) {
				e.order(t, "Dup000001", 500, time.Time{})
				e.sb.PlanNotify(sandbox.NotifyPlan{Duplicates: 3})
				if _, err := e.sb.Pay("Dup000001"); err != nil {
					t.Fatal(err)
				}
				e.flush(t)
				if got := statuses(e.sb.Deliveries(), "Dup000001"); !equalInts(got, []int{204, 204, 204, 204}) {
					t.Fatalf("deliveries %v", got)
				}
				if n := e.store.calls("Dup000001"); n != 1 {
					t.Fatalf("MarkPaid called %d times, want 1", n)
				}
			})

			t.Run("probe and forged rejected, then the real one", func(t *testing.T) {
				e.order(t, "Probe0001", 700, time.Time{})
				e.sb.PlanNotify(sandbox.NotifyPlan{Probe: true, Forged: 1})
				if _, err := e.sb.Pay("Probe0001"); err != nil {
					t.Fatal(err)
				}
				e.flush(t)
				if got := statuses(e.sb.Deliveries(), "Probe0001"); !equalInts(got, []int{401, 401, 204}) {
					t.Fatalf("deliveries %v, want probe 401, forged 401, valid 204", got)
				}
				if _, ok := e.store.isPaid("Probe0001"); !ok {
					t.Fatal("not paid after the valid delivery")
				}
			})

			t.Run("skewed never accepted", func(t *testing.T) {
				e.order(t, "Skew00001", 800, time.Time{})
				e.sb.PlanNotify(sandbox.NotifyPlan{Skew: -6 * time.Minute})
				if _, err := e.sb.Pay("Skew00001"); err != nil {
					t.Fatal(err)
				}
				e.flush(t)
				if got := statuses(e.sb.Deliveries(), "Skew00001"); !equalInts(got, []int{401, 401, 401, 401}) {
					t.Fatalf("deliveries %v, want every attempt refused", got)
				}
				if _, ok := e.store.isPaid("Skew00001"); ok || e.store.calls("Skew00001") != 0 {
					t.Fatal("a stale notification marked the order paid")
				}
			})

			t.Run("wrong apiv3 key not accepted", func(t *testing.T) {
				e.order(t, "WrongKey1", 900, time.Time{})
				e.sb.PlanNotify(sandbox.NotifyPlan{WrongKey: true})
				if _, err := e.sb.Pay("WrongKey1"); err != nil {
					t.Fatal(err)
				}
				e.flush(t)
				for _, s := range statuses(e.sb.Deliveries(), "WrongKey1") {
					if s == 200 || s == 204 {
						t.Fatalf("undecryptable notification acked: %v", statuses(e.sb.Deliveries(), "WrongKey1"))
					}
				}
				if e.store.calls("WrongKey1") != 0 {
					t.Fatal("marked paid")
				}
			})

			t.Run("replay acked but applied once", func(t *testing.T) {
				e.order(t, "Replay001", 1000, time.Time{})
				if _, err := e.sb.Pay("Replay001"); err != nil {
					t.Fatal(err)
				}
				e.flush(t)
				var captured *sandbox.Delivery
				for _, d := range e.sb.Deliveries() {
					if d.OutTradeNo == "Replay001" && d.Acked {
						captured = &d
					}
				}
				if captured == nil {
					t.Fatal("no acked delivery")
				}
				req, _ := http.NewRequest(http.MethodPost, e.notify, bytes.NewReader(captured.Body))
				req.Header = captured.Header.Clone()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 204 || e.store.calls("Replay001") != 1 {
					t.Fatalf("replay: %d, MarkPaid %d times", resp.StatusCode, e.store.calls("Replay001"))
				}
				// The same bytes with the body changed no longer verify.
				tampered := bytes.Replace(captured.Body, []byte(`"TRANSACTION.SUCCESS"`), []byte(`"TRANSACTION.SUCCESS" `), 1)
				req, _ = http.NewRequest(http.MethodPost, e.notify, bytes.NewReader(tampered))
				req.Header = captured.Header.Clone()
				resp, err = http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 401 {
					t.Fatalf("tampered replay answered %d", resp.StatusCode)
				}
			})

			t.Run("amount mismatch rejected", func(t *testing.T) {
				if _, err := e.client.CreateNative(context.Background(), wechatpay.Order{OutTradeNo: "Mismatch1", Description: "d", AmountFen: 1200}); err != nil {
					t.Fatal(err)
				}
				// The server's record says 1100: a notification for 1200 must not count.
				e.store.add(wechatpay.OrderRecord{OutTradeNo: "Mismatch1", AmountFen: 1100, CreatedAt: time.Now()})
				if _, err := e.sb.Pay("Mismatch1"); err != nil {
					t.Fatal(err)
				}
				e.flush(t)
				for _, s := range statuses(e.sb.Deliveries(), "Mismatch1") {
					if s != 400 {
						t.Fatalf("mismatching notification answered %d", s)
					}
				}
				if e.store.calls("Mismatch1") != 0 {
					t.Fatal("mismatching notification marked paid")
				}
			})

			t.Run("unknown order rejected", func(t *testing.T) {
				if _, err := e.client.CreateNative(context.Background(), wechatpay.Order{OutTradeNo: "Unknown01", Description: "d", AmountFen: 1}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.sb.Pay("Unknown01"); err != nil {
					t.Fatal(err)
				}
				e.flush(t)
				for _, s := range statuses(e.sb.Deliveries(), "Unknown01") {
					if s != 404 {
						t.Fatalf("unknown-order notification answered %d", s)
					}
				}
			})

			t.Run("store failure makes WeChat deliver again", func(t *testing.T) {
				e.order(t, "StoreFail", 300, time.Time{})
				e.store.mu.Lock()
				e.store.failPaid = errors.New("disk full")
				e.store.mu.Unlock()
				if _, err := e.sb.Pay("StoreFail"); err != nil {
					t.Fatal(err)
				}
				// Let the first attempt fail, then heal the store.
				deadline := time.Now().Add(5 * time.Second)
				for len(statuses(e.sb.Deliveries(), "StoreFail")) == 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				e.store.mu.Lock()
				e.store.failPaid = nil
				e.store.mu.Unlock()
				e.flush(t)
				got := statuses(e.sb.Deliveries(), "StoreFail")
				if len(got) < 2 || got[0] != 500 || got[len(got)-1] != 204 {
					t.Fatalf("deliveries %v, want 500 first and 204 last", got)
				}
				if _, ok := e.store.isPaid("StoreFail"); !ok {
					t.Fatal("not paid after the retry")
				}
			})
		})
	}
}

// TestMigratingNeedsBothKeys: while WeChat migrates, notifications come
// signed by either key; a handler holding only the public key refuses the
// certificate-signed ones, one holding both accepts all.
func TestMigratingNeedsBothKeys(t *testing.T) {
	no, yes := false, true
	e := newEnv(t, envOpts{mode: sandbox.ModeMigrating, pubKey: &yes, certs: &no})
	for i := range 16 {
		noN := "Mig0000" + string(rune('A'+i))
		e.order(t, noN, 100, time.Time{})
		if _, err := e.sb.Pay(noN); err != nil {
			t.Fatal(err)
		}
	}
	e.flush(t)
	var certSigned, refused int
	for _, d := range e.sb.Deliveries() {
		if d.Header.Get("Wechatpay-Serial") == e.creds.PlatformCertSerial {
			certSigned++
			if d.Status != 401 {
				t.Fatalf("certificate-signed notification answered %d by a public-key-only handler", d.Status)
			}
			refused++
		} else if d.Status != 204 {
			t.Fatalf("public-key-signed notification answered %d", d.Status)
		}
	}
	if certSigned == 0 {
		t.Skip("the random split signed nothing with the certificate this time")
	}
	t.Logf("%d certificate-signed deliveries refused", refused)
}
