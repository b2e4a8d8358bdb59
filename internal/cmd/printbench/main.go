//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"printpay.dev/printpay/internal/cupsd"
)

func main() {
	jobs := flag.Int("jobs", 200, "jobs to send")
	size := flag.Int("size", 4096, "bytes per job")
	payable := flag.Bool("payable", false, "send payable receipts (printpay asks its local QR source)")
	target := flag.String("target", "printpay", "all | printpay | p910nd | cups | HOST:PORT (a raw listener printing to the pty shown)")
	bin := flag.String("printpay", "", "printpay binary (default: go build it)")
	spoolDir := flag.String("spool", "", "printpay's spool directory (default: a temporary one)")
	flag.Parse()
	if *target == "all" {
		os.Exit(runAll(*bin, *spoolDir, *jobs, *size))
	}
	r, err := runTarget(*target, *bin, *spoolDir, *jobs, *size, *payable)
	if err != nil {
		fmt.Fprintln(os.Stderr, "printbench:", err)
		os.Exit(1)
	}
	fmt.Println("printbench:", r)
}

// result is one target's latency figures.
type result struct {
	target, kind   string
	jobs, size     int
	p50, p99, pmax float64 // ms
}

func (r result) String() string {
	return fmt.Sprintf("%-10s %-11s %d jobs of %d B: job end -> last byte p50 %.2f ms  p99 %.2f ms  max %.2f ms",
		r.target, r.kind, r.jobs, r.size, r.p50, r.p99, r.pmax)
}

// runAll measures every target it can and prints a table.
func runAll(bin, spoolDir string, n, size int) int {
	if bin == "" {
		dir, err := os.MkdirTemp("", "printbench-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, "printbench:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin = filepath.Join(dir, "printpay")
		if out, err := exec.Command("go", "build", "-o", bin, "./agent/cmd/printpay").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "printbench: build printpay: %v\n%s", err, out)
			return 1
		}
	}
	type run struct {
		target  string
		payable bool
		jobs    int
	}
	code := 0
	var rows []result
	var notes []string
	for _, c := range []run{{"printpay", false, n}, {"printpay", true, n}, {"p910nd", false, n}, {"cups", false, max(n/5, 20)}} {
		r, err := runTarget(c.target, bin, spoolDir, c.jobs, size, c.payable)
		switch {
		case errors.Is(err, errNotInstalled) || errors.Is(err, cupsd.ErrNotInstalled):
			notes = append(notes, fmt.Sprintf("%s: not measured: %v", c.target, err))
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s: failed: %v", c.target, err))
			if c.target == "printpay" {
				code = 1
			}
		default:
			rows = append(rows, r)
		}
	}
	fmt.Printf("printbench: job end -> last byte at the device, %d B jobs\n", size)
	fmt.Printf("  %-10s %-11s %6s %9s %9s %9s\n", "target", "kind", "jobs", "p50 ms", "p99 ms", "max ms")
	for _, r := range rows {
		fmt.Printf("  %-10s %-11s %6d %9.2f %9.2f %9.2f\n", r.target, r.kind, r.jobs, r.p50, r.p99, r.pmax)
	}
	for _, n := range notes {
		fmt.Println("  " + n)
	}
	return code
}

var errNotInstalled = errors.New("not installed")

