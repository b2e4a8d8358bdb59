package status

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

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
	}
}
