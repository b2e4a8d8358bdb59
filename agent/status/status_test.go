package status

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"printpay.dev/printpay/agent/intake"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

func setup(t *testing.T, password string) (*httptest.Server, *spool.Spool, []string) {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	var ids []string
	for _, p := range []string{"front", "kitchen", "front"} {
		w, _ := sp.Create(p, spool.Origin{Proto: "raw"})
		w.Write([]byte("job for " + p))
		w.Commit()
		ids = append(ids, w.ID())
	}
	sp.MarkSending(ids[0])
	sp.UpdateResult(ids[0], func(r *spool.Result) {
		r.Analyzed, r.Payable, r.AmountFen, r.OrderNo, r.QR = true, true, 15300, "A001", "spliced"
		r.Receipts = json.RawMessage(`[{"index":0}]`)
	})
	sp.MarkDone(ids[0])
	cache := &drivers.StatusCache{}
	cache.Set(drivers.Status{State: drivers.StatePaperOut})
	s := New(Options{
		Spool: sp, Intake: intake.New(sp, intake.Options{}), Version: "1.2.3", Password: password,
		Printers: []Printer{{Name: "front", Driver: "file", Device: "/tmp/p", Profile: "generic-80mm", Status: cache}, {Name: "kitchen", Driver: "tcp"}},
	})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, sp, ids
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestJobsAPI(t *testing.T) {
	ts, _, ids := setup(t, "")
	var jobs []map[string]any
	get(t, ts.URL+"/api/jobs", &jobs)
	if len(jobs) != 3 || jobs[0]["id"] != ids[2] || jobs[2]["id"] != ids[0] {
		t.Fatalf("not newest first: %v", jobs)
	}
	want := []string{"id", "printer", "received_at", "bytes", "intake", "state", "reprint", "payable", "amount_fen", "order_no", "reason", "out_trade_no", "qr", "qr_reason", "paid", "receipts"}
	for _, j := range jobs {
		var keys []string
		for k := range j {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(keys, w) {
			t.Fatalf("job keys %v, want %v", keys, w)
		}
	}
	done, pending := jobs[2], jobs[0]
	if done["state"] != "done" || done["payable"] != true || done["amount_fen"] != 15300.0 || done["qr"] != "spliced" || done["order_no"] != "A001" {
		t.Fatalf("done job %v", done)
	}
	if r, ok := done["receipts"].([]any); !ok || len(r) != 1 {
		t.Fatalf("receipts %v", done["receipts"])
	}
	if pending["state"] != "pending" || pending["intake"] != "complete" || pending["payable"] != nil || pending["qr"] != nil || pending["amount_fen"] != nil || pending["paid"] != false {
		t.Fatalf("pending job %v", pending)
	}
	get(t, ts.URL+"/api/jobs?limit=1", &jobs)
	if len(jobs) != 1 {
		t.Fatalf("limit=1 gave %d", len(jobs))
	}
}

func TestStatusAPI(t *testing.T) {
	ts, _, _ := setup(t, "")
	var st struct {
		Printers []map[string]any `json:"printers"`
		Server   map[string]any   `json:"server"`
		Version  string           `json:"version"`
	}
	get(t, ts.URL+"/api/status", &st)
	if st.Version != "1.2.3" || len(st.Printers) != 2 {
		t.Fatalf("status %+v", st)
	}
	if p := st.Printers[0]; p["name"] != "front" || p["status"] != "paper-out" || p["since"] == nil || p["driver"] != "file" || p["profile"] != "generic-80mm" {
		t.Fatalf("printer %v", p)
	}
	if p := st.Printers[1]; p["status"] != "unknown" || p["since"] != nil {
		t.Fatalf("printer %v", p)
	}
	for _, k := range []string{"url", "connected", "since", "last_error", "rules_version", "queued_uploads"} {
		if _, ok := st.Server[k]; !ok {
			t.Fatalf("server lacks %q: %v", k, st.Server)
		}
	}
}

func TestReprintAndOrigin(t *testing.T) {
	ts, sp, ids := setup(t, "")
	tok := csrfOf(t, ts.URL)
	post := func(path, origin string) int {
		req, _ := http.NewRequest("POST", ts.URL+path, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set(CSRFHeader, tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/api/jobs/"+ids[0]+"/reprint", "http://evil.example"); code != http.StatusForbidden {
		t.Fatalf("cross-origin reprint: %d", code)
	}
	if code := post("/api/jobs/"+ids[0]+"/reprint", ts.URL); code != 200 {
		t.Fatalf("reprint: %d", code)
	}
	if j, _ := sp.Get(ids[0]); j.State != spool.Pending || j.Reprint != 1 {
		t.Fatalf("after reprint %+v", j)
	}
	if code := post("/api/jobs/NOPE/reprint", ""); code != http.StatusNotFound {
		t.Fatalf("unknown job: %d", code)
	}
}

func TestPassword(t *testing.T) {
	ts, _, _ := setup(t, "s3cret")
	resp, _ := http.Get(ts.URL + "/api/jobs")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no password: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/jobs", nil)
	req.SetBasicAuth("admin", "s3cret")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with password: %d", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	ts, _, _ := setup(t, "")
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		"# TYPE printpay_intake_jobs_total counter\nprintpay_intake_jobs_total 0\n",
		"printpay_spool_completed_total 3\n",
		`printpay_spool_jobs{state="pending"} 2` + "\n",
		`printpay_spool_jobs{state="done"} 1` + "\n",
		`printpay_printer_online{printer="front"} 0` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("metrics lack %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "printpay_") {
			t.Fatalf("metric line %q not printpay_", line)
		}
	}
}

func csrfOf(t *testing.T, base string) string {
	t.Helper()
	var v struct{ Token string }
	get(t, base+"/api/csrf", &v)
	if v.Token == "" {
		t.Fatal("no csrf token")
	}
	return v.Token
}
