package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/internal/cupsd"
	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/store"
)

// The end-to-end tests of the server link run the real agent, the real
// printpay-server on SQLite and the WeChat Pay sandbox behind the official
// SDK, in this process, as `printpay demo` does; CUPS lp sends the jobs and
// zbarimg reads the QR codes from the preview printer's pictures.

const (
	clSample       = "../../../testdata/receipts/keruyun-prebill-gbk.bin" // 应收金额 110.60, 单号 2611260012
	clSampleAmount = 11060
	clSampleOrder  = "2611260012"
	clSample2      = "../../../testdata/receipts/keruyun-prebill-gbkfs.bin" // 88.00, 单号 2611260045
)

// Sandbox keys are slow to make: one set for the whole test binary.
var (
	clKeysOnce    sync.Once
	clKeys        *sandbox.Keys
	clMerchantKey *rsa.PrivateKey
	clKeysErr     error
)

// clLog collects a test's logs and shows them when it fails.
type clLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *clLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *clLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func clLogger(t testing.TB) (*slog.Logger, *clLog) {
	l := &clLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", l.String())
		}
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// clStartDemo starts sandbox, server and agent as printpay demo does.
func clStartDemo(t testing.TB, tweak func(*demoOptions)) *demo {
	t.Helper()
	clKeysOnce.Do(func() {
		if clKeys, clKeysErr = sandbox.GenerateKeys(); clKeysErr == nil {
			clMerchantKey, clKeysErr = rsa.GenerateKey(rand.Reader, 2048)
		}
	})
	if clKeysErr != nil {
		t.Fatal(clKeysErr)
	}
	logger, _ := clLogger(t)
	opt := demoOptions{
		Dir: t.TempDir(), Logger: logger, ServerLogger: logger,
		Sandbox:  func(c *sandbox.Config) { c.Keys = clKeys },
		Merchant: sandbox.Merchant{PrivateKey: clMerchantKey},
	}
	if tweak != nil {
		tweak(&opt)
	}
	d, err := startDemo(context.Background(), opt)
	if err != nil {
		if d != nil {
			d.Close()
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("demo close: %v", err)
		}
	})
	return d
}

// clJob is a job as GET /api/jobs shows it.
type clJob struct {
	ID         string  `json:"id"`
	State      string  `json:"state"`
	Payable    *bool   `json:"payable"`
	AmountFen  *int64  `json:"amount_fen"`
	OrderNo    *string `json:"order_no"`
	OutTradeNo *string `json:"out_trade_no"`
	QR         *string `json:"qr"`
	QRReason   *string `json:"qr_reason"`
	Paid       bool    `json:"paid"`
	Receipts   []struct {
		Index      int    `json:"index"`
		OutTradeNo string `json:"out_trade_no"`
		CodeURL    string `json:"code_url"`
		QR         string `json:"qr"`
	} `json:"receipts"`
}

func (j clJob) qr() string  { return clStr(j.QR) }
func (j clJob) otn() string { return clStr(j.OutTradeNo) }

func clStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func clGetJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func clJobs(t testing.TB, statusAddr string) []clJob {
	t.Helper()
	var jobs []clJob
	clGetJSON(t, "http://"+statusAddr+"/api/jobs", &jobs)
	return jobs
}

func clJobByID(t testing.TB, statusAddr, id string) clJob {
	t.Helper()
	for _, j := range clJobs(t, statusAddr) {
		if j.ID == id {
			return j
		}
	}
	t.Fatalf("job %s not listed", id)
	return clJob{}
}

// clLink is the "server" panel of GET /api/status.
type clLink struct {
	Connected     bool   `json:"connected"`
	LastError     string `json:"last_error"`
	QueuedUploads int    `json:"queued_uploads"`
}

func clServer(t testing.TB, statusAddr string) clLink {
	t.Helper()
	var st struct {
		Server clLink `json:"server"`
	}
	clGetJSON(t, "http://"+statusAddr+"/api/status", &st)
	return st.Server
}

