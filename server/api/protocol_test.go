package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/oklog/ulid/v2"

	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/wechatpay"
)

func TestEnrollment(t *testing.T) {
	n := startNode(t, nodeOpts{})
	n.addFake(t, "m1", newFakePay(), 0)
	er, code := n.enroll(t, "m1")
	if !strings.HasPrefix(er.DeviceID, "dev_") || er.Token == "" || er.ServerURL != "ws"+strings.TrimPrefix(n.url, "http")+"/v1/agent" {
		t.Fatalf("enroll answer %+v", er)
	}
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		// A code is single use.
		{"used code", `{"code":"` + code + `","hostname":"x"}`, 403, apiv1.CodeForbidden},
		{"unknown code", `{"code":"ZZZZZZZZZZ","hostname":"x"}`, 403, apiv1.CodeForbidden},
		{"not json", `code=1`, 400, apiv1.CodeBadRequest},
		{"no code", `{"hostname":"x"}`, 400, apiv1.CodeBadRequest},
		// Five wrong tries from this address were made above (two) and here (three) ...
		{"wrong 3", `{"code":"ZZZZZZZZZ1"}`, 403, apiv1.CodeForbidden},
		{"wrong 4", `{"code":"ZZZZZZZZZ2"}`, 403, apiv1.CodeForbidden},
		{"wrong 5", `{"code":"ZZZZZZZZZ3"}`, 403, apiv1.CodeForbidden},
		// ... so the sixth is refused whatever the code.
		{"limited", `{"code":"ZZZZZZZZZ4"}`, 429, apiv1.CodeRateLimited},
	}
	for _, tt := range tests {
		resp, err := http.Post(n.url+"/v1/enroll", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e, err := apiv1.Decode(append([]byte(`{"type":"error",`), b[1:]...))
		if resp.StatusCode != tt.status || err != nil || e.(*apiv1.Error).Code != tt.code {
			t.Errorf("%s: %d %s", tt.name, resp.StatusCode, b)
		}
	}
	// The token is not in the logs.
	if strings.Contains(n.logs.String(), er.Token) {
		t.Fatal("token logged")
	}
}

func TestHandshake(t *testing.T) {
	n := startNode(t, nodeOpts{})
	n.addFake(t, "m1", newFakePay(), 0)
	er, _ := n.enroll(t, "m1")

	// No token, a wrong token, no subprotocol: refused before the upgrade.
	for _, tc := range []struct {
		name, token string
		proto       bool
		status      int
	}{
		{"no token", "", true, 401},
		{"wrong token", er.Token + "x", true, 401},
		{"no subprotocol", er.Token, false, 400},
	} {
		h := http.Header{}
		if tc.token != "" {
			h.Set("Authorization", "Bearer "+tc.token)
		}
		d := websocket.Dialer{}
		if tc.proto {
			d.Subprotocols = []string{apiv1.Subprotocol}
		}
		_, resp, err := d.Dial("ws"+strings.TrimPrefix(n.url, "http")+"/v1/agent", h)
		if err == nil || resp == nil || resp.StatusCode != tc.status {
			t.Errorf("%s: %v %v", tc.name, err, resp)
		}
	}

	// Rules stored for the merchant come with welcome when the agent's
	// version differs.
	n.st.SetRules(context.Background(), "m1", "r2", []byte(`{"version":"r2"}`))
	a, resp, err := dial(t, n.url, er.Token)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Sec-Websocket-Protocol") != apiv1.Subprotocol {
		t.Fatalf("subprotocol %q", resp.Header.Get("Sec-Websocket-Protocol"))
	}
	// Anything before hello is refused.
	mustErr(t, a.request(qr("J", 0, "", 100)), apiv1.CodeBadRequest)
	a.send(&apiv1.Hello{ID: "H1", AgentVersion: "0.1.0", Protocol: 1, RulesVersion: "r1"})
	w := a.expect(apiv1.TypeWelcome).(*apiv1.Welcome)
	if w.Re != "H1" || w.DeviceID != er.DeviceID || w.MerchantName != "Shop m1" || string(w.Rules) != `{"version":"r2"}` ||
		time.Since(w.ServerTime) > time.Minute {
		t.Fatalf("welcome %+v", w)
	}
	// A second hello is an error.
	mustErr(t, a.request(&apiv1.Hello{ID: "H2", Protocol: 1}), apiv1.CodeBadRequest)

	// A pushed rule set reaches the connected agent.
	if err := n.srv.PushRules(context.Background(), "m1", "r3", []byte(`{"version":"r3"}`)); err != nil {
		t.Fatal(err)
	}
	r := a.expect(apiv1.TypeRules).(*apiv1.Rules)
	if r.Version != "r3" || r.ID == "" {
		t.Fatalf("rules %+v", r)
	}
	a.send(&apiv1.Ack{Re: r.ID})

	// Another protocol version is refused.
	b, _, _ := dial(t, n.url, er.Token)
	mustErr(t, b.request(&apiv1.Hello{ID: "H3", Protocol: 2}), apiv1.CodeBadRequest)
}

