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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/agent"
	"printpay.dev/printpay/agent/cloud"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/internal/cupsd"
	"printpay.dev/printpay/internal/receiptgen"
	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/server/api"
	"printpay.dev/printpay/server/apiv1"
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
	if paidLine.qr() != worker.QRPaidLine || paidLine.otn() != first.otn() || !paidLine.Paid {
		t.Fatalf("reprint after payment: qr %q, out_trade_no %q, paid %v", paidLine.qr(), paidLine.otn(), paidLine.Paid)
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

// clFake is a misbehaving printpay-server: it welcomes the agent, then
// answers each qr.request as its mode says.
type clFake struct {
	t   testing.TB
	srv *http.Server
	url string

	mu      sync.Mutex
	mode    string        // ok | close | garbage | other | delay | cap
	delay   time.Duration // of mode "delay"; 0 = 10s
	conn    *websocket.Conn
	wmu     *sync.Mutex // the current connection's writer
	conns   int
	acks    map[string]bool
	cancels []apiv1.QRCancel
	reqs    []apiv1.QRRequest
	uploads int
}

func clStartFake(t testing.TB) *clFake {
	f := &clFake{t: t, mode: "ok", acks: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.url = "ws://" + ln.Addr().String() + "/v1/agent"
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve)}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *clFake) setMode(m string) {
	f.mu.Lock()
	f.mode = m
	f.mu.Unlock()
}

func (f *clFake) serve(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{Subprotocols: []string{apiv1.Subprotocol}}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	wmu := &sync.Mutex{}
	write := func(m apiv1.Message) {
		b, _ := apiv1.Encode(m)
		wmu.Lock()
		defer wmu.Unlock()
		c.WriteMessage(websocket.TextMessage, b)
	}
	_, b, err := c.ReadMessage()
	if err != nil {
		return
	}
	m, err := apiv1.Decode(b)
	hello, ok := m.(*apiv1.Hello)
	if err != nil || !ok {
		return
	}
	write(apiv1.Welcome{Re: hello.ID, ServerTime: time.Now(), DeviceID: "dev_fake", MerchantName: "fake shop"})
	f.mu.Lock()
	f.conn, f.wmu = c, wmu
	f.conns++
	f.mu.Unlock()
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		m, err := apiv1.Decode(b)
		if err != nil {
			continue
		}
		f.mu.Lock()
		mode := f.mode
		f.mu.Unlock()
		switch m := m.(type) {
		case *apiv1.QRRequest:
			f.mu.Lock()
			f.reqs = append(f.reqs, *m)
			f.mu.Unlock()
			own := apiv1.QRResponse{Re: m.ID, OutTradeNo: "T" + m.JobID, CodeURL: clFakeURL(m.JobID, m.ReceiptIndex), State: apiv1.StateOpen,
				ExpiresAt: time.Now().Add(15 * time.Minute)}
			switch mode {
			case "ok":
				write(own)
			case "close":
				c.Close()
				return
			case "garbage":
				wmu.Lock()
				c.WriteMessage(websocket.TextMessage, []byte(`{"type":"qr.response","re":`+"\x00"+`garbage`))
				wmu.Unlock()
			case "other":
				other := own
				other.Re, other.OutTradeNo, other.CodeURL = "01AAAAAAAAAAAAAAAAAAAAAAAA", "TOTHER", clFakeURL("another-job", 0)
				write(other)
			case "delay":
				f.mu.Lock()
				delay := f.delay
				f.mu.Unlock()
				if delay == 0 {
					delay = 10 * time.Second
				}
				go func() {
					time.Sleep(delay)
					write(own)
				}()
			case "cap":
				write(apiv1.Error{Re: m.ID, Code: apiv1.CodeAmountCap, Message: "above the merchant's amount cap"})
			}
		case *apiv1.QRCancel:
			f.mu.Lock()
			f.cancels = append(f.cancels, *m)
			f.mu.Unlock()
			write(apiv1.Ack{Re: m.ID})
		case *apiv1.ReceiptUpload:
			f.mu.Lock()
			f.uploads++
			f.mu.Unlock()
			write(apiv1.Ack{Re: m.ID})
		case *apiv1.Ack:
			f.mu.Lock()
			f.acks[m.Re] = true
			f.mu.Unlock()
		}
	}
}

