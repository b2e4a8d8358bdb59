package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/internal/testenv"
)

// testConfig is a two-printer agent on loopback ports chosen by the OS.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Intake.Raw = "127.0.0.1:0"
	cfg.Intake.LPD = "127.0.0.1:0"
	cfg.Status.Listen = "127.0.0.1:0"
	cfg.Spool.Dir = t.TempDir()
	cfg.Spool.MinFree = 0
	cfg.Log.File = ""
	front := config.DefaultPrinter()
	front.Name, front.Driver, front.Device = "front", "file", t.TempDir()
	kitchen := config.DefaultPrinter()
	kitchen.Name, kitchen.Driver, kitchen.Device, kitchen.Raw = "kitchen", "tcp", "192.0.2.1:9100", "127.0.0.1:0"
	cfg.Printers = []config.Printer{front, kitchen}
	return cfg
}

// start runs the agent until the test ends.
func start(t *testing.T, cfg config.Config, opt Options) Addrs {
	t.Helper()
	a, err := tryStart(t, cfg, opt)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return a
}

// tryStart is start that returns Run's start-up error.
func tryStart(t *testing.T, cfg config.Config, opt Options) (Addrs, error) {
	t.Helper()
	ready := make(chan Addrs, 1)
	opt.Ready = func(a Addrs) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var logger *slog.Logger
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	go func() { errc <- RunWith(ctx, cfg, logger, opt) }()
	select {
	case a := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		return a, nil
	case err := <-errc:
		cancel()
		return Addrs{}, err
	case <-time.After(5 * time.Second):
		cancel()
		<-errc
		return Addrs{}, fmt.Errorf("agent not ready within 5s")
	}
}

func sendRaw(t *testing.T, addr string, data []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(data)
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c) // the agent closes once the job is committed
}

type apiJob struct {
	ID      string `json:"id"`
	Printer string `json:"printer"`
	Bytes   int64  `json:"bytes"`
	Intake  string `json:"intake"`
	State   string `json:"state"`
	Reprint int    `json:"reprint"`
}

func apiJobs(t *testing.T, statusAddr string) []apiJob {
	t.Helper()
	resp, err := http.Get("http://" + statusAddr + "/api/jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jobs []apiJob
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil {
		t.Fatal(err)
	}
	return jobs
}

// readSpool reads a job's bytes straight from the spool directory.
func readSpool(t *testing.T, dir, printer, id string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "jobs", printer, id))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRouting(t *testing.T) {
	cfg := testConfig(t)
	a := start(t, cfg, Options{})
	sendRaw(t, a.Raw["front"], []byte("to the first printer\n\x1dV\x00"))
	sendRaw(t, a.Raw["kitchen"], []byte("to the kitchen\n\x1dV\x00"))
	lpdJob(t, a.LPD, "kitchen", []byte("lpd to the kitchen\n"))
	lpdJob(t, a.LPD, "nosuchqueue", []byte("lpd to an unknown queue\n"))
	jobs := apiJobs(t, a.Status)
	want := []string{"front", "kitchen", "kitchen", "front"} // oldest first
	if len(jobs) != len(want) {
		t.Fatalf("jobs %+v", jobs)
	}
	for i, p := range want {
		j := jobs[len(jobs)-1-i]
		if j.Printer != p || j.State != "pending" || j.Intake != "complete" {
			t.Errorf("job %d = %+v, want printer %s, pending", i, j, p)
		}
	}
}

// lpdJob sends one job over LPD the way the CUPS backend does (control
// file first).
func lpdJob(t *testing.T, addr, queue string, data []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	ack := func() {
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 0 {
			t.Fatalf("lpd ack %v %v", b, err)
		}
	}
	cf := "Htest\nPtester\nldfA001test\n"
	fmt.Fprintf(c, "\x02%s\n", queue)
	ack()
	fmt.Fprintf(c, "\x02%d cfA001test\n", len(cf))
	ack()
	fmt.Fprintf(c, "%s\x00", cf)
	ack()
	fmt.Fprintf(c, "\x03%d dfA001test\n", len(data))
	ack()
	c.Write(append(data, 0))
	ack()
}

