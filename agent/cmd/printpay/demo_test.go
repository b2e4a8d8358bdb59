package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/worker"
)

// demoLines are the lines `printpay demo` prints, in order (DESIGN §5).
var demoLines = []*regexp.Regexp{
	regexp.MustCompile(`^status: http://127\.0\.0\.1:\d+/$`),
	regexp.MustCompile(`^raw: 127\.0\.0\.1:\d+$`),
	regexp.MustCompile(`^lpd: 127\.0\.0\.1:\d+$`),
	regexp.MustCompile(`^sandbox: http://127\.0\.0\.1:\d+$`),
	regexp.MustCompile(`^preview: /.+$`),
	regexp.MustCompile(`^try: printpay send 127\.0\.0\.1:\d+ testdata/receipts/[a-z0-9-]+\.bin$`),
}

// TestDemoWalkthrough runs the built `printpay demo` from the repository
// root and follows the README: send the suggested receipt with `printpay
// send`, see it in /api/jobs with a QR, play the customer paying through
// the sandbox hook, see paid: true and the paid slip in the preview folder;
// Ctrl-C stops the demo and removes its temporary folder.
func TestDemoWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the printpay binary")
	}
	bin := filepath.Join(t.TempDir(), "printpay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "demo")
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr clLog
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("demo stderr:\n%s", stderr.String())
		}
	})

	// The six lines, once the agent is welcomed.
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	got := map[string]string{}
	timeout := time.After(60 * time.Second)
	for i, re := range demoLines {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the demo's output ended after %d lines", i)
			}
			if !re.MatchString(l) {
				t.Fatalf("line %d: %q does not match %s", i+1, l, re)
			}
			k, v, _ := strings.Cut(l, ": ")
			got[k] = v
		case <-timeout:
			t.Fatalf("the demo printed %d of its lines in 60s", i)
		}
	}
	status := strings.TrimSuffix(strings.TrimPrefix(got["status"], "http://"), "/")
	sandboxAddr := strings.TrimPrefix(got["sandbox"], "http://")
	preview := got["preview"]
	if fi, err := os.Stat(preview); err != nil || !fi.IsDir() {
		t.Fatalf("preview %q is not a folder: %v", preview, err)
	}
	try := strings.Fields(got["try"])
	if try[2] != got["raw"] {
		t.Fatalf("try: sends to %s, not to the raw listener %s", try[2], got["raw"])
	}

	// Send the suggested receipt, as the README says, from the repository root.
	send := exec.Command(bin, try[1:]...)
	send.Dir = root
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", got["try"], err, out)
	}
	var j clJob
	clWait(t, "the job with its QR", 30*time.Second, func() bool {
		jobs := clJobs(t, status)
		if len(jobs) == 1 && jobs[0].QR != nil {
			j = jobs[0]
			return true
		}
		return false
	})
	if j.qr() != worker.QRSpliced || j.otn() == "" {
		t.Fatalf("the try: receipt: qr %q (%s), out_trade_no %q", j.qr(), clStr(j.QRReason), j.otn())
	}
	if _, err := os.Stat(filepath.Join(preview, j.ID+".png")); err != nil {
		t.Fatalf("no preview picture: %v", err)
	}
	page := clGet(t, "http://"+status+"/")
	if len(page) == 0 {
		t.Fatal("the status page is empty")
	}

	// Play the customer paying.
	clPay(t, sandboxAddr, j.otn())
	clWait(t, "paid: true", 10*time.Second, func() bool { return clJobByID(t, status, j.ID).Paid })
	slip := filepath.Join(preview, j.ID+"-paid.bin")
	clWait(t, "the paid slip", 10*time.Second, func() bool {
		b, err := os.ReadFile(slip)
		return err == nil && bytes.Contains(b, []byte(clSampleOrder))
	})

	// Ctrl-C.
	stopped = true
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the demo exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the demo did not stop within 15s of Ctrl-C")
	}
	if _, err := os.Stat(preview); !os.IsNotExist(err) {
		t.Errorf("the demo's temporary folder is still there: %v", err)
	}
}

func clGet(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}