// TestOrdersFake covers the order contract against the fake.
func TestOrdersFake(t *testing.T) {
	n := startNode(t, nodeOpts{})
	pay := newFakePay()
	n.addFake(t, "m1", pay, 100000)
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token)

	// Cap and currency.
	mustErr(t, a.request(qr("J0", 0, "B0", 100001)), apiv1.CodeAmountCap)
	req := qr("J0", 0, "B0", 100)
	req.Currency = "USD"
	mustErr(t, a.request(req), apiv1.CodeBadRequest)
	req.Currency = ""
	mustErr(t, a.request(req), apiv1.CodeBadRequest)
	mustErr(t, a.request(qr("J0", 0, "B0", 0)), apiv1.CodeBadRequest)
	mustErr(t, a.request(qr("", 0, "B0", 10)), apiv1.CodeBadRequest)
	if pay.creates != 0 {
		t.Fatalf("refused requests created %d orders", pay.creates)
	}

	// Idempotency: the same (job, index) returns the same order, once.
	r1 := mustQR(t, a.request(qr("J1", 0, "B1", 15300)))
	r1b := mustQR(t, a.request(qr("J1", 0, "B1", 15300)))
	if r1.OutTradeNo != r1b.OutTradeNo || r1.CodeURL != r1b.CodeURL || r1.State != "open" || pay.creates != 1 {
		t.Fatalf("retry: %+v %+v creates %d", r1, r1b, pay.creates)
	}
	if len(r1.OutTradeNo) < 6 || len(r1.OutTradeNo) > 32 {
		t.Fatalf("out_trade_no %q", r1.OutTradeNo)
	}
	if d := time.Until(r1.ExpiresAt); d < 14*time.Minute || d > 15*time.Minute+time.Second {
		t.Fatalf("expires in %v", d)
	}
	if _, off := r1.ExpiresAt.Zone(); off != 8*3600 {
		t.Fatalf("expires_at offset %d", off)
	}
	// The same key with another amount is a client bug.
	mustErr(t, a.request(qr("J1", 0, "B1", 15400)), apiv1.CodeBadRequest)

	// A reprint (new job, same bill and amount) reuses the order.
	r2 := mustQR(t, a.request(qr("J2", 0, "B1", 15300)))
	if r2.OutTradeNo != r1.OutTradeNo || pay.creates != 1 {
		t.Fatalf("reprint got %s, want %s", r2.OutTradeNo, r1.OutTradeNo)
	}
	// Another bill gets another order.
	r3 := mustQR(t, a.request(qr("J3", 0, "B2", 15300)))
	if r3.OutTradeNo == r1.OutTradeNo {
		t.Fatal("another bill reused the order")
	}
	// The bill changed: a new order, and the old one is queried and closed.
	r4 := mustQR(t, a.request(qr("J4", 0, "B1", 16300)))
	if r4.OutTradeNo == r1.OutTradeNo {
		t.Fatal("changed amount reused the order")
	}
	eventually(t, "old order closed", func() bool {
		o, _ := n.st.Order(context.Background(), r1.OutTradeNo)
		return o.State == store.StateClosed && pay.state(r1.OutTradeNo) == wechatpay.StateClosed
	})

	// WeChat failing: a clear, retryable error and no order.
	pay.mu.Lock()
	pay.failCreate = &wechatpay.APIError{Op: "create order", Status: 500, Code: "SYSTEM_ERROR"}
	pay.mu.Unlock()
	e := mustErr(t, a.request(qr("J5", 0, "B5", 100)), apiv1.CodeWechatError)
	pay.mu.Lock()
	pay.failCreate = nil
	pay.mu.Unlock()
	if _, err := n.st.OrderByKey(context.Background(), er.DeviceID, "J5", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed create left an order: %v (%+v)", err, e)
	}

	// qr.cancel: query, then close.
	mustAck(t, a.request(&apiv1.QRCancel{ID: "C1", OutTradeNo: r3.OutTradeNo, Reason: "paid by cash"}), "C1")
	if o, _ := n.st.Order(context.Background(), r3.OutTradeNo); o.State != store.StateClosed || pay.state(r3.OutTradeNo) != wechatpay.StateClosed {
		t.Fatalf("cancel: %s / %s", o.State, pay.state(r3.OutTradeNo))
	}
	mustErr(t, a.request(&apiv1.QRCancel{ID: "C2", OutTradeNo: "nosuchorder1"}), apiv1.CodeNotFound)

	// A cancel that finds the customer paid first records the payment and
	// delivers order.paid instead of closing.
	r6 := mustQR(t, a.request(qr("J6", 0, "B6", 800)))
	pay.pay(r6.OutTradeNo)
	a.send(&apiv1.QRCancel{ID: "C3", OutTradeNo: r6.OutTradeNo, Reason: "cash"})
	var paid *apiv1.OrderPaid
	for range 2 {
		switch m := a.recv().(type) {
		case *apiv1.Ack:
			if m.Re != "C3" {
				t.Fatalf("ack %+v", m)
			}
		case *apiv1.OrderPaid:
			paid = m
		default:
			t.Fatalf("unexpected %T", m)
		}
	}
	if paid == nil || paid.OutTradeNo != r6.OutTradeNo || paid.AmountFen != 800 {
		t.Fatalf("order.paid %+v", paid)
	}
	// And a reprint of the paid bill answers state paid.
	r7 := mustQR(t, a.request(qr("J7", 0, "B6", 800)))
	if r7.State != apiv1.StatePaid || r7.OutTradeNo != r6.OutTradeNo || r7.CodeURL != "" {
		t.Fatalf("paid reprint %+v", r7)
	}
}

