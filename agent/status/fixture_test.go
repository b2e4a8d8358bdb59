package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"testing"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/internal/receiptgen"
	"printpay.dev/printpay/spool"
)

// gbkReceipt is a payable Chinese receipt as a GBK POS sends it.
const gbkReceipt = `encoding: gbk

@align center
@size 2x2
老王面馆
@size 1x1
@align left
单号: A20261126-001
牛肉面	2	￥36.00
卤蛋	1	￥3.00
可乐	1	￥5.00
@bold on
合计: ￥44.00
@bold off
谢谢惠顾，欢迎再来！
@feed 3
@cut
`

// fixture is a status server over a real spool holding one job of each
// interesting kind, a running log hub, and hooks that record their calls.
type fixture struct {
	t     *testing.T
	sp    *spool.Spool
	srv   *Server
	ts    *httptest.Server
	hub   *LogHub
	log   *slog.Logger
	ids   map[string]string // kind → job ID
	front *drivers.StatusCache

	mu     sync.Mutex
	calls  []string // hook calls, "pause front true", "test front", "pay PP1"
	paused map[string]bool
}

func (f *fixture) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fixture) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fixture) addJob(printer string, data []byte) string {
	f.t.Helper()
	w, err := f.sp.Create(printer, spool.Origin{Proto: "raw", Peer: "127.0.0.1:50000"})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		f.t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		f.t.Fatal(err)
	}
	return w.ID()
}

// printed marks a job printed with result r.
func (f *fixture) printed(id string, r spool.Result) {
	f.t.Helper()
	if err := f.sp.MarkSending(id); err != nil {
		f.t.Fatal(err)
	}
	if err := f.sp.UpdateResult(id, func(x *spool.Result) { *x = r }); err != nil {
		f.t.Fatal(err)
	}
	if err := f.sp.MarkDone(id); err != nil {
		f.t.Fatal(err)
	}
}

func newFixture(t *testing.T, password string) *fixture {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, sp: sp, ids: map[string]string{}, paused: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	f.hub = NewLogHub(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelDebug}), 200)
	hubDone := make(chan struct{})
	go func() { f.hub.Run(ctx); close(hubDone) }()
	f.log = slog.New(f.hub)

	gbk, err := receiptgen.Encode([]byte(gbkReceipt))
	if err != nil {
		t.Fatal(err)
	}
	f.ids["gbk"] = f.addJob("front", gbk)
	// The result the worker records for it: a QR block spliced at the
	// receipt's splice point.
	er := escpos.Scan(gbk, escpos.Options{}).Receipts[0]
	f.printed(f.ids["gbk"], spool.Result{
		Analyzed: true, Payable: true, AmountFen: 4400, OrderNo: "A20261126-001", Reason: "合计 ¥44.00",
		OutTradeNo: "PP20261126001", QR: "spliced",
		Receipts: json.RawMessage(fmt.Sprintf(`[{"index":0,"payable":true,"amount_fen":4400,"order_no":"A20261126-001",`+
			`"reason":"合计 ¥44.00 与商品金额一致","qr":"spliced","cut_offset":%d,"splice_offset":%d,"block":"qr",`+
			`"code_url":"weixin://wxpay/bizpayurl?pr=PP20261126001","out_trade_no":"PP20261126001"}]`, er.CutOffset, er.SpliceOffset)),
	})

	garbage := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	f.ids["garbage"] = f.addJob("kitchen", garbage)
	f.printed(f.ids["garbage"], spool.Result{Analyzed: true, Reason: `<script>alert("x")</script> no amount`, QR: "none", QRReason: "不是需要付款的小票"})

	w, err := sp.Create("front", spool.Origin{Proto: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("\x1b@half a receipt\n"))
	w.Abort("connection reset by the POS")
	f.ids["truncated"] = w.ID()

	f.ids["pending"] = f.addJob("front", []byte("\x1b@waiting\n\x1dV\x00"))

	f.front = &drivers.StatusCache{}
	f.front.Set(drivers.Status{State: drivers.StateOnline})
	kitchen := &drivers.StatusCache{}
	kitchen.Set(drivers.Status{State: drivers.StatePaperOut, Detail: `<b>lid</b>`})

	f.srv = New(Options{
		Spool: sp, Version: "1.2.3-test", Password: password, Logger: f.log.With("component", "status"),
		Printers: []Printer{
			{Name: "front", Driver: "file", Device: "/srv/preview", Profile: "generic-80mm", Status: f.front, PaperDots: 576},
			{Name: "kitchen", Driver: "tcp", Device: "192.168.1.50:9100", Profile: "generic-58mm", Status: kitchen, PaperDots: 384},
		},
		Link: func() Link {
			return Link{URL: "wss://pay.example.com/v1/agent", Connected: false, LastError: "dial: <refused>", RulesVersion: "2026-11-01", QueuedUploads: 3}
		},
		Logs: f.hub,
		// As the agent wires it: the worker rebuilds what it printed.
		Printed: func(j spool.Job, original []byte) ([]byte, error) {
			if j.Printer == "kitchen" {
				return nil, errors.New("cannot rebuild: test says no")
			}
			r := worker.Result{Encoding: escpos.Scan(original, escpos.Options{}).Encoding}
			if len(j.Result.Receipts) > 0 {
				if err := json.Unmarshal(j.Result.Receipts, &r.Receipts); err != nil {
					return nil, err
				}
			}
			return worker.Printed(original, r, worker.Config{PaperDots: 576})
		},
		Pause: func(p string, on bool) error {
			f.record("pause " + p + map[bool]string{true: " on", false: " off"}[on])
			f.mu.Lock()
			f.paused[p] = on
			f.mu.Unlock()
			return nil
		},
		Paused: func(p string) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.paused[p]
		},
		TestPrint: func(p string) error { f.record("test " + p); return nil },
		DemoPay: func(ctx context.Context, otn string) error {
			f.record("pay " + otn)
			return sp.UpdateResult(f.ids["gbk"], func(r *spool.Result) { r.Paid = true })
		},
	})
	f.ts = httptest.NewServer(f.srv.Handler())
	t.Cleanup(func() {
		f.ts.Close()
		cancel()
		<-hubDone
		sp.Close()
	})
	return f
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