func clWait(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clPrint sends job to the raw listener and returns the new job once its
// printing is done; final also waits for its QR outcome.
func clPrint(t testing.TB, statusAddr, rawAddr string, job []byte, final bool) (clJob, time.Duration) {
	t.Helper()
	before := len(clJobs(t, statusAddr))
	start := time.Now()
	if _, err := send(context.Background(), rawAddr, bytes.NewReader(job), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return clWaitNew(t, statusAddr, before, start, final)
}

func clWaitNew(t testing.TB, statusAddr string, before int, start time.Time, final bool) (clJob, time.Duration) {
	t.Helper()
	var got clJob
	var took time.Duration
	clWait(t, "the job to print", 30*time.Second, func() bool {
		jobs := clJobs(t, statusAddr)
		if len(jobs) <= before || jobs[0].State != "done" {
			return false
		}
		if took == 0 {
			took = time.Since(start)
		}
		got = jobs[0]
		return !final || got.QR != nil
	})
	return got, took
}

// clScan reads the QR codes in a picture with zbarimg.
func clScan(t testing.TB, zbarimg, png string) []string {
	t.Helper()
	out, err := exec.Command(zbarimg, "-q", "--raw", "-Sdisable", "-Sqrcode.enable", png).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 4 {
		return nil // no symbol found
	}
	if err != nil {
		t.Fatalf("zbarimg %s: %v", png, err)
	}
	return strings.Fields(strings.TrimSpace(string(out)))
}

// clSandboxOrder is the sandbox's record of an order.
func clSandboxOrder(t testing.TB, sandboxAddr, outTradeNo string) (codeURL string, total int64) {
	t.Helper()
	var list []struct {
		OutTradeNo string `json:"out_trade_no"`
		CodeURL    string `json:"code_url"`
		Amount     struct {
			Total int64 `json:"total"`
		} `json:"amount"`
	}
	clGetJSON(t, "http://"+sandboxAddr+"/sandbox/orders", &list)
	for _, o := range list {
		if o.OutTradeNo == outTradeNo {
			return o.CodeURL, o.Amount.Total
		}
	}
	t.Fatalf("the sandbox has no order %s", outTradeNo)
	return "", 0
}

func clPay(t testing.TB, sandboxAddr, outTradeNo string) {
	t.Helper()
	resp, err := http.Post("http://"+sandboxAddr+"/sandbox/pay/"+outTradeNo, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sandbox pay %s: %s: %s", outTradeNo, resp.Status, b)
	}
}

func clRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCloudPaidLoop follows a bill through the product: lp prints a payable
// GBK pre-bill through CUPS to the agent; it comes out of the preview
// printer with the sandbox's code_url for an order of its amount; a reprint
// gets the same order and QR; the customer pays in the sandbox; within a
// second the job is paid in /api/jobs and the paid slip prints; a reprint of
// the paid bill gets the paid line instead of a QR.
func TestCloudPaidLoop(t *testing.T) {
	zbarimg := testenv.Tool(t, "zbarimg")
	testenv.Tool(t, "lp")
	if _, err := os.Stat("/usr/sbin/cupsd"); err != nil {
		testenv.Tool(t, "cupsd")
	}
	d := clStartDemo(t, nil)
	sample, err := filepath.Abs(clSample)
	if err != nil {
		t.Fatal(err)
	}
	job := clRead(t, sample)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cups, err := cupsd.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cups.Close()
	if err := cups.AddQueue("till", "socket://"+d.Addrs.Raw[d.Printer]); err != nil {
		t.Fatal(err)
	}
	if err := cups.LP("till", sample); err != nil {
		t.Fatalf("lp: %v\n%s", err, cups.ErrorLog())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cupsd error log:\n%s", cups.ErrorLog())
		}
	})
	first, _ := clWaitNew(t, d.Addrs.Status, 0, time.Now(), true)
	if first.qr() != worker.QRSpliced || first.otn() == "" || first.AmountFen == nil || *first.AmountFen != clSampleAmount {
		t.Fatalf("lp job: qr %q (%s), out_trade_no %q, amount %v", first.qr(), clStr(first.QRReason), first.otn(), first.AmountFen)
	}
	codes := clScan(t, zbarimg, filepath.Join(d.Preview, first.ID+".png"))
	codeURL, total := clSandboxOrder(t, d.SandboxAddr, first.otn())
	if len(codes) != 1 || codes[0] != codeURL || total != clSampleAmount {
		t.Fatalf("printed QR %q; the sandbox's order %s has code_url %q for %d fen", codes, first.otn(), codeURL, total)
	}
	if !strings.HasPrefix(codeURL, "weixin://") {
		t.Fatalf("code_url %q", codeURL)
	}

	// A reprint of the same bill: the same order, the same QR.
	again, _ := clPrint(t, d.Addrs.Status, d.Addrs.Raw[d.Printer], job, true)
	if again.qr() != worker.QRSpliced || again.otn() != first.otn() {
		t.Fatalf("reprint: qr %q, out_trade_no %q, want the first's %q", again.qr(), again.otn(), first.otn())
	}
	if codes := clScan(t, zbarimg, filepath.Join(d.Preview, again.ID+".png")); len(codes) != 1 || codes[0] != codeURL {
		t.Fatalf("reprint QR %q, want %q", codes, codeURL)
	}

	// The customer pays.
	clPay(t, d.SandboxAddr, first.otn())
	paidAt := time.Now()
	clWait(t, "both jobs of the bill to show paid", 10*time.Second, func() bool {
		return clJobByID(t, d.Addrs.Status, first.ID).Paid && clJobByID(t, d.Addrs.Status, again.ID).Paid
	})
	if took := time.Since(paidAt); took > time.Second {
		t.Errorf("paid: true came %s after the payment, want within 1s", took)
	}
	// One paid notice, for the job that printed the order last.
	prof, err := profiles.Lookup("generic-80mm")
	if err != nil {
		t.Fatal(err)
	}
	var slipPath string
	clWait(t, "the paid slip", 10*time.Second, func() bool {
		p := filepath.Join(d.Preview, again.ID+"-paid.bin")
		if _, err := os.Stat(p); err == nil {
			slipPath = p
			return true
		}
		return false
	})
	if _, err := os.Stat(filepath.Join(d.Preview, first.ID+"-paid.bin")); err == nil {
		t.Errorf("two paid slips for one payment")
	}
	want := worker.PaidSlip(worker.Notice{JobID: again.ID, AmountFen: clSampleAmount, OrderNo: clSampleOrder, Encoding: "gb18030"}, prof.Cut)
	clWait(t, "the whole paid slip", 5*time.Second, func() bool { return bytes.Equal(clRead(t, slipPath), want) })

	// A reprint of the paid bill: the paid line, no QR.
	paidLine, _ := clPrint(t, d.Addrs.Status, d.Addrs.Raw[d.Printer], job, true)
	if paidLine.qr() != worker.QRPaidLine || paidLine.otn() != first.otn() {
		t.Fatalf("reprint after payment: qr %q, out_trade_no %q", paidLine.qr(), paidLine.otn())
	}
	if codes := clScan(t, zbarimg, filepath.Join(d.Preview, paidLine.ID+".png")); len(codes) != 0 {
		t.Fatalf("the paid bill's reprint carries a QR: %q", codes)
	}
	printed := clRead(t, filepath.Join(d.Preview, paidLine.ID+".bin"))
	if !bytes.Contains(printed, []byte{0xD2, 0xD1, 0xD6, 0xA7, 0xB8, 0xB6}) { // 已支付 in GBK
		t.Fatalf("the paid bill's reprint has no paid line")
	}
}