func mustAck(t testing.TB, m apiv1.Message, re string) {
	t.Helper()
	a, ok := m.(*apiv1.Ack)
	if !ok || a.Re != re {
		b, _ := apiv1.Encode(m)
		t.Fatalf("want ack %s, got %s", re, b)
	}
}

// TestSandboxFlow: the WeChat side is the sandbox behind the real client.
func TestSandboxFlow(t *testing.T) {
	e := startSandbox(t)
	n := startNode(t, nodeOpts{})
	n.addSandboxMerchant(t, e, "m1", "1900000109")
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token)

	r1 := mustQR(t, a.request(qr("J1", 0, "A1024", 15300)))
	if !strings.HasPrefix(r1.CodeURL, "weixin://wxpay/bizpayurl?pr=") {
		t.Fatalf("code_url %q", r1.CodeURL)
	}
	if again := mustQR(t, a.request(qr("J1", 0, "A1024", 15300))); again.OutTradeNo != r1.OutTradeNo {
		t.Fatal("retry minted a new order")
	}
	if re := mustQR(t, a.request(qr("J2", 0, "A1024", 15300))); re.OutTradeNo != r1.OutTradeNo || re.CodeURL != r1.CodeURL {
		t.Fatal("reprint minted a new order")
	}

	// The customer pays: the notification reaches the server, the agent
	// gets order.paid, acks it.
	pay, err := e.sb.Pay(r1.OutTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	p := a.expect(apiv1.TypeOrderPaid).(*apiv1.OrderPaid)
	if p.OutTradeNo != r1.OutTradeNo || p.AmountFen != 15300 || p.TransactionID != pay.TransactionID || p.ID == "" {
		t.Fatalf("order.paid %+v", p)
	}
	a.send(&apiv1.Ack{Re: p.ID})
	eventually(t, "ack stored", func() bool {
		l, _ := n.st.PendingDeliveries(context.Background(), er.DeviceID)
		return len(l) == 0
	})
	// Reprint of the paid bill: state paid.
	if r := mustQR(t, a.request(qr("J3", 0, "A1024", 15300))); r.State != apiv1.StatePaid {
		t.Fatalf("paid reprint %+v", r)
	}

	// A changed amount closes the old open order at WeChat.
	r4 := mustQR(t, a.request(qr("J4", 0, "A2048", 5000)))
	r5 := mustQR(t, a.request(qr("J5", 0, "A2048", 5500)))
	if r5.OutTradeNo == r4.OutTradeNo {
		t.Fatal("changed amount reused the order")
	}
	eventually(t, "old order closed", func() bool {
		o, _ := n.st.Order(context.Background(), r4.OutTradeNo)
		return o.State == store.StateClosed
	})
	if _, err := e.sb.Pay(r4.OutTradeNo); err == nil {
		t.Fatal("the closed order could still be paid at the sandbox")
	}

	// qr.cancel closes the order at WeChat.
	mustAck(t, a.request(&apiv1.QRCancel{ID: "C1", OutTradeNo: r5.OutTradeNo, Reason: "paid by card"}), "C1")
	if _, err := e.sb.Pay(r5.OutTradeNo); err == nil {
		t.Fatal("the cancelled order could still be paid")
	}
	a.quiet(100 * time.Millisecond)
}