// sendPaid sends an order.paid on the current connection.
func (f *clFake) sendPaid(id, outTradeNo string, amount int64) {
	f.mu.Lock()
	c, wmu := f.conn, f.wmu
	f.mu.Unlock()
	b, _ := apiv1.Encode(apiv1.OrderPaid{ID: id, OutTradeNo: outTradeNo, AmountFen: amount, TransactionID: "4200000000" + id[:8], PaidAt: time.Now()})
	wmu.Lock()
	defer wmu.Unlock()
	c.WriteMessage(websocket.TextMessage, b)
}

func (f *clFake) acked(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acks[id]
}

func clFakeURL(jobID string, receipt int) string {
	return fmt.Sprintf("weixin://wxpay/bizpayurl?pr=%s-%d", jobID, receipt)
}

// clStartAgent runs the agent alone against a server at url, printing to
// a preview folder; it returns the listeners, the folder and the logs.
func clStartAgent(t testing.TB, url string, tweak func(*config.Config)) (agent.Addrs, string, *clLog) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Intake.Raw, cfg.Intake.LPD, cfg.Status.Listen = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.Spool.Dir = filepath.Join(dir, "spool")
	cfg.Server.URL = url
	cfg.Server.TokenFile = filepath.Join(dir, "token")
	cfg.Log.File = ""
	if err := cloud.WriteToken(cfg.Server.TokenFile, "fake-device-token"); err != nil {
		t.Fatal(err)
	}
	p := config.DefaultPrinter()
	p.Name, p.Driver, p.Profile, p.Device = "preview", "file", "generic-80mm", filepath.Join(dir, "preview")
	os.MkdirAll(p.Device, 0o755)
	cfg.Printers = []config.Printer{p}
	if tweak != nil {
		tweak(&cfg)
	}
	logger, logs := clLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready, welcomed, done := make(chan agent.Addrs, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- agent.RunWith(ctx, cfg, logger, agent.Options{Print: agent.Workers(nil),
			Ready: func(a agent.Addrs) { ready <- a }, Welcomed: func() { close(welcomed) }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("the agent did not stop within 10s")
		}
	})
	var a agent.Addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("agent: %v", err)
	}
	if url != "" && agent.IsCloudURL(url) {
		select {
		case <-welcomed:
		case <-time.After(10 * time.Second):
			t.Fatal("the agent was not welcomed")
		}
	}
	return a, p.Device, logs
}

