package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/agent/cloud"
	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/rules"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/internal/receiptgen"
	"printpay.dev/printpay/spool"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Without a token file the agent says how to enroll, once, and prints
// every receipt at once without a QR.
func TestNotEnrolled(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers = cfg.Printers[:1]
	cfg.Server.URL = "ws://127.0.0.1:1/v1/agent"
	cfg.Server.TokenFile = filepath.Join(t.TempDir(), "token")
	var logs lockedBuf
	ready := make(chan Addrs, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunWith(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), Options{Print: Workers(nil), Ready: func(a Addrs) { ready <- a }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	a := <-ready
	job, err := receiptgen.Encode([]byte("encoding: gbk\n\n单号: 1\n应收金额: 12.00\n@cut\n"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sendRaw(t, a.Raw["front"], job)
	var got struct {
		State    string  `json:"state"`
		Payable  bool    `json:"payable"`
		QR       *string `json:"qr"`
		QRReason string  `json:"qr_reason"`
	}
	for {
		resp, err := http.Get("http://" + a.Status + "/api/jobs")
		if err != nil {
			t.Fatal(err)
		}
		var jobs []json.RawMessage
		json.NewDecoder(resp.Body).Decode(&jobs)
		resp.Body.Close()
		if len(jobs) == 1 {
			json.Unmarshal(jobs[0], &got)
			if got.State == "done" && got.QR != nil {
				break
			}
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("job not printed: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !got.Payable || *got.QR != "none" {
		t.Fatalf("job: %+v", got)
	}
	if took := time.Since(start); took > cfg.Server.QRBudget {
		t.Errorf("an agent that is not enrolled took %s to print", took)
	}
	if n := strings.Count(logs.String(), "not enrolled: run printpay enroll --server"); n != 1 {
		t.Fatalf("%d 'not enrolled' lines:\n%s", n, logs.String())
	}
}

// A token file that cannot be read (a folder) stops the start with an error.
func TestBadTokenFile(t *testing.T) {
	cfg := testConfig(t)
	cfg.Server.URL = "ws://127.0.0.1:1/v1/agent"
	cfg.Server.TokenFile = t.TempDir()
	if _, err := tryStart(t, cfg, Options{}); err == nil {
		t.Fatal("an unreadable token file was accepted")
	}
}

// The merchant's rules saved by a previous run are in force from the start,
// before (and without) any connection.
func TestSavedRulesUsedOffline(t *testing.T) {
	cfg := testConfig(t)
	cfg.Server.URL = "ws://127.0.0.1:1/v1/agent"
	cfg.Server.TokenFile = filepath.Join(t.TempDir(), "token")
	if err := cloud.WriteToken(cfg.Server.TokenFile, "tok"); err != nil {
		t.Fatal(err)
	}
	state := CloudStateDir(cfg)
	os.MkdirAll(state, 0o700)
	saved := `{"version": "shop-7", "rules": {"version": "shop-7", "amount_due": [{"labels": ["待收款项"]}]}}`
	if err := os.WriteFile(filepath.Join(state, "rules.json"), []byte(saved), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := newLink(cfg, nil, nil, discard())
	if err != nil {
		t.Fatal(err)
	}
	if v := l.client.RulesVersion(); v != "shop-7" {
		t.Fatalf("rules version %q", v)
	}
	job, err := receiptgen.Encode([]byte("encoding: gbk\n\n单号: 2\n待收款项: 12.30\n@cut\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := receipt.Analyze(job, receipt.Options{}); rep.Payable {
		t.Fatal("the defaults already read the receipt as payable; the test proves nothing")
	}
	rep := receipt.Analyze(job, receipt.Options{Rules: l.currentRules()})
	if !rep.Payable || rep.AmountFen == nil || *rep.AmountFen != 1230 {
		t.Fatalf("with the saved rules: payable %v, amount %v, %s", rep.Payable, rep.AmountFen, rep.Reason)
	}
	// A push that does not parse is refused and changes nothing.
	if err := l.onRules("bad", json.RawMessage(`{"version": 3}`)); err == nil {
		t.Fatal("a broken rule set was accepted")
	}
	if rep := receipt.Analyze(job, receipt.Options{Rules: l.currentRules()}); !rep.Payable {
		t.Fatal("a refused push changed the rules in force")
	}
}

// paidAnotherWay must match the reasons the rules give for receipts paid in
// cash, by card or another wallet, and nothing else.
func TestPaidAnotherWay(t *testing.T) {
	set := rules.Default()
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"单号: 1\n合计: 56.00\n现金: 60.00\n找零: 4.00\n", true},
		{"单号: 1\n合计: 56.00\n实收: 56.00\n支付方式: 银行卡\n", true},
		{"单号: 1\n合计: 56.00\n支付宝支付: 56.00\n已支付\n", true},
		{"单号: 1\n应收金额: 56.00\n", false},
		{"退款单\n单号: 1\n退款金额: 56.00\n", false},
		{"厨房单\n宫保鸡丁 x1\n", false},
	} {
		d := set.Decide(strings.Split(strings.TrimSpace(tc.src), "\n"))
		if d.Payable && tc.want {
			t.Errorf("%q reads as payable", tc.src)
			continue
		}
		if got := !d.Payable && paidAnotherWay(d.Reason); got != tc.want {
			t.Errorf("%q: reason %q: paid another way %v, want %v", tc.src, d.Reason, got, tc.want)
		}
	}
}

func TestBounded(t *testing.T) {
	b := newBounded[int, int](3)
	for i := range 10 {
		b.put(i, i*i)
	}
	for i := range 10 {
		_, ok := b.get(i)
		if ok != (i >= 7) {
			t.Errorf("key %d kept %v", i, ok)
		}
	}
	b.del(8)
	b.put(10, 100)
	if _, ok := b.get(9); !ok {
		t.Error("a deleted key made a newer one go")
	}
	for i := range 1000 {
		b.put(i%5, i)
		b.del(i % 5)
	}
	if len(b.order) > 2*b.limit+1 || len(b.m) > b.limit {
		t.Errorf("grew to %d keys in order, %d in the map", len(b.order), len(b.m))
	}
}

// The status page's "after" preview rebuilds exactly what the printer got.
func TestPrintedFuncMatchesThePrinter(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers = cfg.Printers[:1]
	cfg.Server.URL = "local:"
	local, _, err := worker.ParseLocalQR(cfg.Server.URL)
	if err != nil {
		t.Fatal(err)
	}
	a := start(t, cfg, Options{Print: Workers(local)})
	job, err := receiptgen.Encode([]byte("encoding: gbk\n\n单号: 3\n应收金额: 12.00\n@feed 3\n@cut\n"))
	if err != nil {
		t.Fatal(err)
	}
	sendRaw(t, a.Raw["front"], job)
	var got struct {
		ID       string          `json:"id"`
		State    string          `json:"state"`
		QR       *string         `json:"qr"`
		Receipts json.RawMessage `json:"receipts"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for got.State != "done" || got.QR == nil {
		if time.Now().After(deadline) {
			t.Fatalf("job not printed: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
		resp, err := http.Get("http://" + a.Status + "/api/jobs")
		if err != nil {
			t.Fatal(err)
		}
		var jobs []json.RawMessage
		json.NewDecoder(resp.Body).Decode(&jobs)
		resp.Body.Close()
		if len(jobs) == 1 {
			json.Unmarshal(jobs[0], &got)
		}
	}
	if *got.QR != worker.QRSpliced {
		t.Fatalf("qr %q", *got.QR)
	}
	printed, err := os.ReadFile(filepath.Join(cfg.Printers[0].Device, got.ID+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := printedFunc(cfg)(spool.Job{ID: got.ID, Printer: "front", Result: spool.Result{Receipts: got.Receipts}}, job)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt, printed) || bytes.Equal(printed, job) {
		t.Fatalf("rebuilt %d bytes, the printer got %d (the job %d)", len(rebuilt), len(printed), len(job))
	}
}