// TestPaidResentUntilAcked: an unacked order.paid comes again on the next
// connection, exactly once per connection.
func TestPaidResentUntilAcked(t *testing.T) {
	e := startSandbox(t)
	n := startNode(t, nodeOpts{})
	n.addSandboxMerchant(t, e, "m1", "1900000109")
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token)
	r := mustQR(t, a.request(qr("J1", 0, "A1", 100)))
	if _, err := e.sb.Pay(r.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	p1 := a.expect(apiv1.TypeOrderPaid).(*apiv1.OrderPaid)
	// A duplicate notification does not produce a second frame here.
	a.quiet(200 * time.Millisecond)
	a.ws.Close()

	b := connect(t, n.url, er.Token)
	p2 := b.expect(apiv1.TypeOrderPaid).(*apiv1.OrderPaid)
	if p2.ID != p1.ID || p2.OutTradeNo != r.OutTradeNo {
		t.Fatalf("resent %+v, first %+v", p2, p1)
	}
	b.send(&apiv1.Ack{Re: p2.ID})
	eventually(t, "ack stored", func() bool {
		l, _ := n.st.PendingDeliveries(context.Background(), er.DeviceID)
		return len(l) == 0
	})
	b.ws.Close()
	c := connect(t, n.url, er.Token)
	c.quiet(200 * time.Millisecond)
}

func TestUploadsDeduplicated(t *testing.T) {
	n := startNode(t, nodeOpts{})
	n.addFake(t, "m1", newFakePay(), 0)
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token)
	up := func(id string, idx int) *apiv1.ReceiptUpload {
		return &apiv1.ReceiptUpload{ID: id, JobID: "J1", ReceiptIndex: idx, Printer: "front", PrintedAt: time.Now(),
			Receipt: apiv1.Receipt{Encoding: "gb18030", AmountFen: 1500, OrderNo: "A1", Items: []apiv1.Item{{Name: "面", Qty: "1", AmountFen: 1500}}}}
	}
	mustAck(t, a.request(up("U1", 0)), "U1")
	mustAck(t, a.request(up("U2", 0)), "U2") // the same receipt again
	mustAck(t, a.request(up("U3", 1)), "U3")
	list, err := n.st.Receipts(context.Background(), "m1")
	if err != nil || len(list) != 2 {
		t.Fatalf("receipts %d %v", len(list), err)
	}
	if !strings.Contains(string(list[0].Body), `"name":"面"`) || list[0].AmountFen != 1500 {
		t.Fatalf("body %s", list[0].Body)
	}
	mustErr(t, a.request(&apiv1.ReceiptUpload{ID: "U4"}), apiv1.CodeBadRequest)
}