func TestPrintSeam(t *testing.T) {
	cfg := testConfig(t)
	printed := make(chan string, 4)
	print := func(ctx context.Context, p Printer) error {
		for {
			j, err := p.Spool.Wait(ctx, p.Config.Name)
			if err != nil {
				return nil
			}
			p.Spool.MarkSending(j.ID)
			r, _ := p.Spool.Open(ctx, j.ID)
			b, _ := io.ReadAll(r)
			r.Close()
			p.Spool.MarkDone(j.ID)
			printed <- p.Config.Name + ":" + string(b)
		}
	}
	a := start(t, cfg, Options{Print: print})
	sendRaw(t, a.Raw["kitchen"], []byte("noodles"))
	if got := <-printed; got != "kitchen:noodles" {
		t.Fatalf("printed %q", got)
	}
	if jobs := apiJobs(t, a.Status); len(jobs) != 1 || jobs[0].State != "done" {
		t.Fatalf("jobs %+v", jobs)
	}
}

func TestStartFailsOnATakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t)
	cfg.Intake.LPD = ln.Addr().String()
	err = RunWith(context.Background(), cfg, nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "lpd listener") {
		t.Fatalf("Run with a taken port: %v", err)
	}
	if err := RunWith(context.Background(), config.Default(), nil, Options{}); err != ErrNoPrinter {
		t.Fatalf("Run without printers: %v", err)
	}
}

// cups is a private cupsd (platform.md §2): its own ServerRoot in a temp
// directory and a unix socket, so it touches neither /etc/cups nor a
// system cupsd.
type cups struct {
	t   *testing.T
	env []string
}

