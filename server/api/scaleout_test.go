package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"testing"
	"time"

	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/bus"
	"printpay.dev/printpay/server/store/storetest"
)

// TestScaleOut runs two nodes on one PostgreSQL schema and one NATS
// subject. The agent is connected to node A; WeChat's notification for its
// order reaches node B (A's public URL points at B, as a load balancer
// would route it); the agent gets order.paid exactly once.
func TestScaleOut(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	natsURL := testenv.NATS(t)
	r := make([]byte, 6)
	rand.Read(r)
	subject := "printpay.test." + hex.EncodeToString(r)
	dialBus := func() bus.Bus {
		b, err := bus.DialNATS(natsURL, subject)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	e := startSandbox(t)

	lnB, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	urlB := "http://" + lnB.Addr().String()
	a := startNode(t, nodeOpts{st: storetest.Open(t, dsn), bus: dialBus(), publicURL: urlB})
	b := startNode(t, nodeOpts{st: storetest.Open(t, dsn), bus: dialBus(), ln: lnB})
	a.addSandboxMerchant(t, e, "m1", "1900000109")
	b.addSandboxMerchant(t, e, "m1", "1900000109")

	// Enrolled through B, connected to A.
	er, _ := b.enroll(t, "m1")
	ag := connect(t, a.url, er.Token)
	r1 := mustQR(t, ag.request(qr("J1", 0, "A1", 2500)))
	// A reprint asked of node B is answered from the shared store.
	other := connect(t, b.url, er.Token) // replaces nothing on A: each node keeps its own
	if rb := mustQR(t, other.request(qr("J2", 0, "A1", 2500))); rb.OutTradeNo != r1.OutTradeNo {
		t.Fatalf("node B minted %s for the bill node A already has as %s", rb.OutTradeNo, r1.OutTradeNo)
	}
	other.ws.Close()
	eventually(t, "B dropped its connection", func() bool { return connections(t, b) == 0 })

	if _, err := e.sb.Pay(r1.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var notifiedB bool
	for _, d := range e.sb.Deliveries() {
		if d.OutTradeNo == r1.OutTradeNo && d.Acked && len(d.URL) > len(urlB) && d.URL[:len(urlB)] == urlB {
			notifiedB = true
		}
	}
	if !notifiedB {
		t.Fatalf("the notification did not go to node B: %+v", e.sb.Deliveries())
	}
	p := ag.expect(apiv1.TypeOrderPaid).(*apiv1.OrderPaid)
	if p.OutTradeNo != r1.OutTradeNo || p.AmountFen != 2500 {
		t.Fatalf("order.paid %+v", p)
	}
	// Exactly once: B publishing again (a repeated notification, a poller
	// pass) must not produce a second frame on this connection.
	bb := dialBus()
	bb.Publish(context.Background(), er.DeviceID)
	ag.quiet(300 * time.Millisecond)
	ag.send(&apiv1.Ack{Re: p.ID})
	eventually(t, "ack stored", func() bool {
		l, _ := a.st.PendingDeliveries(context.Background(), er.DeviceID)
		return len(l) == 0
	})

	// New rules stored through node B reach the agent on node A.
	if err := b.srv.PushRules(context.Background(), "m1", "r9", []byte(`{"version":"r9"}`)); err != nil {
		t.Fatal(err)
	}
	if r := ag.expect(apiv1.TypeRules).(*apiv1.Rules); r.Version != "r9" || string(r.Rules) != `{"version":"r9"}` {
		t.Fatalf("rules %+v", r)
	}
	ag.quiet(200 * time.Millisecond)
}

func connections(t testing.TB, n *node) int {
	t.Helper()
	return int(metricValue(t, n.url, "printpay_server_agent_connections"))
}
