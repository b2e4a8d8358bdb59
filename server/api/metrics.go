package api

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"printpay.dev/printpay/server/apiv1"
)

// metrics are the server's counters, served as Prometheus text.
type metrics struct {
	connections   atomic.Int64
	framesIn      atomic.Int64
	framesOut     atomic.Int64
	badFrames     atomic.Int64
	rateLimited   atomic.Int64
	authFailures  atomic.Int64
	ordersCreated atomic.Int64
	ordersPaid    atomic.Int64
	ordersClosed  atomic.Int64
	qrReused      atomic.Int64
	wechatErrors  atomic.Int64
	paidSent      atomic.Int64
	receipts      atomic.Int64
	enrolled      atomic.Int64
	enrollFailed  atomic.Int64
	notifications atomic.Int64

	mu      sync.Mutex
	answers map[string]int64 // qr.request answers by outcome
	// request durations, a fixed histogram in seconds
	buckets []float64
	counts  []int64
	sum     float64
	count   int64
}

func newMetrics() *metrics {
	b := []float64{0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	return &metrics{answers: map[string]int64{}, buckets: b, counts: make([]int64, len(b))}
}

func (m *metrics) observe(ans apiv1.Message, d time.Duration) {
	outcome := ans.Type()
	if e, ok := ans.(*apiv1.Error); ok {
		outcome = e.Code
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answers[outcome]++
	sec := d.Seconds()
	for i, b := range m.buckets {
		if sec <= b {
			m.counts[i]++
		}
	}
	m.sum += sec
	m.count++
}

func (m *metrics) serve(s *Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		gauge := func(name, help string, v int64) {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
		}
		counter := func(name, help string, v int64) {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
		}
		gauge("printpay_server_agent_connections", "Agent websockets open on this node.", m.connections.Load())
		counter("printpay_server_frames_received_total", "Frames received from agents.", m.framesIn.Load())
		counter("printpay_server_frames_sent_total", "Frames sent to agents.", m.framesOut.Load())
		counter("printpay_server_bad_frames_total", "Malformed, oversized, binary or unknown frames.", m.badFrames.Load())
		counter("printpay_server_rate_limited_total", "Frames refused with rate_limited.", m.rateLimited.Load())
		counter("printpay_server_auth_failures_total", "Websocket connections with an unknown token.", m.authFailures.Load())
		counter("printpay_server_orders_created_total", "WeChat Pay orders created.", m.ordersCreated.Load())
		counter("printpay_server_orders_paid_total", "Orders recorded as paid.", m.ordersPaid.Load())
		counter("printpay_server_orders_closed_total", "Orders closed (cancelled or replaced).", m.ordersClosed.Load())
		counter("printpay_server_orders_reused_total", "qr.requests answered with an existing order (reprints).", m.qrReused.Load())
		counter("printpay_server_wechat_errors_total", "Failed WeChat Pay calls.", m.wechatErrors.Load())
		counter("printpay_server_order_paid_sent_total", "order.paid frames sent.", m.paidSent.Load())
		counter("printpay_server_receipts_total", "Receipts stored (after de-duplication).", m.receipts.Load())
		counter("printpay_server_enrollments_total", "Devices enrolled.", m.enrolled.Load())
		counter("printpay_server_enrollment_failures_total", "Refused enrollments.", m.enrollFailed.Load())
		counter("printpay_server_notifications_total", "WeChat Pay notifications received.", m.notifications.Load())

		m.mu.Lock()
		defer m.mu.Unlock()
		fmt.Fprintf(w, "# HELP printpay_server_answers_total Answers to agent requests by outcome.\n# TYPE printpay_server_answers_total counter\n")
		keys := make([]string, 0, len(m.answers))
		for k := range m.answers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "printpay_server_answers_total{outcome=%q} %d\n", k, m.answers[k])
		}
		fmt.Fprintf(w, "# HELP printpay_server_request_seconds Time to answer agent requests.\n# TYPE printpay_server_request_seconds histogram\n")
		for i, b := range m.buckets {
			fmt.Fprintf(w, "printpay_server_request_seconds_bucket{le=\"%g\"} %d\n", b, m.counts[i])
		}
		fmt.Fprintf(w, "printpay_server_request_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
		fmt.Fprintf(w, "printpay_server_request_seconds_sum %g\nprintpay_server_request_seconds_count %d\n", m.sum, m.count)
	}
}