// TestCloudBadServer: whatever the server does — closes the socket
// mid-request, answers garbage or for another request, takes 10 s, refuses
// with amount_cap, announces the payment of an unknown order — the receipt
// prints on time, never with another receipt's QR, and the agent keeps
// (or gets back) its link.
func TestCloudBadServer(t *testing.T) {
	zbarimg := testenv.Tool(t, "zbarimg")
	f := clStartFake(t)
	const budget = 600 * time.Millisecond
	a, preview, _ := clStartAgent(t, f.url, func(c *config.Config) { c.Server.QRBudget = budget })
	raw := a.Raw["preview"]
	job := clRead(t, clSample)

	// wantQR "timeout": the budget ran out and the answer is still awaited
	// (qr stays null until it comes or the wait ends).
	check := func(mode, wantQR string) {
		t.Helper()
		f.setMode(mode)
		clWait(t, "the link before "+mode, 30*time.Second, func() bool { return clServer(t, a.Status).Connected })
		j, took := clPrint(t, a.Status, raw, job, wantQR != worker.QRTimeout)
		if took > budget+time.Second {
			t.Errorf("%s: the job took %s to print (qr_budget %s)", mode, took, budget)
		}
		codes := clScan(t, zbarimg, filepath.Join(preview, j.ID+".png"))
		switch {
		case wantQR == worker.QRSpliced:
			if len(codes) != 1 || codes[0] != clFakeURL(j.ID, 0) {
				t.Errorf("%s: printed QR %q, want this job's %q", mode, codes, clFakeURL(j.ID, 0))
			}
		case len(codes) != 0:
			t.Errorf("%s: printed QR %q, want none", mode, codes)
		}
		switch {
		case wantQR == worker.QRTimeout:
			if j.QR != nil && j.qr() != worker.QRTimeout {
				t.Errorf("%s: qr %q (%s), want null or %q", mode, j.qr(), clStr(j.QRReason), wantQR)
			}
		case j.qr() != wantQR:
			t.Errorf("%s: qr %q (%s), want %q", mode, j.qr(), clStr(j.QRReason), wantQR)
		}
		t.Logf("%s: printed in %s, qr %q: %s", mode, took.Round(time.Millisecond), j.qr(), clStr(j.QRReason))
	}
	check("ok", worker.QRSpliced)
	check("close", worker.QRError)
	check("garbage", worker.QRTimeout)
	check("other", worker.QRTimeout)
	check("cap", worker.QRError)
	check("delay", worker.QRTimeout) // "late" once the answer comes, 10 s later
	check("ok", worker.QRSpliced)

	// An order.paid for an order the agent never printed is acked.
	f.sendPaid("01BBBBBBBBBBBBBBBBBBBBBBBB", "NOSUCHORDER", 100)
	clWait(t, "the ack of an unknown order.paid", 5*time.Second, func() bool { return f.acked("01BBBBBBBBBBBBBBBBBBBBBBBB") })
	if !clServer(t, a.Status).Connected {
		t.Error("the link dropped after an unknown order.paid")
	}
}

// TestCloudCancel: when a later receipt of the same POS order shows it paid
// in cash, the agent cancels the open order it got for the bill.
func TestCloudCancel(t *testing.T) {
	f := clStartFake(t)
	a, _, _ := clStartAgent(t, f.url, nil)
	raw := a.Raw["preview"]
	bill, err := receiptgen.Encode([]byte("encoding: gbk\n\n单号: 2611269999\n合计: 56.00\n应收金额: 56.00\n@cut\n"))
	if err != nil {
		t.Fatal(err)
	}
	paidCash, err := receiptgen.Encode([]byte("encoding: gbk\n\n单号: 2611269999\n合计: 56.00\n现金: 60.00\n找零: 4.00\n@cut\n"))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := clPrint(t, a.Status, raw, bill, true)
	if j.qr() != worker.QRSpliced {
		t.Fatalf("bill: qr %q (%s)", j.qr(), clStr(j.QRReason))
	}
	f.mu.Lock()
	req := f.reqs[len(f.reqs)-1]
	f.mu.Unlock()
	if req.JobID != j.ID || req.AmountFen != 5600 || req.OrderNo != "2611269999" || req.Printer != "preview" || req.Currency != "CNY" ||
		req.Receipt == nil || req.Receipt.Encoding != "gb18030" || req.Receipt.AmountFen != 5600 || len(req.Receipt.Lines) != 0 {
		t.Fatalf("qr.request %+v, receipt %+v", req, req.Receipt)
	}
	k, _ := clPrint(t, a.Status, raw, paidCash, true)
	if clStr(k.OrderNo) != "2611269999" || k.Payable == nil || *k.Payable {
		t.Fatalf("the cash receipt reads as order %q, payable %v", clStr(k.OrderNo), k.Payable)
	}
	clWait(t, "qr.cancel", 5*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.cancels) == 1
	})
	f.mu.Lock()
	c := f.cancels[0]
	f.mu.Unlock()
	if c.OutTradeNo != "T"+j.ID || c.Reason == "" {
		t.Fatalf("qr.cancel %+v, want out_trade_no T%s with a reason", c, j.ID)
	}
	// A second cash receipt of the same bill cancels nothing more.
	clPrint(t, a.Status, raw, paidCash, true)
	time.Sleep(200 * time.Millisecond)
	f.mu.Lock()
	n := len(f.cancels)
	f.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d qr.cancel frames, want 1", n)
	}
}

