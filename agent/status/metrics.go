package status

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

// promWriter writes the Prometheus text exposition format.
type promWriter struct{ w io.Writer }

func (p promWriter) metric(name, kind, help string, samples ...sample) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	for _, s := range samples {
		fmt.Fprintf(p.w, "%s%s %d\n", name, s.labels, s.value)
	}
}

type sample struct {
	labels string // `{k="v"}` or ""
	value  uint64
}

func one(v uint64) sample { return sample{value: v} }

func label(k, v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return fmt.Sprintf(`{%s="%s"}`, k, r.Replace(v))
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	p := promWriter{w}
	if in := s.opt.Intake; in != nil {
		st := in.Stats()
		p.metric("printpay_intake_connections_total", "counter", "Connections accepted by the raw and LPD listeners.", one(st.Connections))
		p.metric("printpay_intake_refused_total", "counter", "Connections or jobs refused (limits, full spool, bad commands).", one(st.Refused))
		p.metric("printpay_intake_jobs_total", "counter", "Jobs received complete.", one(st.Jobs))
		p.metric("printpay_intake_truncated_total", "counter", "Jobs kept as truncated.", one(st.Truncated))
		p.metric("printpay_intake_bytes_total", "counter", "Job bytes received.", one(st.Bytes))
		p.metric("printpay_intake_status_queries_total", "counter", "Status queries answered.", one(st.StatusQueries))
		p.metric("printpay_intake_status_only_connections_total", "counter", "Connections that carried status queries only.", one(st.StatusOnly))
		p.metric("printpay_intake_empty_connections_total", "counter", "Connections closed without a byte.", one(st.Empty))
	}
	if sp := s.opt.Spool; sp != nil {
		st := sp.Stats()
		p.metric("printpay_spool_created_total", "counter", "Jobs created in the spool.", one(st.Created))
		p.metric("printpay_spool_completed_total", "counter", "Jobs committed complete (synced).", one(st.Completed))
		p.metric("printpay_spool_truncated_total", "counter", "Jobs ended truncated.", one(st.Truncated))
		p.metric("printpay_spool_refused_total", "counter", "Jobs refused for lack of disk space.", one(st.Refused))
		p.metric("printpay_spool_pruned_total", "counter", "Done jobs pruned.", one(st.Pruned))
		p.metric("printpay_spool_bytes_total", "counter", "Bytes written to job files.", one(st.BytesIn))
		p.metric("printpay_spool_syncs_total", "counter", "Journal sync batches (group commits).", one(st.Syncs))
		states := []spool.PrintState{spool.Pending, spool.Sending, spool.Done, spool.Failed}
		var ss []sample
		for _, state := range states {
			ss = append(ss, sample{label("state", string(state)), uint64(st.Jobs[state])})
		}
		p.metric("printpay_spool_jobs", "gauge", "Jobs in the spool by print state.", ss...)
		p.metric("printpay_spool_held_jobs", "gauge", "Jobs held for a person (truncated).", one(uint64(st.Held)))
	}
	if len(s.opt.Printers) > 0 {
		var up []sample
		printers := append([]Printer(nil), s.opt.Printers...)
		sort.Slice(printers, func(i, j int) bool { return printers[i].Name < printers[j].Name })
		for _, pr := range printers {
			v := uint64(0)
			if pr.Status != nil && pr.Status.Get().State == drivers.StateOnline {
				v = 1
			}
			up = append(up, sample{label("printer", pr.Name), v})
		}
		p.metric("printpay_printer_online", "gauge", "1 when the printer reports itself online.", up...)
		var ss []sample
		for _, pr := range printers {
			var cur drivers.PrinterState
			if pr.Status != nil {
				cur = pr.Status.Get().State
			}
			for _, st := range printerStates {
				v := uint64(0)
				if st == cur {
					v = 1
				}
				ss = append(ss, sample{labels(labelPair{"printer", pr.Name}, labelPair{"state", StateName(st)}), v})
			}
		}
		p.metric("printpay_printer_state", "gauge", "1 for the state each printer is in.", ss...)
		if sp := s.opt.Spool; sp != nil {
			var depth []sample
			for _, pr := range printers {
				depth = append(depth, sample{label("printer", pr.Name), uint64(len(sp.Queue(pr.Name)))})
			}
			p.metric("printpay_spool_depth", "gauge", "Jobs waiting for or being sent to each printer.", depth...)
		}
	}
	if sp := s.opt.Spool; sp != nil {
		s.jobMetrics(p, sp.List(0))
	}
	if h := s.opt.Latency; h != nil {
		h.write(p.w, "printpay_job_latency_seconds", "Time from a job's end to the printer having it all (observed by the agent).")
	}
}

