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

// TestCUPSThroughTheWorker prints with real CUPS clients through the whole
// agent to the preview printer: without a QR source every job comes out
// exactly as it went in.
func TestCUPSThroughTheWorker(t *testing.T) {
	cu := startCUPS(t)
	cfg := testConfig(t)
	preview := cfg.Printers[0].Device
	cfg.Printers[1].Driver, cfg.Printers[1].Device = "file", t.TempDir()
	a := start(t, cfg, Options{Print: Workers(nil)})
	job := testJob(t)
	file := filepath.Join(t.TempDir(), "job.bin")
	os.WriteFile(file, job, 0o644)
	os.Chmod(filepath.Dir(file), 0o755)
	cu.run("lpadmin", "-p", "viaraw", "-E", "-v", "socket://"+a.Raw["front"])
	cu.run("lpadmin", "-p", "vialpd", "-E", "-v", "lpd://"+a.LPD+"/kitchen?reserve=none")
	cu.run("lp", "-d", "viaraw", "-o", "raw", file)
	cu.run("lp", "-d", "vialpd", "-o", "raw", file)
	cu.waitEmpty()
	deadline := time.Now().Add(15 * time.Second)
	for {
		jobs := apiJobs(t, a.Status)
		done := 0
		for _, j := range jobs {
			if j.State == "done" {
				done++
			}
		}
		if len(jobs) == 2 && done == 2 {
			for _, j := range jobs {
				dir := preview
				if j.Printer == "kitchen" {
					dir = cfg.Printers[1].Device
				}
				got, err := os.ReadFile(filepath.Join(dir, j.ID+".bin"))
				if err != nil || !bytes.Equal(got, job) {
					t.Fatalf("job %s printed %d bytes (%v), want %d unchanged", j.ID, len(got), err, len(job))
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not printed: %+v", jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
