//go:build linux

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/render"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/internal/cupsd"
	"printpay.dev/printpay/internal/testenv"
)

// e2eWorkerConfig is the printing policy of the generic-80mm profile the
// end-to-end printers use, for rebuilding what they print.
var e2eWorkerConfig = worker.Config{QRMode: "raster", PaperDots: 576, ModuleSize: 6}

const e2eURLPrefix = "https://printpay.invalid/pay/"

// e2eSender sends one job to the agent and returns once the client is done.
type e2eSender struct {
	name string
	send func(t *testing.T, data []byte)
	diag func() string // what to show when the job does not arrive
}

func rawSender(a *e2eAgent) e2eSender {
	return e2eSender{name: "raw", send: func(t *testing.T, data []byte) {
		if !sendRawAck(a.Raw, data) {
			t.Fatalf("raw: the agent did not take the job")
		}
	}}
}

// cupsSenders returns senders through a private cupsd: `lp` to a socket://
// queue on the raw port, and `lp` to a queue whose lpd:// backend talks to
// the agent's LPD.
func cupsSenders(t *testing.T, a *e2eAgent) []e2eSender {
	t.Helper()
	testenv.Tool(t, "lp")
	srv, err := cupsd.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("cupsd: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.AddQueue("viasocket", "socket://"+a.Raw); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddQueue("vialpd", "lpd://"+a.LPD+"/front?reserve=none"); err != nil {
		t.Fatal(err)
	}
	lp := func(queue string) func(t *testing.T, data []byte) {
		return func(t *testing.T, data []byte) {
			file := filepath.Join(t.TempDir(), "job.bin")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := srv.LP(queue, file); err != nil {
				t.Fatalf("lp: %v\n%s", err, srv.ErrorLog())
			}
		}
	}
	return []e2eSender{{"lp-socket", lp("viasocket"), srv.ErrorLog}, {"lp-lpd", lp("vialpd"), srv.ErrorLog}}
}

// printAndCheck sends data through s, waits for the job to print and checks
// the printer got the input byte for byte, plus one QR block at the golden
// splice offset of each receipt that gets a QR, and nothing else.
func printAndCheck(t *testing.T, a *e2eAgent, fp *fakePrinter, s e2eSender, name string, data []byte, known map[string]bool, readQR bool) {
	t.Helper()
	start := fp.Len()
	s.send(t, data)
	var job e2eJob
	jobs := a.waitJobs(t, 20*time.Second, func(jobs []e2eJob) bool {
		for _, j := range jobs {
			if !known[j.ID] && j.final() {
				job = j
				return true
			}
		}
		return false
	})
	if jobs == nil {
		diag := ""
		if s.diag != nil {
			diag = s.diag()
		}
		t.Fatalf("%s via %s: no job printed within 20s\n%s", name, s.name, diag)
	}
	known[job.ID] = true
	if job.State != "done" || job.Intake != "complete" || job.Bytes != int64(len(data)) {
		t.Fatalf("%s via %s: job %+v, want done, complete, %d bytes", name, s.name, job, len(data))
	}
	want, payable := goldenPrinted(t, name, data, job)
	if !fp.WaitLen(start+len(want), 10*time.Second) {
		t.Fatalf("%s via %s: printer got %d bytes, want %d", name, s.name, fp.Len()-start, len(want))
	}
	got := fp.Bytes(start)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s via %s: printed %d bytes, want %d; first difference at %d", name, s.name, len(got), len(want), firstDiff(got, want))
	}
	// What the status page rebuilds is what was printed.
	rebuilt, err := worker.Printed(data, worker.Result{Encoding: receipt.Analyze(data, receipt.Options{}).Encoding, Receipts: job.Receipts}, e2eWorkerConfig)
	if err != nil || !bytes.Equal(rebuilt, want) {
		t.Fatalf("%s: worker.Printed differs from the printed bytes (%v)", name, err)
	}
	if payable && readQR {
		checkQR(t, name, got, e2eURLPrefix+*job.OutTradeNo)
	}
}