// TestTenantIsolation: a device cannot create, read or cancel another
// merchant's orders, nor hear of their payments.
func TestTenantIsolation(t *testing.T) {
	n := startNode(t, nodeOpts{})
	pay1, pay2 := newFakePay(), newFakePay()
	n.addFake(t, "m1", pay1, 0)
	n.addFake(t, "m2", pay2, 0)
	e1, _ := n.enroll(t, "m1")
	e2, _ := n.enroll(t, "m2")
	a1 := connect(t, n.url, e1.Token)
	a2 := connect(t, n.url, e2.Token)

	r1 := mustQR(t, a1.request(qr("J1", 0, "A1", 100)))
	// The same job id, index, bill and amount from m2's device is m2's own
	// order at m2's WeChat account.
	r2 := mustQR(t, a2.request(qr("J1", 0, "A1", 100)))
	if r2.OutTradeNo == r1.OutTradeNo || pay2.state(r2.OutTradeNo) == "" || pay1.state(r2.OutTradeNo) != "" {
		t.Fatal("m2's request touched m1's order")
	}
	// Cancelling m1's order from m2: not found, and nothing closed.
	mustErr(t, a2.request(&apiv1.QRCancel{ID: "X", OutTradeNo: r1.OutTradeNo}), apiv1.CodeNotFound)
	if o, _ := n.st.Order(context.Background(), r1.OutTradeNo); o.State != store.StateOpen || pay1.state(r1.OutTradeNo) != wechatpay.StateNotPay {
		t.Fatal("m2 closed m1's order")
	}
	// m1's payment is told to m1's device only.
	pay1.pay(r1.OutTradeNo)
	a1.send(&apiv1.QRCancel{ID: "C", OutTradeNo: r1.OutTradeNo})
	got := map[string]bool{}
	for range 2 {
		got[a1.recv().Type()] = true
	}
	if !got[apiv1.TypeAck] || !got[apiv1.TypeOrderPaid] {
		t.Fatalf("m1 got %v", got)
	}
	a2.quiet(200 * time.Millisecond)
	// A device's ack cannot acknowledge another device's delivery.
	l, _ := n.st.PendingDeliveries(context.Background(), e1.DeviceID)
	a2.send(&apiv1.Ack{Re: l[0].ID})
	a2.quiet(100 * time.Millisecond)
	if l2, _ := n.st.PendingDeliveries(context.Background(), e1.DeviceID); len(l2) != 1 {
		t.Fatal("m2's ack acknowledged m1's delivery")
	}
}

func TestBadFrames(t *testing.T) {
	n := startNode(t, nodeOpts{})
	n.addFake(t, "m1", newFakePay(), 0)
	e1, _ := n.enroll(t, "m1")
	e2, _ := n.enroll(t, "m1")
	a := connect(t, n.url, e1.Token)
	other := connect(t, n.url, e2.Token)

	tests := []struct {
		name  string
		frame string
		re    string
	}{
		{"not json", `{"type":`, ""},
		{"no type", `{"id":"I1"}`, "I1"},
		{"unknown type", `{"type":"qr.teleport","id":"I2"}`, "I2"},
		{"float amount", `{"type":"qr.request","id":"I3","amount_fen":1.5}`, "I3"},
		{"server frame", `{"type":"welcome","re":"x","id":"I4"}`, ""},
	}
	for _, tt := range tests {
		a.sendRaw([]byte(tt.frame))
		e := mustErr(t, a.recv(), apiv1.CodeBadRequest)
		if e.Re != tt.re || e.Retryable {
			t.Errorf("%s: %+v", tt.name, e)
		}
	}
	// Unknown fields are ignored.
	mustAck(t, a.request(&apiv1.ReceiptUpload{ID: "U1", JobID: "J", Receipt: apiv1.Receipt{}}), "U1")
	a.sendRaw([]byte(`{"type":"ack","re":"nothing","future_field":[1,2,3]}`))
	// Binary frames are refused.
	a.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	mustErr(t, a.recv(), apiv1.CodeBadRequest)

	// An oversized frame closes the connection with 1009.
	a.sendRaw(bytes.Repeat([]byte("x"), apiv1.MaxFrameBytes+1))
	select {
	case <-a.frames:
	case <-time.After(5 * time.Second):
	}
	var ce *websocket.CloseError
	if err := <-a.closed; !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized: %v", err)
	}
	// The other agent is unaffected.
	mustQR(t, other.request(qr("J", 0, "A", 100)))
}

