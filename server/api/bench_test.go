package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"printpay.dev/printpay/server/api"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/store/storetest"
	"printpay.dev/printpay/server/wechatpay"
)

// timedPay wraps a payment client and records how long each CreateNative
// took, so the benchmark can report the server's own latency.
type timedPay struct {
	api.PaymentClient
	mu   sync.Mutex
	took map[string]time.Duration
}

func (p *timedPay) CreateNative(ctx context.Context, o wechatpay.Order) (string, error) {
	start := time.Now()
	u, err := p.PaymentClient.CreateNative(ctx, o)
	p.mu.Lock()
	p.took[o.OutTradeNo] = time.Since(start)
	p.mu.Unlock()
	return u, err
}

// BenchmarkQRRequest measures qr.request throughput and latency through
// the websocket with 16 agents, each with one request in flight, against
// the sandbox behind the real WeChat Pay client. p99-ms is the full round
// trip; p99-server-ms leaves out the time spent waiting for the sandbox.
func BenchmarkQRRequest(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		for _, wechat := range []string{"sandbox", "fake"} {
			b.Run(backend.name+"/"+wechat, func(b *testing.B) {
				benchQR(b, backend.open(b), wechat)
			})
		}
	}
}

func benchQR(b *testing.B, st *store.Store, wechat string) {
	const agents = 16
	n := startNode(b, nodeOpts{st: st, rate: 1e6, burst: 1e6})
	m, err := st.PutMerchant(context.Background(), store.Merchant{ID: "m1", Name: "Bench shop", AmountCapFen: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	var inner api.PaymentClient = newFakePay()
	if wechat == "sandbox" {
		e := startSandbox(b)
		cfg := e.merchant(b, "1900000109")
		cfg.NotifyURL = n.srv.NotifyURL("m1")
		c, err := wechatpay.New(context.Background(), cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		inner = c
	}
	pay := &timedPay{PaymentClient: inner, took: map[string]time.Duration{}}
	n.srv.AddMerchant(m, pay, nil)
	conns := make([]*agent, agents)
	for i := range conns {
		er, _ := n.enroll(b, "m1")
		conns[i] = connect(b, n.url, er.Token)
	}
	var next atomic.Int64
	lat := make([][]time.Duration, agents)
	own := make([][]time.Duration, agents)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, a := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1)
				if k > int64(b.N) {
					return
				}
				t0 := time.Now()
				a.send(qr(fmt.Sprintf("J%d", k), 0, fmt.Sprintf("B%d", k), 100+k%1000))
				m := a.recv()
				d := time.Since(t0)
				r, ok := m.(*apiv1.QRResponse)
				if !ok {
					bb, _ := apiv1.Encode(m)
					b.Errorf("answer %s", bb)
					return
				}
				pay.mu.Lock()
				w := pay.took[r.OutTradeNo]
				pay.mu.Unlock()
				lat[i] = append(lat[i], d)
				own[i] = append(own[i], d-w)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(p99(lat).Seconds()*1000, "p99-ms")
	b.ReportMetric(p99(own).Seconds()*1000, "p99-server-ms")
}

func p99(per [][]time.Duration) time.Duration {
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return 0
	}
	slices.Sort(all)
	return all[(len(all)*99)/100]
}