// TestEnrollCommand: printpay enroll against the real server writes the
// token file (owner-only) and the [server] url of a config that had none,
// and says clearly when the code is wrong or the server unreachable.
func TestEnrollCommand(t *testing.T) {
	d := clStartDemo(t, nil)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := dispatch(context.Background(), stdio{strings.NewReader(""), &out, &errb}, append([]string{"enroll"}, args...))
		return code, out.String(), errb.String()
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "printpay.toml")
	os.WriteFile(cfgFile, []byte("# till 1\n[server]\ntoken_file = \"till.token\"\nupload = \"items\"\n\n[status]\nlisten = \"127.0.0.1:0\"\n"), 0o600)
	code, _, err := d.Store.NewPairingCode(context.Background(), demoMerchant)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + d.ServerAddr
	if c, out, errs := run("--server", base, "--code", code, "--config", cfgFile); c != 0 || !strings.Contains(out, "device id dev_") {
		t.Fatalf("enroll: exit %d\n%s%s", c, out, errs)
	}
	tok := filepath.Join(dir, "till.token")
	fi, err := os.Stat(tok)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v", err, fi)
	}
	token, err := cloud.ReadToken(tok)
	if err != nil || token == "" {
		t.Fatalf("token: %q, %v", token, err)
	}
	if _, err := d.Store.DeviceByToken(context.Background(), token); err != nil {
		t.Fatalf("the server does not know the token: %v", err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ws://" + d.ServerAddr + "/v1/agent"; cfg.Server.URL != want || cfg.Server.Upload != "items" || cfg.Status.Listen != "127.0.0.1:0" {
		t.Fatalf("config after enroll: url %q (want %q), upload %q, listen %q", cfg.Server.URL, want, cfg.Server.Upload, cfg.Status.Listen)
	}

	// The same code again: refused, with the server's reason.
	if c, _, errs := run("--server", base, "--code", code, "--config", cfgFile); c != 1 || !strings.Contains(errs, "refused the pairing code") {
		t.Fatalf("a used code: exit %d, %q", c, errs)
	}
	// Nobody there.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln.Addr().String()
	ln.Close()
	if c, _, errs := run("--server", "http://"+gone, "--code", "ABCDEFGHJK", "--config", cfgFile); c != 1 || !strings.Contains(errs, "cannot reach the server") {
		t.Fatalf("no server: exit %d, %q", c, errs)
	}
	// Usage.
	if c, _, _ := run("--server", base); c != 2 {
		t.Fatalf("no --code: exit %d, want 2", c)
	}
}

