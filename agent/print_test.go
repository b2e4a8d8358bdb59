package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWorkersPrintToPreview runs the agent with the real worker and the
// file (preview) driver: a job sent to the raw port comes out of the
// preview printer byte-exact (no server, so no QR) and lists as done.
func TestWorkersPrintToPreview(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers = cfg.Printers[:1]
	preview := cfg.Printers[0].Device
	a := start(t, cfg, Options{Print: Workers(nil)})
	job, err := os.ReadFile("../testdata/corpus/zachzurn__thermal/test_receipt_4.bin")
	if err != nil {
		t.Fatal(err)
	}
	sendRaw(t, a.Raw["front"], job)
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs := apiJobs(t, a.Status)
		if len(jobs) == 1 && jobs[0].State == "done" {
			got, err := os.ReadFile(filepath.Join(preview, jobs[0].ID+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, job) {
				t.Fatalf("printed %d bytes, want the job's %d unchanged", len(got), len(job))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not printed: %+v", jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWorkersRejectsAnUnknownProfile(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers[0].Profile = "no-such-model"
	a := Printer{Config: cfg.Printers[0], Agent: cfg}
	a.Logger = nil
	if _, _, _, err := workerParts(withLogger(a)); err == nil {
		t.Fatal("an unknown profile was accepted")
	}
}

func withLogger(p Printer) Printer {
	p.Logger = discard()
	return p
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