// TestFlood: one device flooding is rate limited; another is not slowed.
func TestFlood(t *testing.T) {
	n := startNode(t, nodeOpts{rate: 20, burst: 20})
	n.addFake(t, "m1", newFakePay(), 0)
	e1, _ := n.enroll(t, "m1")
	e2, _ := n.enroll(t, "m1")
	a := connect(t, n.url, e1.Token)
	b := connect(t, n.url, e2.Token)
	const flood = 200
	for i := range flood {
		a.send(&apiv1.ReceiptUpload{ID: ulid.Make().String(), JobID: "F", ReceiptIndex: i})
	}
	start := time.Now()
	mustQR(t, b.request(qr("J", 0, "A", 100)))
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the other device waited %v", d)
	}
	limited, acked := 0, 0
	for range flood {
		switch m := a.recv().(type) {
		case *apiv1.Error:
			if m.Code != apiv1.CodeRateLimited || !m.Retryable || m.Re == "" {
				t.Fatalf("error %+v", m)
			}
			limited++
		case *apiv1.Ack:
			acked++
		}
	}
	if limited < flood/2 || acked < handlersPerConn {
		t.Fatalf("limited %d acked %d", limited, acked)
	}
}

// TestDatabaseAway: with the database gone, requests get a clear,
// retryable error, the connection stays up, /healthz says so.
func TestDatabaseAway(t *testing.T) {
	n := startNode(t, nodeOpts{})
	n.addFake(t, "m1", newFakePay(), 0)
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token)
	mustQR(t, a.request(qr("J1", 0, "A", 100)))
	n.st.Close()
	e := mustErr(t, a.request(qr("J2", 0, "B", 100)), apiv1.CodeUnavailable)
	if !e.Retryable || strings.Contains(e.Message, "sql") {
		t.Fatalf("error %+v", e)
	}
	mustErr(t, a.request(&apiv1.ReceiptUpload{ID: "U", JobID: "J"}), apiv1.CodeUnavailable)
	resp, err := http.Get(n.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	// New connections are refused with 503, not 401.
	_, resp, err = dial(t, n.url, er.Token)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("dial with database away: %v %v", err, resp)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	n := startNode(t, nodeOpts{})
	n.addFake(t, "m1", newFakePay(), 0)
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token)
	mustQR(t, a.request(qr("J1", 0, "A", 100)))
	resp, err := http.Get(n.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Get(n.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"printpay_server_agent_connections 1\n",
		"printpay_server_orders_created_total 1\n",
		"printpay_server_enrollments_total 1\n",
		`printpay_server_answers_total{outcome="qr.response"} 1` + "\n",
		"printpay_server_request_seconds_count 1\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "printpay_server_") {
			t.Errorf("metric without prefix: %s", line)
		}
	}
}

func TestDescription(t *testing.T) {
	tests := []struct{ shop, no, want string }{
		{"老王面馆", "A1024", "老王面馆 A1024"},
		// Emoji are dropped: WeChat refuses characters outside the BMP.
		{"Café 🍜", "7", "Café  7"},
		{"", "", "printpay"},
		{strings.Repeat("店", 130), "X", strings.Repeat("店", 127)},
	}
	for _, tt := range tests {
		if got := apiDescription(tt.shop, tt.no); got != tt.want {
			t.Errorf("Description(%q, %q) = %q, want %q", tt.shop, tt.no, got, tt.want)
		}
	}
}

