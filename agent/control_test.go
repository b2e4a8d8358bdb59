package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The status page's pause and test-page buttons: a test page queued on a
// paused printer waits; resuming prints it.
func TestPauseAndTestPage(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers = cfg.Printers[:1]
	a := start(t, cfg, Options{Print: Workers(nil)})
	var csrf struct{ Header, Token string }
	resp, err := http.Get("http://" + a.Status + "/api/csrf")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&csrf)
	resp.Body.Close()
	post := func(action string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.Status+"/api/printers/front/"+action, nil)
		req.Header.Set(csrf.Header, csrf.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s: %s", action, resp.Status)
		}
	}
	post("pause")
	post("test")
	jobs := apiJobs(t, a.Status)
	if len(jobs) != 1 {
		t.Fatalf("jobs after the test button: %+v", jobs)
	}
	time.Sleep(300 * time.Millisecond)
	if j := apiJobs(t, a.Status)[0]; j.State != "pending" {
		t.Fatalf("a paused printer printed: %+v", j)
	}
	post("resume")
	deadline := time.Now().Add(10 * time.Second)
	for apiJobs(t, a.Status)[0].State != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("the test page did not print after resume: %+v", apiJobs(t, a.Status))
		}
		time.Sleep(10 * time.Millisecond)
	}
	got, err := os.ReadFile(filepath.Join(cfg.Printers[0].Device, jobs[0].ID+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("printer: front\n")) || !bytes.Contains(got, []byte("test page")) {
		t.Fatalf("test page: %q", got)
	}
}