var printerStates = []drivers.PrinterState{drivers.StateUnknown, drivers.StateOnline, drivers.StateOffline, drivers.StatePaperOut, drivers.StateCoverOpen, drivers.StateError}

// qrOutcomes are the final QR outcomes, plus "pending" for a job or receipt
// whose outcome is not final.
var qrOutcomes = []string{"spliced", "paid-line", "none", "timeout", "late", "error", "pending"}

// jobMetrics describes the jobs the spool holds (the retention window).
func (s *Server) jobMetrics(p promWriter, jobs []spool.Job) {
	byQR := map[string]uint64{}
	receiptQR := map[string]uint64{}
	var printed, paid uint64
	lat := NewHistogram(nil)
	for _, j := range jobs {
		qr := j.Result.QR
		if qr == "" {
			qr = "pending"
		}
		byQR[qr]++
		if j.Result.Paid {
			paid++
		}
		for _, r := range viewJob(j).Receipts {
			q := r.QR
			if q == "" {
				q = "pending"
			}
			receiptQR[q]++
		}
		if j.State == spool.Done {
			printed += uint64(j.Bytes)
			if !j.Finished.IsZero() && !j.Finished.Before(j.ReceivedAt) {
				lat.Observe(j.Finished.Sub(j.ReceivedAt))
			}
		}
	}
	var a, b []sample
	for _, q := range qrOutcomes {
		a = append(a, sample{label("qr", q), byQR[q]})
		b = append(b, sample{label("qr", q), receiptQR[q]})
	}
	p.metric("printpay_jobs", "gauge", "Jobs in the spool by QR outcome (pending: not final yet).", a...)
	p.metric("printpay_receipts_qr", "gauge", "Receipts of the jobs in the spool by QR outcome.", b...)
	p.metric("printpay_jobs_paid", "gauge", "Jobs in the spool whose order is paid.", one(paid))
	p.metric("printpay_printed_bytes", "gauge", "Bytes of the printed jobs in the spool.", one(printed))
	if s.opt.Latency == nil {
		lat.write(p.w, "printpay_job_latency_seconds", "Time from a job's arrival to its being printed, over the printed jobs the spool holds.")
	}
}

type labelPair struct{ k, v string }

func labels(ps ...labelPair) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, p.k, r.Replace(p.v))
	}
	b.WriteByte('}')
	return b.String()
}

// DefaultLatencyBuckets are the latency histogram's upper bounds.
var DefaultLatencyBuckets = []time.Duration{
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute,
}

// Histogram counts durations in buckets (Prometheus histogram semantics).
// It is safe for concurrent use.
type Histogram struct {
	mu      sync.Mutex
	bounds  []time.Duration
	counts  []uint64 // per bucket, not cumulative; the last is +Inf
	sum     time.Duration
	samples uint64
}

// NewHistogram returns a histogram with the given upper bounds, ascending
// (nil: DefaultLatencyBuckets).
func NewHistogram(bounds []time.Duration) *Histogram {
	if bounds == nil {
		bounds = DefaultLatencyBuckets
	}
	return &Histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	i := sort.Search(len(h.bounds), func(i int) bool { return d <= h.bounds[i] })
	h.mu.Lock()
	h.counts[i]++
	h.sum += d
	h.samples++
	h.mu.Unlock()
}

func (h *Histogram) write(w io.Writer, name, help string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{le=\"%s\"} %d\n", name, strconv.FormatFloat(b.Seconds(), 'g', -1, 64), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, cum, name, strconv.FormatFloat(h.sum.Seconds(), 'g', -1, 64), name, h.samples)
}
