package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestCheckCommand(t *testing.T) {
	for _, tc := range []struct {
		name     string
		file     string // contents; "" = testdata/config/design.toml
		code     int
		out, err string
	}{
		{"design file", "", 0, "ok\n", ""},
		{"bad key", "[intake]\nraw = \"127.0.0.1:9100\"\nspeed = 3\n", 1, "", `bad.toml:3: unknown key "intake.speed"`},
		{"bad driver", "[[printer]]\nname = \"front\"\ndriver = \"parallel\"\ndevice = \"x\"\n", 1, "", `bad.toml:3: printer "front": driver "parallel"`},
		{"unknown profile", "\n[[printer]]\nname = \"front\"\ndriver = \"usb\"\nprofile = \"tm-zzz\"\n", 1, "", `bad.toml:2: printer "front": profile "tm-zzz" is not known`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "../../../testdata/config/design.toml"
			if tc.file != "" {
				path = filepath.Join(t.TempDir(), "bad.toml")
				os.WriteFile(path, []byte(tc.file), 0o644)
			}
			var out, errb bytes.Buffer
			code := dispatch(context.Background(), stdio{strings.NewReader(""), &out, &errb}, []string{"check", "--config", path})
			if code != tc.code || out.String() != tc.out || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("check = %d, %q, %q; want %d, %q, %q", code, out.String(), errb.String(), tc.code, tc.out, tc.err)
			}
		})
	}
}

func TestSendCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c) // until the sender half-closes
		c.Write([]byte{0x16}) // a status reply the sender must not choke on
		c.Close()
		got <- b
	}()
	job := []byte("hello\n\x1dV\x00\x10\x04\x01")
	file := filepath.Join(t.TempDir(), "job.bin")
	os.WriteFile(file, job, 0o644)
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), stdio{nil, &out, &errb}, []string{"send", ln.Addr().String(), file})
	if code != 0 || !bytes.Equal(<-got, job) {
		t.Fatalf("send = %d (%s)", code, errb.String())
	}
	if code := dispatch(context.Background(), stdio{nil, &out, &errb}, []string{"send", "127.0.0.1:1", file}); code != 1 {
		t.Fatalf("send to a closed port = %d", code)
	}
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type agentProc struct {
	t      *testing.T
	bin    string
	config string
	status string
	cmd    *exec.Cmd
	log    *bytes.Buffer
}

func (a *agentProc) start() {
	a.t.Helper()
	a.log = &bytes.Buffer{}
	a.cmd = exec.Command(a.bin, "run", "--config", a.config)
	a.cmd.Stderr = a.log
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + a.status + "/api/status")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("agent did not start: %v\n%s", err, a.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *agentProc) kill() {
	a.cmd.Process.Kill() // SIGKILL: no shutdown code runs
	a.cmd.Wait()
}

type jobInfo struct {
	ID      string `json:"id"`
	Printer string `json:"printer"`
	Bytes   int64  `json:"bytes"`
	Intake  string `json:"intake"`
	State   string `json:"state"`
}

func (a *agentProc) jobs() []jobInfo {
	a.t.Helper()
	resp, err := http.Get("http://" + a.status + "/api/jobs?limit=0")
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var jobs []jobInfo
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil {
		a.t.Fatal(err)
	}
	return jobs
}