// clLedger is what reached the server's ledger.
func clLedger(t testing.TB, d *demo) []store.Receipt {
	t.Helper()
	receipts, err := d.Store.Receipts(context.Background(), demoMerchant)
	if err != nil {
		t.Fatal(err)
	}
	return receipts
}

// TestCloudServerDown: with the server stopped the receipt prints at once
// without a QR, saying why; when the server is back the agent reconnects,
// later receipts get QRs, and the uploads queued meanwhile reach the ledger
// exactly once.
func TestCloudServerDown(t *testing.T) {
	d := clStartDemo(t, nil)
	raw := d.Addrs.Raw[d.Printer]
	job := clRead(t, clSample)
	job2 := clRead(t, clSample2)

	if j, _ := clPrint(t, d.Addrs.Status, raw, job, true); j.qr() != worker.QRSpliced {
		t.Fatalf("with the server up: qr %q (%s)", j.qr(), clStr(j.QRReason))
	}
	clWait(t, "the first upload", 10*time.Second, func() bool { return len(clLedger(t, d)) == 1 })

	if err := d.StopServer(); err != nil {
		t.Fatal(err)
	}
	clWait(t, "the link to drop", 10*time.Second, func() bool { return !clServer(t, d.Addrs.Status).Connected })
	down, took := clPrint(t, d.Addrs.Status, raw, job2, true)
	if down.qr() != worker.QRNone || !strings.Contains(clStr(down.QRReason), "link is down") {
		t.Fatalf("with the server down: qr %q, reason %q", down.qr(), clStr(down.QRReason))
	}
	if took > d.Config.Server.QRBudget {
		t.Errorf("with the server down the job took %s, more than qr_budget %s", took, d.Config.Server.QRBudget)
	}
	if q := clServer(t, d.Addrs.Status).QueuedUploads; q != 1 {
		t.Fatalf("queued uploads while down: %d, want 1", q)
	}

	if err := d.StartServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	clWait(t, "the agent to reconnect", 45*time.Second, func() bool { return clServer(t, d.Addrs.Status).Connected })
	clWait(t, "the queued upload to be acked", 10*time.Second, func() bool { return clServer(t, d.Addrs.Status).QueuedUploads == 0 })
	back, _ := clPrint(t, d.Addrs.Status, raw, clRead(t, "../../../testdata/receipts/meituan-pos-prebill.bin"), true)
	if back.qr() != worker.QRSpliced {
		t.Fatalf("after reconnecting: qr %q (%s)", back.qr(), clStr(back.QRReason))
	}
	clWait(t, "the last upload", 10*time.Second, func() bool { return len(clLedger(t, d)) == 3 })
	receipts := clLedger(t, d)
	seen := map[string]int{}
	for _, r := range receipts {
		seen[fmt.Sprintf("%s/%d", r.JobID, r.ReceiptIndex)]++
	}
	jobs := clJobs(t, d.Addrs.Status)
	if len(seen) != len(jobs) || len(receipts) != len(jobs) {
		t.Fatalf("the ledger has %d receipts (%v) for %d jobs", len(receipts), seen, len(jobs))
	}
	for _, j := range jobs {
		if seen[j.ID+"/0"] != 1 {
			t.Errorf("job %s reached the ledger %d times", j.ID, seen[j.ID+"/0"])
		}
	}
	if d.Config.Server.Upload == "items" {
		for _, r := range receipts {
			if bytes.Contains(r.Body, []byte(`"lines":["`)) {
				t.Errorf("upload = items, but the ledger has lines: %s", r.Body)
			}
		}
	}
}