func TestWithServerURL(t *testing.T) {
	const line = `url = "wss://pay.example.com/v1/agent"`
	for _, tc := range []struct{ in, want string }{
		{"", "\n[server]\n" + line + "\n"},
		{"[spool]\ndir = \"x\"", "[spool]\ndir = \"x\"\n\n[server]\n" + line + "\n"},
		{"[server]\nqr_budget = \"1s\"\n", "[server]\n" + line + "\nqr_budget = \"1s\"\n"},
		{"[server]\nurl = \"\"\n[log]\n", "[server]\n" + line + "\n[log]\n"},
		{"[[printer]]\nname = \"server\"\nurl = 1\n", "[[printer]]\nname = \"server\"\nurl = 1\n\n[server]\n" + line + "\n"},
	} {
		if got := string(withServerURL([]byte(tc.in), line)); got != tc.want {
			t.Errorf("withServerURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for in, want := range map[string]string{
		"pay.example.com":                   "https://pay.example.com",
		"https://pay.example.com/":          "https://pay.example.com",
		"wss://pay.example.com/v1/agent":    "https://pay.example.com",
		"ws://127.0.0.1:9280/v1/agent":      "http://127.0.0.1:9280",
		"http://127.0.0.1:9280/base/?x=1#f": "http://127.0.0.1:9280/base",
	} {
		if got, err := enrollBase(in); err != nil || got != want {
			t.Errorf("enrollBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := enrollBase("ftp://x"); err == nil {
		t.Error("enrollBase accepted ftp://")
	}
}

// TestCloudRulesPush: the merchant's rules pushed by the server are merged
// over the defaults and used from the next job on, and kept for offline use.
func TestCloudRulesPush(t *testing.T) {
	d := clStartDemo(t, nil)
	raw := d.Addrs.Raw[d.Printer]
	job, err := receiptgen.Encode([]byte("encoding: gbk\n\n单号: 2611268888\n待收款项: 12.30\n@cut\n"))
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := clPrint(t, d.Addrs.Status, raw, job, true); j.Payable == nil || *j.Payable {
		t.Fatalf("with the default rules the receipt reads as payable: %s", clStr(j.QRReason))
	}
	d.mu.Lock()
	srv := d.server
	d.mu.Unlock()
	body := []byte(`{"version": "shop-1", "amount_due": [{"labels": ["待收款项"]}]}`)
	if err := srv.PushRules(context.Background(), demoMerchant, "shop-1", body); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Server struct {
			RulesVersion string `json:"rules_version"`
		} `json:"server"`
	}
	clWait(t, "the rules to arrive", 10*time.Second, func() bool {
		clGetJSON(t, "http://"+d.Addrs.Status+"/api/status", &st)
		return st.Server.RulesVersion == "shop-1"
	})
	j, _ := clPrint(t, d.Addrs.Status, raw, job, true)
	if j.qr() != worker.QRSpliced || j.AmountFen == nil || *j.AmountFen != 1230 {
		t.Fatalf("with the merchant's rules: qr %q (%s), amount %v", j.qr(), clStr(j.QRReason), j.AmountFen)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(d.Config.Spool.Dir), "cloud", "rules.json")); err != nil {
		t.Fatalf("the rules are not kept on disk: %v", err)
	}
}

// clPrinter is a network printer on loopback that reports when the stream
// it received ends with a cut.
type clPrinter struct {
	addr string
	cuts chan time.Time
}

func clStartPrinter(t testing.TB) *clPrinter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &clPrinter{addr: ln.Addr().String(), cuts: make(chan time.Time, 1024)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				cut := []byte{0x1D, 0x56, 0x41, 0x00}
				var tail []byte
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						tail = append(tail, buf[:n]...)
						if len(tail) > len(cut) {
							tail = tail[len(tail)-len(cut):]
						}
						if bytes.Equal(tail, cut) {
							p.cuts <- time.Now()
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

var clBenchOrder int

// BenchmarkCloudReceipt measures a receipt from the end of its job at the
// agent's raw port to the last byte (its cut) at a network printer:
// payable (agent → server → sandbox → back, the QR spliced), payable with
// the server down (no wait), and not payable. p50 and p99 in ms.
func BenchmarkCloudReceipt(b *testing.B) {
	bench := func(b *testing.B, payable, serverDown bool) {
		pr := clStartPrinter(b)
		p := config.DefaultPrinter()
		p.Name, p.Driver, p.Device, p.Profile = "front", "tcp", pr.addr, "generic-80mm"
		d := clStartDemo(b, func(o *demoOptions) {
			o.Printer = &p
			o.Logger, o.ServerLogger = slog.New(slog.DiscardHandler), slog.New(slog.DiscardHandler)
			// Measure latency, not the server's per-device frame limit.
			o.Server = func(so *api.Options) { so.RateLimit, so.RateBurst = 1e6, 1e6 }
		})
		if serverDown {
			if err := d.StopServer(); err != nil {
				b.Fatal(err)
			}
			clWait(b, "the link to drop", 10*time.Second, func() bool { return !clServer(b, d.Addrs.Status).Connected })
		}
		raw := d.Addrs.Raw[d.Printer]
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			clBenchOrder++
			src := strings.Replace(demoSampleSource, "单号: 2611260012", fmt.Sprintf("单号: 27%08d", clBenchOrder), 1)
			if !payable {
				src = strings.Replace(src, "应收金额: 110.60", "厨房联", 1)
				src = strings.Replace(src, "消费合计:                 114.00", "", 1)
			}
			job, err := receiptgen.Encode([]byte(src))
			if err != nil {
				b.Fatal(err)
			}
			c, err := net.Dial("tcp", raw)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(job); err != nil {
				b.Fatal(err)
			}
			c.(*net.TCPConn).CloseWrite()
			end := time.Now()
			select {
			case at := <-pr.cuts:
				lat = append(lat, at.Sub(end))
			case <-time.After(10 * time.Second):
				b.Fatal("the receipt did not reach the printer")
			}
			c.Close()
		}
		b.StopTimer()
		slices.Sort(lat)
		ms := func(q float64) float64 {
			return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
		}
		b.ReportMetric(ms(0.50), "p50-ms")
		b.ReportMetric(ms(0.99), "p99-ms")
		if payable && !serverDown {
			var jobs []clJob
			clWait(b, "the last job's outcome", 10*time.Second, func() bool {
				clGetJSON(b, "http://"+d.Addrs.Status+"/api/jobs?limit=1000000", &jobs)
				return len(jobs) > 0 && jobs[0].QR != nil
			})
			for _, j := range jobs {
				if q := j.qr(); q != worker.QRSpliced {
					b.Fatalf("a payable receipt printed with qr %q (%s)", q, clStr(j.QRReason))
				}
			}
		}
	}
	b.Run("payable", func(b *testing.B) { bench(b, true, false) })
	b.Run("server-down", func(b *testing.B) { bench(b, true, true) })
	b.Run("not-payable", func(b *testing.B) { bench(b, false, false) })
}

// TestDemoPayButton: the status page's "play the customer paying" button
// (POST /api/jobs/{id}/demo-pay) pays the job's order in the demo's sandbox.
func TestDemoPayButton(t *testing.T) {
	d := clStartDemo(t, nil)
	j, _ := clPrint(t, d.Addrs.Status, d.Addrs.Raw[d.Printer], clRead(t, clSample), true)
	if j.qr() != worker.QRSpliced {
		t.Fatalf("qr %q (%s)", j.qr(), clStr(j.QRReason))
	}
	var csrf struct{ Header, Token string }
	clGetJSON(t, "http://"+d.Addrs.Status+"/api/csrf", &csrf)
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.Addrs.Status+"/api/jobs/"+j.ID+"/demo-pay", nil)
	req.Header.Set(csrf.Header, csrf.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("demo-pay: %s: %s", resp.Status, b)
	}
	clWait(t, "paid: true", 5*time.Second, func() bool { return clJobByID(t, d.Addrs.Status, j.ID).Paid })
	if _, err := os.Stat(filepath.Join(d.Preview, j.ID+"-paid.png")); err != nil {
		clWait(t, "the paid slip", 5*time.Second, func() bool {
			_, err := os.Stat(filepath.Join(d.Preview, j.ID+"-paid.png"))
			return err == nil
		})
	}
}

// TestCloudLateQR: an answer that comes after qr_budget leaves the receipt
// printed without its QR, turns the job's qr to "late" with the order, and
// is logged (there is no customer display to show it yet).
func TestCloudLateQR(t *testing.T) {
	f := clStartFake(t)
	f.mu.Lock()
	f.mode, f.delay = "delay", 700*time.Millisecond
	f.mu.Unlock()
	a, _, logs := clStartAgent(t, f.url, func(c *config.Config) { c.Server.QRBudget = 200 * time.Millisecond })
	j, _ := clPrint(t, a.Status, a.Raw["preview"], clRead(t, clSample), true)
	if j.qr() != worker.QRLate || j.otn() != "T"+j.ID {
		t.Fatalf("qr %q (%s), out_trade_no %q", j.qr(), clStr(j.QRReason), j.otn())
	}
	clWait(t, "the late QR in the log", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "came after qr_budget") && strings.Contains(logs.String(), "T"+j.ID)
	})
}