// TestSIGKILL builds the binary, runs `printpay run`, sends jobs over raw
// and LPD from several clients, kills the process with SIGKILL mid-stream,
// restarts it, and checks that every acknowledged job is there, complete
// and byte-exact, and that a job cut off mid-transfer is truncated, not
// complete.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "printpay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	raw, lpd, status := freeAddr(t), freeAddr(t), freeAddr(t)
	cfgPath := filepath.Join(dir, "printpay.toml")
	fmt.Fprintf(mustCreate(t, cfgPath), `[intake]
raw = %q
lpd = %q
idle_timeout_nocut = "30s"
[spool]
dir = "spool"
min_free = "1MiB"
[status]
listen = %q
[log]
file = "printpay.log"
[[printer]]
name = "front"
driver = "file"
device = "preview"
[[printer]]
name = "kitchen"
driver = "file"
device = "kitchen"
`, raw, lpd, status)
	a := &agentProc{t: t, bin: bin, config: cfgPath, status: status}
	a.start()
	if rss, ok := residentKB(a.cmd.Process.Pid); ok {
		t.Logf("idle RSS: %d KiB", rss)
		if rss > 20<<10 {
			t.Errorf("idle RSS %d KiB is over the 20 MiB budget", rss)
		}
	}

	// A job left half-sent when the agent dies.
	half, err := net.Dial("tcp", raw)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	half.Write([]byte("half a receipt\n"))

	var mu sync.Mutex
	acked := map[string]time.Time{} // payload → when its acknowledgement was seen
	ackedPrinter := map[string]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				payload := []byte(fmt.Sprintf("client %d job %d\n%s\x1dV\x00", g, i, strings.Repeat("line\n", i%50)))
				var ok bool
				printer := "front"
				if g%2 == 0 {
					ok = sendRawAck(raw, payload)
				} else {
					printer = "kitchen"
					ok = sendLPDAck(lpd, "kitchen", payload)
				}
				if !ok {
					return
				}
				at := time.Now()
				if printer == "kitchen" {
					at = time.Time{} // an LPD ack is one whenever it came
				}
				mu.Lock()
				acked[string(payload)] = at
				ackedPrinter[string(payload)] = printer
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	killAt := time.Now()
	a.kill()
	close(stop)
	wg.Wait()

	a.start()
	jobs := a.jobs()
	defer func() {
		// A graceful stop: SIGTERM ends the process cleanly and quickly.
		a.cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan error, 1)
		go func() { exited <- a.cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("printpay run after SIGTERM: %v\n%s", err, a.log)
			}
		case <-time.After(10 * time.Second):
			a.cmd.Process.Kill()
			t.Errorf("printpay run did not stop within 10s of SIGTERM")
		}
	}()
	byContent := map[string]jobInfo{}
	var truncated int
	for _, j := range jobs {
		b, err := os.ReadFile(filepath.Join(dir, "spool", "jobs", j.Printer, j.ID))
		if err != nil {
			t.Fatalf("job %s has no file: %v", j.ID, err)
		}
		if j.Intake == "complete" {
			if int64(len(b)) != j.Bytes {
				t.Fatalf("complete job %s: %d bytes on disk, %d recorded", j.ID, len(b), j.Bytes)
			}
			byContent[string(b)] = j
		} else {
			truncated++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no job was acknowledged before the kill")
	}
	checked := 0
	for content, at := range acked {
		// A raw job has no ack but the agent's close after the commit; a
		// close seen after the kill started may be the kernel's.
		if !at.Before(killAt) {
			continue
		}
		checked++
		j, ok := byContent[content]
		if !ok {
			t.Fatalf("acknowledged job %q lost after SIGKILL", content[:20])
		}
		if j.Printer != ackedPrinter[content] || j.State == "failed" {
			t.Fatalf("job %+v, want printer %s, not failed", j, ackedPrinter[content])
		}
	}
	var sawHalf bool
	for _, j := range jobs {
		if j.Intake == "truncated" && j.Printer == "front" {
			b, _ := os.ReadFile(filepath.Join(dir, "spool", "jobs", "front", j.ID))
			sawHalf = sawHalf || string(b) == "half a receipt\n"
		}
	}
	if !sawHalf {
		t.Errorf("the half-sent job is not kept as truncated: %+v", jobs)
	}
	t.Logf("%d jobs acknowledged before SIGKILL, all recovered; %d truncated", checked, truncated)
}

// residentKB reads VmRSS from /proc (Linux); false elsewhere.
func residentKB(pid int) (int, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb int
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%d", &kb); err == nil {
				return kb, true
			}
		}
	}
	return 0, false
}

func mustCreate(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sendRawAck sends a raw job and reports whether the connection was closed
// cleanly after it (the agent closes only once the job is committed).
func sendRawAck(addr string, payload []byte) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(payload); err != nil {
		return false
	}
	c.(*net.TCPConn).CloseWrite()
	var b [1]byte
	_, err = c.Read(b[:])
	return err == io.EOF // a clean close; a reset means the agent died first
}

// sendLPDAck sends one LPD job and reports whether its final ack came.
func sendLPDAck(addr, queue string, payload []byte) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	ack := func() bool {
		var b [1]byte
		_, err := io.ReadFull(c, b[:])
		return err == nil && b[0] == 0
	}
	fmt.Fprintf(c, "\x02%s\n", queue)
	if !ack() {
		return false
	}
	fmt.Fprintf(c, "\x03%d dfA001test\n", len(payload))
	if !ack() {
		return false
	}
	c.Write(append(payload, 0))
	return ack()
}