// TestIdleKeepalive: an agent that said hello may stay quiet for many
// hello timeouts as long as it answers pings; one that never says hello is
// closed after the hello timeout.
func TestIdleKeepalive(t *testing.T) {
	n := startNode(t, nodeOpts{hello: 300 * time.Millisecond, ping: 100 * time.Millisecond})
	n.addFake(t, "m1", newFakePay(), 0)
	e1, _ := n.enroll(t, "m1")
	e2, _ := n.enroll(t, "m1")
	quietAgent := connect(t, n.url, e1.Token)
	mute, _, err := dial(t, n.url, e2.Token)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-mute.closed:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "no hello" {
			t.Fatalf("closed with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an agent that never said hello is still connected")
	}
	// Five hello timeouts later the quiet agent is still served.
	time.Sleep(1500 * time.Millisecond)
	mustQR(t, quietAgent.request(qr("J", 0, "A", 100)))
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestReprintWindow: a reprint reuses the order only within its business
// day (cut-off 04:00 Beijing time) and while the order can still be paid.
func TestReprintWindow(t *testing.T) {
	clk := &testClock{}
	// 03:50 Beijing time.
	clk.set(time.Date(2026, 11, 26, 3, 50, 0, 0, wechatpay.Beijing))
	n := startNode(t, nodeOpts{now: clk.now})
	n.addFake(t, "m1", newFakePay(), 0)
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token)

	r1 := mustQR(t, a.request(qr("J1", 0, "B1", 100)))
	clk.add(5 * time.Minute) // 03:55: same business day
	if r := mustQR(t, a.request(qr("J2", 0, "B1", 100))); r.OutTradeNo != r1.OutTradeNo {
		t.Fatal("reprint within the day minted a new order")
	}
	clk.add(6 * time.Minute) // 04:01: a new business day, same bill number
	r3 := mustQR(t, a.request(qr("J3", 0, "B1", 100)))
	if r3.OutTradeNo == r1.OutTradeNo {
		t.Fatal("a bill number of yesterday's business day reused its order")
	}
	if o, _ := n.st.Order(context.Background(), r3.OutTradeNo); o.BusinessDay != "2026-11-26" {
		t.Fatalf("business day %q", o.BusinessDay)
	}
	if o, _ := n.st.Order(context.Background(), r1.OutTradeNo); o.BusinessDay != "2026-11-25" {
		t.Fatalf("business day %q", o.BusinessDay)
	}
	clk.add(15 * time.Minute) // r3 expired: a reprint gets a new order
	r4 := mustQR(t, a.request(qr("J4", 0, "B1", 100)))
	if r4.OutTradeNo == r3.OutTradeNo {
		t.Fatal("an expired order was handed out again")
	}
	// A retry of the expired order's own request says so.
	mustErr(t, a.request(qr("J3", 0, "B1", 100)), apiv1.CodeNotFound)
}

// TestAckNotRateLimited: a device over its frame budget still gets its acks
// through, so a paid order is not sent to it again.
func TestAckNotRateLimited(t *testing.T) {
	n := startNode(t, nodeOpts{rate: 0.001, burst: 3})
	pay := newFakePay()
	n.addFake(t, "m1", pay, 0)
	er, _ := n.enroll(t, "m1")
	a := connect(t, n.url, er.Token) // hello: 1 token
	r := mustQR(t, a.request(qr("J", 0, "A", 100)))
	pay.pay(r.OutTradeNo)
	a.send(&apiv1.QRCancel{ID: "C", OutTradeNo: r.OutTradeNo}) // the budget is spent now
	var p *apiv1.OrderPaid
	for range 2 {
		if m, ok := a.recv().(*apiv1.OrderPaid); ok {
			p = m
		}
	}
	if p == nil {
		t.Fatal("no order.paid")
	}
	mustErr(t, a.request(&apiv1.ReceiptUpload{ID: "U", JobID: "J"}), apiv1.CodeRateLimited)
	a.send(&apiv1.Ack{Re: p.ID})
	eventually(t, "ack stored", func() bool {
		l, _ := n.st.PendingDeliveries(context.Background(), er.DeviceID)
		return len(l) == 0
	})
}
