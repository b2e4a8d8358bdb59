package wechatpay_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/wechatpay"
)

// TestFlow runs an order's whole life through the official SDK against the
// sandbox in every signing mode, direct and partner.
func TestFlow(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: m.mode, partner: m.partner})
			ctx := context.Background()
			expire := time.Now().Add(15 * time.Minute)
			// '|' and '*' travel escaped in the path and are signed as sent.
			no := "PP|Flow*" + strings.ReplaceAll(m.name, "/", "")[:6]

			code := e.order(t, no, 15300, expire)
			if !strings.HasPrefix(code, "weixin://wxpay/bizpayurl?pr=") {
				t.Fatalf("code_url %q", code)
			}
			// Identical retry: same code_url.
			again, err := e.client.CreateNative(ctx, wechatpay.Order{
				OutTradeNo: no, Description: "测试商店-POS1-" + no, AmountFen: 15300, TimeExpire: expire, Attach: "dev1",
			})
			if err != nil || again != code {
				t.Fatalf("identical retry: %q, %v; want %q", again, err, code)
			}
			// Changed retry: OUT_TRADE_NO_USED.
			_, err = e.client.CreateNative(ctx, wechatpay.Order{
				OutTradeNo: no, Description: "测试商店-POS1-" + no, AmountFen: 15400, TimeExpire: expire, Attach: "dev1",
			})
			var ae *wechatpay.APIError
			if !errors.Is(err, wechatpay.ErrOutTradeNoUsed) || !errors.As(err, &ae) || ae.Status != 403 || ae.Code != "OUT_TRADE_NO_USED" {
				t.Fatalf("changed retry: %v", err)
			}
			// Query: still open.
			tx, err := e.client.Query(ctx, no)
			if err != nil || tx.TradeState != wechatpay.StateNotPay || !tx.Pending() || tx.AmountFen != 15300 {
				t.Fatalf("query open: %+v, %v", tx, err)
			}

			// The customer pays (the hook needs no body or headers).
			resp, err := http.Post(e.sbURL+"/sandbox/pay/"+strings.NewReplacer("|", "%7C", "*", "%2A").Replace(no), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			var pay sandbox.Payment
			_ = json.NewDecoder(resp.Body).Decode(&pay)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(pay.TransactionID) != 28 || !strings.HasPrefix(pay.TransactionID, "4200") {
				t.Fatalf("pay: %d %+v", resp.StatusCode, pay)
			}
			waitFor(t, e.store.paidCh, no)
			got, _ := e.store.isPaid(no)
			wantMch, wantSub := e.creds.MchID, e.creds.SubMchID
			if got.TransactionID != pay.TransactionID || got.AmountFen != 15300 || got.PayerTotalFen != 15300 ||
				got.MchID != wantMch || got.SubMchID != wantSub || got.AppID != e.creds.AppID || got.SuccessTime.IsZero() {
				t.Fatalf("paid transaction %+v, sandbox %+v", got, pay)
			}
			if _, off := got.SuccessTime.Zone(); off != 8*3600 {
				t.Errorf("success_time zone offset %d, want +08:00", off)
			}
			tx, err = e.client.Query(ctx, no)
			if err != nil || tx.TradeState != wechatpay.StateSuccess || !tx.Paid() || tx.TransactionID != pay.TransactionID {
				t.Fatalf("query paid: %+v, %v", tx, err)
			}
			if _, err := e.client.CreateNative(ctx, wechatpay.Order{OutTradeNo: no, Description: "测试商店-POS1-" + no, AmountFen: 15300, TimeExpire: expire, Attach: "dev1"}); !errors.Is(err, wechatpay.ErrOrderPaid) {
				t.Fatalf("order again after paying: %v", err)
			}
			if err := e.client.Close(ctx, no); !errors.Is(err, wechatpay.ErrOrderPaid) {
				t.Fatalf("close paid: %v", err)
			}

			// Refund part of it; the REFUND.SUCCESS notification follows.
			rf, err := e.client.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R" + pay.TransactionID[4:], RefundFen: 300, TotalFen: 15300, Reason: "退一个菜"})
			if err != nil || rf.Status != "PROCESSING" || rf.RefundFen != 300 || rf.TransactionID != pay.TransactionID {
				t.Fatalf("refund: %+v, %v", rf, err)
			}
			rf2, err := e.client.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R" + pay.TransactionID[4:], RefundFen: 300, TotalFen: 15300, Reason: "退一个菜"})
			if err != nil || rf2.RefundID != rf.RefundID {
				t.Fatalf("refund retry: %+v, %v", rf2, err)
			}
			waitFor(t, e.store.refundCh, rf.OutRefundNo)
			if q, err := e.client.QueryRefund(ctx, rf.OutRefundNo); err != nil || q.Status != "SUCCESS" {
				t.Fatalf("query refund: %+v, %v", q, err)
			}
			if _, err := e.client.Refund(ctx, wechatpay.RefundRequest{OutTradeNo: no, OutRefundNo: "R2" + pay.TransactionID[4:], RefundFen: 15100, TotalFen: 15300}); !errors.Is(err, wechatpay.ErrRejected) {
				t.Fatalf("refund beyond the total: %v", err)
			}

			// A second order is closed, and then cannot be ordered again.
			no2 := no + "C"
			e.order(t, no2, 100, time.Time{})
			if err := e.client.Close(ctx, no2); err != nil {
				t.Fatalf("close: %v", err)
			}
			if tx, err := e.client.Query(ctx, no2); err != nil || tx.TradeState != wechatpay.StateClosed || !tx.Failed() {
				t.Fatalf("query closed: %+v, %v", tx, err)
			}
			if _, err := e.client.CreateNative(ctx, wechatpay.Order{OutTradeNo: no2, Description: "测试商店-POS1-" + no2, AmountFen: 100, Attach: "dev1"}); !errors.Is(err, wechatpay.ErrOrderClosed) {
				t.Fatalf("order a closed out_trade_no: %v", err)
			}
			if _, err := e.sb.Pay(no2); !errors.Is(err, sandbox.ErrClosed) {
				t.Fatalf("pay closed: %v", err)
			}
			if _, err := e.client.Query(ctx, "NeverOrdered1"); !errors.Is(err, wechatpay.ErrOrderNotExist) {
				t.Fatalf("query unknown: %v", err)
			}
			e.flush(t)
			if n := e.store.calls(no); n != 1 {
				t.Errorf("MarkPaid called %d times", n)
			}
		})
	}
}

// TestTimeExpireBeijing: time_expire goes out in +08:00 whatever the
// caller's zone (the sandbox refuses "Z").
func TestTimeExpireBeijing(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
	exp := time.Now().UTC().Add(10 * time.Minute)
	e.order(t, "ExpireUTC1", 100, exp)
	resp, err := http.Get(e.sbURL + "/sandbox/orders")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 1 {
		t.Fatalf("orders: %v %v", list, err)
	}
	want := exp.In(wechatpay.Beijing).Truncate(time.Second).Format("2006-01-02T15:04:05+08:00")
	if got := list[0]["time_expire"]; got != want {
		t.Fatalf("time_expire sent as %v, want %s", got, want)
	}
}