func startCUPS(t *testing.T) *cups {
	t.Helper()
	cupsd := "/usr/sbin/cupsd"
	if _, err := os.Stat(cupsd); err != nil {
		cupsd = testenv.Tool(t, "cupsd")
	}
	for _, tool := range []string{"lp", "lpstat"} {
		testenv.Tool(t, tool)
	}
	if _, err := os.Stat("/usr/sbin/lpadmin"); err != nil {
		testenv.Tool(t, "lpadmin")
	}
	w, err := os.MkdirTemp("", "printpay-cups")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(w) })
	os.Chmod(w, 0o755)
	c := filepath.Join(w, "cups")
	for _, d := range []string{"spool", "state", "cache", "tmp"} {
		if err := os.MkdirAll(filepath.Join(c, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("chgrp", "lp", filepath.Join(c, "spool"), filepath.Join(c, "cache"), filepath.Join(c, "tmp"))
	run("chmod", "0710", filepath.Join(c, "spool"))
	run("chmod", "0770", filepath.Join(c, "cache"), filepath.Join(c, "tmp"))
	sock := filepath.Join(c, "cups.sock")
	base, err := os.ReadFile("/etc/cups/cupsd.conf")
	if err != nil {
		t.Skipf("no /etc/cups/cupsd.conf: %v", err)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "Listen %s\n", sock)
	for _, line := range strings.Split(string(base), "\n") {
		if !strings.HasPrefix(line, "Listen") {
			conf.WriteString(line + "\n")
		}
	}
	os.WriteFile(filepath.Join(c, "cupsd.conf"), []byte(conf.String()), 0o644)
	files := fmt.Sprintf("SystemGroup root lpadmin\nServerRoot %[1]s\nRequestRoot %[1]s/spool\nStateDir %[1]s/state\nCacheDir %[1]s/cache\nTempDir %[1]s/tmp\nErrorLog %[1]s/error_log\nAccessLog %[1]s/access_log\nPageLog %[1]s/page_log\n", c)
	os.WriteFile(filepath.Join(c, "cups-files.conf"), []byte(files), 0o644)
	cmd := exec.Command(cupsd, "-f", "-c", filepath.Join(c, "cupsd.conf"), "-s", filepath.Join(c, "cups-files.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(c, "error_log"))
			t.Logf("cupsd error_log:\n%s", b)
		}
	})
	cu := &cups{t: t, env: append(os.Environ(), "CUPS_SERVER="+sock)}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := cu.cmd("lpstat", "-r").CombinedOutput()
		if strings.Contains(string(out), "is running") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cupsd did not start: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cu
}

func (cu *cups) cmd(name string, args ...string) *exec.Cmd {
	if name == "lpadmin" {
		if _, err := os.Stat("/usr/sbin/lpadmin"); err == nil {
			name = "/usr/sbin/lpadmin"
		}
	}
	c := exec.Command(name, args...)
	c.Env = cu.env
	return c
}

func (cu *cups) run(name string, args ...string) {
	cu.t.Helper()
	if out, err := cu.cmd(name, args...).CombinedOutput(); err != nil {
		cu.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// waitEmpty waits until CUPS has sent every job.
func (cu *cups) waitEmpty() {
	cu.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := cu.cmd("lpstat", "-o").CombinedOutput()
		if strings.TrimSpace(string(out)) == "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := cu.cmd("lpstat", "-l", "-o").CombinedOutput()
	cu.t.Fatalf("CUPS jobs not sent: %s", out)
}

// testJob is a corpus receipt followed by every byte value.
func testJob(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/corpus/mike42__escpos-php/receipt-with-logo.bin")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 256 {
		b = append(b, byte(i))
	}
	return b
}

func waitJobs(t *testing.T, statusAddr string, n int) []apiJob {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs := apiJobs(t, statusAddr)
		if len(jobs) >= n || time.Now().After(deadline) {
			return jobs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCUPSClients(t *testing.T) {
	cu := startCUPS(t)
	cfg := testConfig(t)
	a := start(t, cfg, Options{})
	job := testJob(t)
	file := filepath.Join(t.TempDir(), "job.bin")
	os.WriteFile(file, job, 0o644)
	os.Chmod(filepath.Dir(file), 0o755)

	cu.run("lpadmin", "-p", "viaraw", "-E", "-v", "socket://"+a.Raw["kitchen"])
	cu.run("lpadmin", "-p", "vialpd", "-E", "-v", "lpd://"+a.LPD+"/front?reserve=none")
	cu.run("lpadmin", "-p", "vialpddata", "-E", "-v", "lpd://"+a.LPD+"/kitchen?reserve=none&order=data,control")
	cu.run("lp", "-d", "viaraw", "-o", "raw", file)
	cu.run("lp", "-d", "vialpd", "-o", "raw", file)
	cu.run("lp", "-d", "vialpddata", "-o", "raw", file)
	cu.waitEmpty()
	jobs := waitJobs(t, a.Status, 3)
	if len(jobs) != 3 {
		t.Fatalf("jobs %+v, want 3", jobs)
	}
	printers := map[string]int{}
	for _, j := range jobs {
		printers[j.Printer]++
		if j.Intake != "complete" || j.State != "pending" || j.Bytes != int64(len(job)) {
			t.Errorf("job %+v", j)
		}
		if got := readSpool(t, cfg.Spool.Dir, j.Printer, j.ID); !bytes.Equal(got, job) {
			t.Errorf("job %s from CUPS is not byte-exact (%d bytes, want %d)", j.ID, len(got), len(job))
		}
	}
	if printers["kitchen"] != 2 || printers["front"] != 1 {
		t.Errorf("routing %v", printers)
	}
}

func TestRLPR(t *testing.T) {
	rlpr := testenv.Tool(t, "rlpr")
	// rlpr reaches only port 515, which other packages' tests use too.
	testenv.Lock(t, "port-515")
	cfg := testConfig(t)
	cfg.Intake.LPD = "127.0.0.1:515"
	a, err := tryStart(t, cfg, Options{})
	if err != nil && strings.Contains(err.Error(), "lpd listener") {
		t.Skipf("127.0.0.1:515 is not free: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	job := testJob(t)
	file := filepath.Join(t.TempDir(), "job.bin")
	os.WriteFile(file, job, 0o644)
	out, err := exec.Command(rlpr, "-N", "-H", "127.0.0.1", "-P", "kitchen", "-l", file).CombinedOutput()
	if err != nil {
		t.Fatalf("rlpr: %v\n%s", err, out)
	}
	jobs := waitJobs(t, a.Status, 1)
	if len(jobs) != 1 || jobs[0].Printer != "kitchen" || jobs[0].Intake != "complete" {
		t.Fatalf("jobs %+v", jobs)
	}
	if got := readSpool(t, cfg.Spool.Dir, "kitchen", jobs[0].ID); !bytes.Equal(got, job) {
		t.Fatalf("rlpr job not byte-exact: %d bytes, want %d", len(got), len(job))
	}
	if rlpq, err := exec.LookPath("rlpq"); err == nil {
		out, err := exec.Command(rlpq, "-H", "127.0.0.1", "-P", "kitchen").CombinedOutput()
		if err != nil || !strings.Contains(string(out), jobs[0].ID) {
			t.Fatalf("rlpq: %v\n%s", err, out)
		}
	}
}
