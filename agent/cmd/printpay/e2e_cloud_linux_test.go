//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"printpay.dev/printpay/agent/cloud"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/render"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/internal/cupsd"
	"printpay.dev/printpay/internal/receiptgen"
	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/store"
)

// TestCloudPtyPrinter is issue 10's "done when" on a serial printer: a
// payable GBK receipt sent with lp comes out of the pty printer with a QR
// that zbarimg reads (from agent/render's picture of the bytes the printer
// got) as the sandbox's code_url for an order of the right amount; paying
// it in the sandbox makes the job paid: true within a second and the paid
// slip comes out of the same printer.
func TestCloudPtyPrinter(t *testing.T) {
	zbarimg := testenv.Tool(t, "zbarimg")
	testenv.Tool(t, "lp")
	if _, err := os.Stat("/usr/sbin/cupsd"); err != nil {
		testenv.Tool(t, "cupsd")
	}
	fp := newFakePrinter(t)
	p := config.DefaultPrinter()
	p.Name, p.Driver, p.Device, p.Baud, p.Profile = "front", "serial", fp.Device, 115200, "generic-80mm"
	d := clStartDemo(t, func(o *demoOptions) { o.Printer = &p })

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
	sample, err := filepath.Abs(clSample)
	if err != nil {
		t.Fatal(err)
	}
	if err := cups.LP("till", sample); err != nil {
		t.Fatalf("lp: %v\n%s", err, cups.ErrorLog())
	}
	j, _ := clWaitNew(t, d.Addrs.Status, 0, time.Now(), true)
	if j.qr() != worker.QRSpliced {
		t.Fatalf("qr %q (%s)", j.qr(), clStr(j.QRReason))
	}
	prof, err := profiles.Lookup(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	if !fp.WaitFor(func(b []byte) bool { return bytes.HasSuffix(b, []byte{0x1D, 0x56, 0x41, 0x00}) }, 10*time.Second) {
		t.Fatalf("the receipt did not reach the printer whole (%d bytes)", fp.Len())
	}
	printed := fp.Bytes(0)
	png, _, err := render.PNG(printed, render.Options{PaperDots: prof.PaperDots})
	if err != nil {
		t.Fatal(err)
	}
	pic := filepath.Join(t.TempDir(), "printed.png")
	if err := os.WriteFile(pic, png, 0o644); err != nil {
		t.Fatal(err)
	}
	codes := clScan(t, zbarimg, pic)
	codeURL, total := clSandboxOrder(t, d.SandboxAddr, j.otn())
	if len(codes) != 1 || codes[0] != codeURL || total != clSampleAmount {
		t.Fatalf("the pty printer printed QR %q; the sandbox's order %s has %q for %d fen", codes, j.otn(), codeURL, total)
	}

	clPay(t, d.SandboxAddr, j.otn())
	paidAt := time.Now()
	clWait(t, "paid: true", 10*time.Second, func() bool { return clJobByID(t, d.Addrs.Status, j.ID).Paid })
	if took := time.Since(paidAt); took > time.Second {
		t.Errorf("paid: true came %s after the payment, want within 1s", took)
	}
	slip := worker.PaidSlip(worker.Notice{JobID: j.ID, AmountFen: clSampleAmount, OrderNo: clSampleOrder, Encoding: "gb18030"}, prof.Cut)
	if !fp.WaitFor(func(b []byte) bool { return bytes.Equal(b[min(len(b), len(printed)):], slip) }, 10*time.Second) {
		t.Fatalf("after the receipt the printer got %q, want the paid slip %q", fp.Bytes(len(printed)), slip)
	}
}

// clServerProc is printpay-server running as its own process.
type clServerProc struct {
	t       *testing.T
	bin     string
	config  string
	listen  string
	db      string
	sandbox string // the sandbox's address
	cmd     *exec.Cmd
	done    chan error
	logs    *clLog
}

func (s *clServerProc) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "serve", "--config", s.config)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	s.done = done
	cmd := s.cmd
	go func() { done <- cmd.Wait() }()
	clWait(s.t, "printpay-server to answer /healthz", 30*time.Second, func() bool {
		resp, err := http.Get("http://" + s.listen + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (s *clServerProc) kill() {
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	<-s.done
}

// clStartServerProc builds printpay-server, configures it with a merchant
// of an in-process sandbox (public-key mode), migrates its SQLite database,
// mints a pairing code with `merchant code` and starts `serve`.
func clStartServerProc(t *testing.T) (*clServerProc, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs printpay-server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "printpay-server")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../server/cmd/printpay-server").CombinedOutput(); err != nil {
		t.Fatalf("go build printpay-server: %v\n%s", err, out)
	}

	// The sandbox, in this process; the server reaches it over loopback.
	d := clStartDemo(t, nil) // only for its sandbox and shared keys
	cr, err := d.Sandbox.AddMerchant(sandbox.Merchant{MchID: "1900000222", AppID: "wx1900000222", PrivateKey: clMerchantKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.WriteFiles(filepath.Join(dir, "keys"), d.SandboxAddr); err != nil {
		t.Fatal(err)
	}
	block := clRead(t, filepath.Join(dir, "keys", sandbox.FileMerchantTOML))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	listen := ln.Addr().String()
	ln.Close()
	db := filepath.Join(dir, "server.db")
	cfgPath := filepath.Join(dir, "server.toml")
	if err := os.WriteFile(cfgPath, []byte("listen = \""+listen+"\"\ndatabase = \"sqlite:"+db+"\"\n"+string(block)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "migrate", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("printpay-server migrate: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "merchant", "code", "--config", cfgPath, "--id", "sandbox").Output()
	if err != nil {
		t.Fatalf("merchant code: %v", err)
	}
	logs := &clLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("printpay-server:\n%s", logs.String())
		}
	})
	srv := &clServerProc{t: t, bin: bin, config: cfgPath, listen: listen, db: db, sandbox: d.SandboxAddr, logs: logs}
	srv.start()
	return srv, strings.TrimSpace(string(out))
}

// TestCloudServerProcess runs printpay-server as a process and freezes
// (SIGSTOP) and kills (SIGKILL) it under the agent: while frozen a receipt
// prints within qr_budget without a QR; once killed receipts print at once
// without one, saying the link is down; when a new server process comes
// up on the same address and database the agent reconnects, later receipts
// get QRs and the uploads queued meanwhile reach the ledger exactly once.
func TestCloudServerProcess(t *testing.T) {
	zbarimg := testenv.Tool(t, "zbarimg")
	srv, code := clStartServerProc(t)
	dir, listen := t.TempDir(), srv.listen
	defer func() { srv.kill() }()

	er, err := cloud.Enroll(context.Background(), "http://"+listen, apiv1.EnrollRequest{Code: code, AgentVersion: "test", Hostname: "till"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := cloud.WriteToken(tokenFile, er.Token); err != nil {
		t.Fatal(err)
	}
	const budget = 800 * time.Millisecond
	a, preview, _ := clStartAgent(t, "ws://"+listen+"/v1/agent", func(c *config.Config) {
		c.Server.TokenFile, c.Server.QRBudget = tokenFile, budget
	})
	raw := a.Raw["preview"]
	bill := func(n int) []byte {
		b, err := receiptgen.Encode([]byte(fmt.Sprintf("encoding: gbk\n\n单号: 28%08d\n应收金额: %d.50\n@feed 3\n@cut\n", n, 10+n)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	qrOf := func(j clJob) []string { return clScan(t, zbarimg, filepath.Join(preview, j.ID+".png")) }

	up, _ := clPrint(t, a.Status, raw, bill(1), true)
	if up.qr() != worker.QRSpliced || len(qrOf(up)) != 1 {
		t.Fatalf("server up: qr %q (%s)", up.qr(), clStr(up.QRReason))
	}

	// Frozen: the link looks up, the request goes unanswered.
	srv.cmd.Process.Signal(syscall.SIGSTOP)
	frozen, took := clPrint(t, a.Status, raw, bill(2), false)
	if took > budget+time.Second || len(qrOf(frozen)) != 0 {
		t.Errorf("server frozen: printed after %s (qr_budget %s) with QR %q", took, budget, qrOf(frozen))
	}
	srv.cmd.Process.Signal(syscall.SIGCONT)

	// Killed.
	srv.cmd.Process.Kill()
	<-srv.done
	clWait(t, "the link to drop", 10*time.Second, func() bool { return !clServer(t, a.Status).Connected })
	down, took := clPrint(t, a.Status, raw, bill(3), true)
	if down.qr() != worker.QRNone || !strings.Contains(clStr(down.QRReason), "link is down") || took > budget+time.Second {
		t.Errorf("server killed: qr %q (%s) after %s", down.qr(), clStr(down.QRReason), took)
	}
	if q := clServer(t, a.Status).QueuedUploads; q < 1 {
		t.Errorf("queued uploads while the server is gone: %d", q)
	}

	// Back.
	srv.start()
	clWait(t, "the agent to reconnect", 45*time.Second, func() bool { return clServer(t, a.Status).Connected })
	clWait(t, "the queued uploads to be acked", 15*time.Second, func() bool { return clServer(t, a.Status).QueuedUploads == 0 })
	back, _ := clPrint(t, a.Status, raw, bill(4), true)
	if back.qr() != worker.QRSpliced || len(qrOf(back)) != 1 || qrOf(back)[0] == qrOf(up)[0] {
		t.Fatalf("server back: qr %q (%s), QR %q", back.qr(), clStr(back.QRReason), qrOf(back))
	}
	clWait(t, "the last upload", 15*time.Second, func() bool { return clServer(t, a.Status).QueuedUploads == 0 })

	st, err := store.Open(context.Background(), "sqlite:"+srv.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	receipts, err := st.Receipts(context.Background(), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range receipts {
		count[r.JobID]++
	}
	for _, j := range []clJob{up, frozen, down, back} {
		if count[j.ID] != 1 {
			t.Errorf("job %s reached the ledger %d times, want once (%v)", j.ID, count[j.ID], count)
		}
	}
}

// TestCloudEnrollAndRun is a shop's first day with the real programs:
// printpay-server runs, `printpay enroll` pairs the till and writes
// [server] url into its config file, `printpay run` connects, a payable
// receipt sent with `printpay send` gets the server's QR, the customer
// pays, the job shows paid and the paid slip prints; SIGTERM stops the
// agent cleanly.
func TestCloudEnrollAndRun(t *testing.T) {
	srv, code := clStartServerProc(t)
	defer func() { srv.kill() }()
	dir := t.TempDir()
	bin := filepath.Join(dir, "printpay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build printpay: %v\n%s", err, out)
	}
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	raw, status := free(), free()
	cfgPath := filepath.Join(dir, "printpay.toml")
	os.MkdirAll(filepath.Join(dir, "preview"), 0o755)
	cfg := fmt.Sprintf(`[intake]
raw = %q
lpd = ""

[spool]
dir = "spool"
min_free = "0"

[status]
listen = %q

[server]
token_file = "token"

[log]
file = "printpay.log"

[[printer]]
name = "front"
driver = "file"
device = "preview"
profile = "generic-80mm"
`, raw, status)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "enroll", "--server", "http://"+srv.listen, "--code", code, "--config", cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "set [server] url") {
		t.Fatalf("printpay enroll: %v\n%s", err, out)
	}

	run := exec.Command(bin, "run", "--config", cfgPath)
	runLogs := &clLog{}
	run.Stdout, run.Stderr = runLogs, runLogs
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			run.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("printpay run:\n%s", runLogs.String())
		}
	})
	clWait(t, "printpay run to connect", 30*time.Second, func() bool {
		resp, err := http.Get("http://" + status + "/api/status")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return clServer(t, status).Connected
	})

	if out, err := exec.Command(bin, "send", raw, clSample).CombinedOutput(); err != nil {
		t.Fatalf("printpay send: %v\n%s", err, out)
	}
	j, _ := clWaitNew(t, status, 0, time.Now(), true)
	if j.qr() != worker.QRSpliced || j.otn() == "" {
		t.Fatalf("qr %q (%s)", j.qr(), clStr(j.QRReason))
	}
	clPay(t, srv.sandbox, j.otn())
	clWait(t, "paid: true", 10*time.Second, func() bool { return clJobByID(t, status, j.ID).Paid })
	clWait(t, "the paid slip", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dir, "preview", j.ID+"-paid.bin"))
		return err == nil
	})

	stopped = true
	run.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("printpay run exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		run.Process.Kill()
		t.Fatal("printpay run did not stop within 15s of SIGTERM")
	}
}
