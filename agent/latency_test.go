package agent

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// Each printed job's latency (job end → last byte at the printer, measured
// by the worker) reaches the histogram at /metrics.
func TestLatencyMetric(t *testing.T) {
	cfg := testConfig(t)
	cfg.Printers = cfg.Printers[:1]
	a := start(t, cfg, Options{Print: Workers(nil)})
	for range 3 {
		sendRaw(t, a.Raw["front"], testJob(t))
	}
	re := regexp.MustCompile(`(?m)^printpay_job_latency_seconds_count(?:\{[^}]*\})? (\d+)$`)
	deadline := time.Now().Add(10 * time.Second)
	var body []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + a.Status + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := re.FindSubmatch(body); m != nil {
			if n, _ := strconv.Atoi(string(m[1])); n >= 3 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no latency for 3 printed jobs at /metrics:\n%s", body)
}