func runTarget(target, bin, spoolDir string, n, size int, payable bool) (result, error) {
	dir, err := os.MkdirTemp("", "printbench")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	if spoolDir == "" {
		spoolDir = filepath.Join(dir, "spool")
	} else {
		spoolDir, err = os.MkdirTemp(spoolDir, "printbench-spool")
		if err != nil {
			return result{}, err
		}
		defer os.RemoveAll(spoolDir)
	}
	dev, err := openDevice()
	if err != nil {
		return result{}, err
	}
	defer dev.Close()
	job := makeJob(size, payable)

	var send func([]byte) (time.Time, error)
	var stop func()
	switch target {
	case "printpay":
		send, stop, err = startPrintpay(dir, bin, spoolDir, dev.slave, payable)
	case "p910nd":
		send, stop, err = startP910nd(dev.slave)
	case "cups":
		send, stop, err = startCUPS(dir, dev)
	default:
		fmt.Printf("printbench: %s must print to %s\n", target, dev.slave)
		addr := target
		send, stop = func(b []byte) (time.Time, error) { return sendRaw(addr, b) }, func() {}
	}
	if err != nil {
		return result{}, err
	}
	defer stop()

	// Warm up, then measure.
	if _, err := sendAndWait(dev, send, job, 10*time.Second); err != nil {
		return result{}, fmt.Errorf("warm-up job: %w", err)
	}
	var lat []time.Duration
	for i := 0; i < n; i++ {
		d, err := sendAndWait(dev, send, job, 10*time.Second)
		if err != nil {
			return result{}, fmt.Errorf("job %d: %w", i, err)
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	kind := "non-payable"
	if payable {
		kind = "payable"
	}
	return result{target: target, kind: kind, jobs: n, size: size, p50: pct(0.5), p99: pct(0.99), pmax: pct(1)}, nil
}

// sendAndWait sends one job and waits until the device has at least its
// bytes (a spliced QR only adds), returning end-of-job to last byte.
func sendAndWait(dev *device, send func([]byte) (time.Time, error), job []byte, limit time.Duration) (time.Duration, error) {
	want := dev.total() + int64(len(job))
	end, err := send(job)
	if err != nil {
		return 0, err
	}
	last, err := dev.waitFor(want, limit)
	if err != nil {
		return 0, err
	}
	// A payable job carries a block after the job's own bytes: wait for the
	// stream to go quiet briefly so the next job starts clean.
	dev.settle(20 * time.Millisecond)
	if last.Before(end) {
		return 0, nil
	}
	return last.Sub(end), nil
}

// makeJob builds a receipt of about size bytes ending with a cut.
func makeJob(size int, payable bool) []byte {
	var b bytes.Buffer
	b.WriteString("\x1b@\x1ba\x01BENCH SHOP\n\x1ba\x00")
	for i := 0; b.Len() < size-64; i++ {
		fmt.Fprintf(&b, "ITEM %04d%28s1.00\n", i, "")
	}
	if payable {
		b.WriteString("TOTAL 12.34\n")
	} else {
		b.WriteString("CASH 20.00\nCHANGE 7.66\nTOTAL 12.34\n")
	}
	b.WriteString("\n\n\n\x1dVA\x00")
	return b.Bytes()
}

func sendRaw(addr string, job []byte) (time.Time, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return time.Time{}, err
	}
	defer c.Close()
	if _, err := c.Write(job); err != nil {
		return time.Time{}, err
	}
	end := time.Now()
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c)
	return end, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListen(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %v", addr, limit)
}

func startPrintpay(dir, bin, spoolDir, tty string, payable bool) (func([]byte) (time.Time, error), func(), error) {
	if bin == "" {
		bin = filepath.Join(dir, "printpay")
		out, err := exec.Command("go", "build", "-o", bin, "./agent/cmd/printpay").CombinedOutput()
		if err != nil {
			return nil, nil, fmt.Errorf("build printpay: %v\n%s", err, out)
		}
	}
	raw, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	status, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	server := ""
	if payable {
		server = "url = \"local:\"\n"
	}
	cfg := fmt.Sprintf(`[intake]
raw = %q
lpd = ""
[spool]
dir = %q
min_free = "0B"
[status]
listen = %q
[server]
%s[log]
file = %q
[[printer]]
name = "bench"
driver = "serial"
device = %q
baud = 115200
`, raw, spoolDir, status, server, filepath.Join(dir, "printpay.log"), tty)
	cfgPath := filepath.Join(dir, "printpay.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	var stderr bytes.Buffer // one line per job at info level: shown only on failure
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	if err := waitListen(raw, 10*time.Second); err != nil {
		stop()
		return nil, nil, fmt.Errorf("%w\n%s", err, stderr.Bytes())
	}
	return func(b []byte) (time.Time, error) { return sendRaw(raw, b) }, stop, nil
}

func startP910nd(tty string) (func([]byte) (time.Time, error), func(), error) {
	p, err := exec.LookPath("p910nd")
	if err != nil {
		if p, err = exec.LookPath("/usr/sbin/p910nd"); err != nil {
			return nil, nil, fmt.Errorf("p910nd is %w (apt-get install p910nd)", errNotInstalled)
		}
	}
	addr := "127.0.0.1:9102"
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, nil, fmt.Errorf("%s is taken; p910nd can only use 9100-9102", addr)
	}
	os.MkdirAll("/var/lock/p910nd", 0o755) // its lock file lives there; the package leaves it to its init script
	cmd := exec.Command(p, "-d", "-f", tty, "-i", "127.0.0.1", "2")
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitListen(addr, 5*time.Second); err != nil {
		stop()
		return nil, nil, err
	}
	return func(b []byte) (time.Time, error) { return sendRaw(addr, b) }, stop, nil
}

// startCUPS runs a private cupsd with a raw queue whose socket:// device is
// a listener of ours that copies to the pty, and prints with lp -o raw.
func startCUPS(dir string, dev *device) (func([]byte) (time.Time, error), func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(dev.slaveFile, c) }()
		}
	}()
	srv, err := cupsd.Start(context.Background(), dir)
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	stop := func() { srv.Close(); l.Close() }
	if err := srv.AddQueue("bench", "socket://"+l.Addr().String()); err != nil {
		stop()
		return nil, nil, err
	}
	jobFile := filepath.Join(dir, "job.bin")
	return func(b []byte) (time.Time, error) {
		if err := os.WriteFile(jobFile, b, 0o644); err != nil {
			return time.Time{}, err
		}
		if err := srv.LP("bench", jobFile); err != nil {
			return time.Time{}, err
		}
		return time.Now(), nil
	}, stop, nil
}
