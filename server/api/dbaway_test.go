package api_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/store/storetest"
)

// dbProxy stands between the server and PostgreSQL so a test can take the
// database away and bring it back.
type dbProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startDBProxy(t *testing.T, target string) *dbProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

func (p *dbProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
	}
}

// setDown cuts every connection and refuses new ones (true), or lets them
// through again (false).
func (p *dbProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

// TestDatabaseOutage takes PostgreSQL away under a running node: agents get
// clear, retryable errors, no order is half-made, and everything works again
// once the database is back, without a restart or a reconnect.
func TestDatabaseOutage(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	u, _ := url.Parse(dsn)
	proxy := startDBProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	st := storetest.Open(t, u.String())
	n := startNode(t, nodeOpts{st: st})
	pay := newFakePay()
	n.addFake(t, "m1", pay, 0)
	e1, _ := n.enroll(t, "m1")
	e2, _ := n.enroll(t, "m1")
	a := connect(t, n.url, e1.Token)
	b := connect(t, n.url, e2.Token)
	mustQR(t, a.request(qr("J1", 0, "A1", 100)))

	proxy.setDown(true)
	creates := pay.creates
	for _, ag := range []*agent{a, b} {
		e := mustErr(t, ag.request(qr("J2", 0, "A2", 200)), apiv1.CodeUnavailable)
		if !e.Retryable {
			t.Fatalf("not retryable: %+v", e)
		}
	}
	mustErr(t, a.request(&apiv1.ReceiptUpload{ID: "U1", JobID: "J2"}), apiv1.CodeUnavailable)
	if pay.creates != creates {
		t.Fatal("an order was created at WeChat while the database was away")
	}
	// The websockets stay up through the outage.
	time.Sleep(200 * time.Millisecond)
	proxy.setDown(false)

	// The same requests, retried, now succeed; the retry is idempotent.
	r := mustQR(t, a.request(qr("J2", 0, "A2", 200)))
	if again := mustQR(t, a.request(qr("J2", 0, "A2", 200))); again.OutTradeNo != r.OutTradeNo {
		t.Fatal("retry after the outage minted a second order")
	}
	mustQR(t, b.request(qr("J2", 0, "A2", 200)))
	mustAck(t, a.request(&apiv1.ReceiptUpload{ID: "U2", JobID: "J2"}), "U2")
	if o, err := st.OrderByKey(context.Background(), e1.DeviceID, "J2", 0); err != nil || o.State != store.StateOpen {
		t.Fatalf("order after outage: %+v %v", o, err)
	}
}
