//go:build linux

package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestE2EPaperOutStatus: a status query of the POS forwarded in a job is
// answered by the printer; its answer (paper end) reaches the status the
// agent shows and answers from (DESIGN §2.3).
func TestE2EPaperOutStatus(t *testing.T) {
	fp := newFakePrinter(t)
	a := startE2E(t, e2eSetup{Printers: []e2ePrinter{{Name: "front", Device: fp.Device}}})
	fp.PaperOut(true)
	job := append(numberedJob(0, 0, false, 2), "\x10\x04\x04"...) // DLE EOT 4: paper sensor status
	// The agent answers the query itself, at once; the reply is read and dropped.
	if _, ok := sendRawTimed(a.Raw, job); !ok {
		t.Fatal("the agent did not take the job")
	}
	if !fp.WaitLen(len(job), 5*time.Second) {
		t.Fatal("the job did not print")
	}
	var status string
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		status = printerStatus(t, a)
		if status == "paper-out" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("printer status %q after the printer answered paper end, want paper-out", status)
}

func printerStatus(t *testing.T, a *e2eAgent) string {
	t.Helper()
	resp, err := http.Get("http://" + a.Status + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Printers []struct {
			Status string `json:"status"`
		} `json:"printers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st.Printers) == 0 {
		t.Fatalf("/api/status: %v", err)
	}
	return st.Printers[0].Status
}