// goldenPrinted computes what the printer must get for data: the input,
// with a QR block of the local source's URL at the splice offset of every
// receipt receipt.Analyze gives a QR, built for the generic-80mm profile.
func goldenPrinted(t *testing.T, name string, data []byte, job e2eJob) ([]byte, bool) {
	t.Helper()
	rep := receipt.Analyze(data, receipt.Options{})
	got := map[int]worker.ReceiptResult{}
	for _, rr := range job.Receipts {
		got[rr.Index] = rr
		if rr.QR == worker.QRSpliced && !containsInt(rep.QR, rr.Index) {
			t.Fatalf("%s: receipt %d got a QR that the analysis does not give it", name, rr.Index)
		}
	}
	var ins []escpos.Insertion
	for _, idx := range rep.QR {
		r := rep.Receipts[idx]
		rr, ok := got[idx]
		if !ok || rr.QR != worker.QRSpliced {
			t.Fatalf("%s: receipt %d is payable (splice at %v) but the agent says qr %q (%s)", name, idx, deref(r.SpliceOffset), rr.QR, rr.QRReason)
		}
		url := e2eURLPrefix + rr.OutTradeNo
		if rr.CodeURL != url || rr.SpliceOffset != deref(r.SpliceOffset) {
			t.Fatalf("%s: receipt %d: code_url %q splice %d, want %q at %d", name, idx, rr.CodeURL, rr.SpliceOffset, url, deref(r.SpliceOffset))
		}
		var amount int64
		if r.AmountFen != nil {
			amount = *r.AmountFen
		}
		block, err := escpos.QRBlock(escpos.QROptions{
			URL: url, Mode: e2eWorkerConfig.QRMode, PaperDots: e2eWorkerConfig.PaperDots, ModuleSize: e2eWorkerConfig.ModuleSize,
			AmountFen: amount, Encoding: rep.Encoding, State: r.Escpos.State,
		})
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, escpos.Insertion{Offset: *r.SpliceOffset, Block: block})
	}
	wantQR := worker.QRNone
	if len(ins) > 0 {
		wantQR = worker.QRSpliced
		if job.OutTradeNo == nil || *job.OutTradeNo != got[rep.QR[0]].OutTradeNo {
			t.Fatalf("%s: job out_trade_no %v, want the first QR receipt's %q", name, job.OutTradeNo, got[rep.QR[0]].OutTradeNo)
		}
	}
	if *job.QR != wantQR {
		t.Fatalf("%s: job qr %q (%v), want %q", name, *job.QR, deref(job.QRReason), wantQR)
	}
	return escpos.Splice(data, ins), len(ins) > 0
}

// checkQR draws the printed bytes and reads the QR codes back with zbarimg.
func checkQR(t *testing.T, name string, printed []byte, url string) {
	t.Helper()
	zbar := testenv.Tool(t, "zbarimg")
	png, _, err := render.PNG(printed, render.Options{PaperDots: e2eWorkerConfig.PaperDots})
	if err != nil {
		t.Fatalf("%s: render: %v", name, err)
	}
	file := filepath.Join(t.TempDir(), "printed.png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(zbar, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", file).Output()
	for _, line := range strings.Split(string(out), "\n") {
		if line == url {
			return
		}
	}
	t.Fatalf("%s: QR codes read back from the printed bytes: %q, want %q", name, out, url)
}

// TestE2EPrintCorpus prints every corpus and generated job through the
// real binary to the pty printer: over raw TCP, and a share of them with
// real `lp` through a CUPS socket:// queue and through the CUPS lpd backend.
func TestE2EPrintCorpus(t *testing.T) {
	fp := newFakePrinter(t)
	a := startE2E(t, e2eSetup{Server: "local:", Printers: []e2ePrinter{{Name: "front", Device: fp.Device}}})
	files := jobFiles(t)
	raw := rawSender(a)
	senders := []e2eSender{raw}
	if _, err := exec.LookPath("lp"); err == nil || os.Getenv("PRINTPAY_REQUIRE_TOOLS") == "1" {
		senders = append(senders, cupsSenders(t, a)...)
	} else {
		t.Log("CUPS is not installed: every job goes over raw TCP")
	}
	known := map[string]bool{}
	payable := 0
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s := raw
		if i%3 == 1 && len(senders) > 1 {
			s = senders[1+(i/3)%(len(senders)-1)]
		}
		name := strings.TrimPrefix(file, "../../../testdata/")
		printAndCheck(t, a, fp, s, name, data, known, true)
		if j := a.apiJobs(t); *j[len(j)-1].QR == worker.QRSpliced {
			payable++
		}
	}
	t.Logf("%d jobs printed byte-exact, %d with a QR read back", len(files), payable)
	if payable == 0 {
		t.Fatal("no job was payable")
	}
}

// TestE2EPrintRLPR prints jobs with rlpr, which reaches only port 515.
func TestE2EPrintRLPR(t *testing.T) {
	rlpr := testenv.Tool(t, "rlpr")
	testenv.Lock(t, "port-515") // other packages' tests use port 515 too
	if ln, err := net.Listen("tcp", "127.0.0.1:515"); err != nil {
		t.Skipf("127.0.0.1:515 is taken (rlpr reaches only that port): %v", err)
	} else {
		ln.Close()
	}
	fp := newFakePrinter(t)
	a := startE2E(t, e2eSetup{Server: "local:", LPD: "127.0.0.1:515", Printers: []e2ePrinter{{Name: "front", Device: fp.Device}}})
	s := e2eSender{name: "rlpr", send: func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "job.bin")
		os.WriteFile(file, data, 0o644)
		if out, err := exec.Command(rlpr, "-N", "-H", "127.0.0.1", "-P", "front", "-l", file).CombinedOutput(); err != nil {
			t.Fatalf("rlpr: %v\n%s", err, out)
		}
	}}
	known := map[string]bool{}
	files := jobFiles(t)
	// -N: no privileged source port (rlpr has only 721-731, each left in
	// TIME_WAIT for a minute); our LPD does not ask for one.
	for i := 0; i < len(files); i += 10 {
		data, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		printAndCheck(t, a, fp, s, strings.TrimPrefix(files[i], "../../../testdata/"), data, known, true)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
