//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/worker"
)

// e2ePrinter is one [[printer]] of an end-to-end agent.
type e2ePrinter struct {
	Name   string
	Device string
	Raw    string // its own raw listener; "" = none
}

// e2eSetup is the agent configuration of an end-to-end test.
type e2eSetup struct {
	Server   string // [server] url; "" = no QR
	QRBudget string
	LPD      string // "" = a free port
	Printers []e2ePrinter
}

// e2eAgent is a running `printpay run` with its addresses.
type e2eAgent struct {
	bin, config string
	cmd         *exec.Cmd
	log         *bytes.Buffer
	done        chan struct{} // closed once the process has exited

	Dir    string
	Raw    string
	LPD    string
	Status string
}

// startE2E writes the configuration and starts the agent.
func startE2E(t *testing.T, s e2eSetup) *e2eAgent {
	t.Helper()
	bin := e2eBinary(t)
	dir := t.TempDir()
	a := &e2eAgent{Dir: dir, Raw: freeAddr(t), LPD: s.LPD, Status: freeAddr(t)}
	if a.LPD == "" {
		a.LPD = freeAddr(t)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[intake]\nraw = %q\nlpd = %q\nidle_timeout_nocut = \"30s\"\n", a.Raw, a.LPD)
	fmt.Fprintf(&b, "[spool]\ndir = %q\nmin_free = \"0B\"\n", filepath.Join(dir, "spool"))
	fmt.Fprintf(&b, "[status]\nlisten = %q\n", a.Status)
	fmt.Fprintf(&b, "[server]\nurl = %q\n", s.Server)
	if s.QRBudget != "" {
		fmt.Fprintf(&b, "qr_budget = %q\n", s.QRBudget)
	}
	fmt.Fprintf(&b, "[log]\nfile = %q\n", filepath.Join(dir, "printpay.log"))
	for _, p := range s.Printers {
		fmt.Fprintf(&b, "[[printer]]\nname = %q\ndriver = \"serial\"\ndevice = %q\nbaud = 115200\nprofile = \"generic-80mm\"\n", p.Name, p.Device)
		if p.Raw != "" {
			fmt.Fprintf(&b, "raw = %q\n", p.Raw)
		}
	}
	cfg := filepath.Join(dir, "printpay.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	a.bin, a.config = bin, cfg
	if err := a.startE2E(); err != nil {
		logb, _ := os.ReadFile(filepath.Join(dir, "printpay.log"))
		if strings.HasSuffix(a.LPD, ":515") && strings.Contains(string(logb)+a.log.String(), "515") {
			t.Skipf("the agent cannot listen on 127.0.0.1:515 (rlpr reaches only that port): %v\n%s", err, a.log)
		}
		t.Fatalf("agent did not start: %v\n%s\n%s", err, a.log, logb)
	}
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			logb, _ := os.ReadFile(filepath.Join(dir, "printpay.log"))
			var keep []string
			for _, line := range strings.Split(string(logb), "\n") {
				if !strings.Contains(line, `"level":"INFO"`) || strings.Contains(line, "starting") {
					keep = append(keep, line)
				}
			}
			if len(keep) > 40 {
				keep = keep[len(keep)-40:]
			}
			t.Logf("agent log (warnings, errors, starts; last 40):\n%s", strings.Join(keep, "\n"))
		}
	})
	return a
}

// startE2E starts the process and waits until its status API answers; it
// fails when the process exits first.
func (a *e2eAgent) startE2E() error {
	a.log = &bytes.Buffer{}
	a.cmd = exec.Command(a.bin, "run", "--config", a.config)
	a.cmd.Stderr = a.log
	if err := a.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	a.done = exited
	go func() {
		a.cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := a.statusOK(time.Second); err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("printpay run exited")
		default:
		}
		if time.Now().After(deadline) {
			a.kill()
			return errors.New("no answer from /api/status after 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL (no shutdown code runs) and waits
// for it.
func (a *e2eAgent) kill() {
	if a.cmd == nil || a.done == nil {
		return
	}
	a.cmd.Process.Kill()
	<-a.done
}

// restart starts the agent again after a kill.
func (a *e2eAgent) restart(t *testing.T) {
	t.Helper()
	if err := a.startE2E(); err != nil {
		t.Fatalf("agent did not restart: %v\n%s", err, a.log)
	}
}

// e2eJob is one job of GET /api/jobs.
type e2eJob struct {
	ID         string                 `json:"id"`
	Printer    string                 `json:"printer"`
	Bytes      int64                  `json:"bytes"`
	Intake     string                 `json:"intake"`
	State      string                 `json:"state"`
	Reprint    int                    `json:"reprint"`
	Payable    *bool                  `json:"payable"`
	AmountFen  *int64                 `json:"amount_fen"`
	OutTradeNo *string                `json:"out_trade_no"`
	QR         *string                `json:"qr"`
	QRReason   *string                `json:"qr_reason"`
	Receipts   []worker.ReceiptResult `json:"receipts"`
}

// apiJobs returns every job the agent knows, oldest first.
func (a *e2eAgent) apiJobs(t *testing.T) []e2eJob {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + a.Status + "/api/jobs?limit=0")
	if err != nil {
		t.Fatalf("GET /api/jobs: %v", err)
	}
	defer resp.Body.Close()
	var jobs []e2eJob
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil {
		t.Fatalf("GET /api/jobs: %v", err)
	}
	for i, j := 0, len(jobs)-1; i < j; i, j = i+1, j-1 {
		jobs[i], jobs[j] = jobs[j], jobs[i]
	}
	return jobs
}

// statusOK reports whether /api/status answers within limit.
func (a *e2eAgent) statusOK(limit time.Duration) error {
	c := http.Client{Timeout: limit}
	resp, err := c.Get("http://" + a.Status + "/api/status")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/api/status: %s", resp.Status)
	}
	return nil
}

// waitJobs waits until ok holds for the job list.
func (a *e2eAgent) waitJobs(t *testing.T, limit time.Duration, ok func([]e2eJob) bool) []e2eJob {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		jobs := a.apiJobs(t)
		if ok(jobs) {
			return jobs
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// final reports whether a job has printed and its QR outcome is known.
func (j e2eJob) final() bool {
	return (j.State == "done" || j.State == "failed") && j.QR != nil
}
