package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/drivertest"
)

// benchQueue hands out the same job b.N times and reports when each
// finishes.
type benchQueue struct {
	data []byte
	next chan struct{}
	done chan time.Time
}

func (q *benchQueue) Next(ctx context.Context) (worker.Job, error) {
	select {
	case <-q.next:
	case <-ctx.Done():
		return worker.Job{}, ctx.Err()
	}
	return worker.Job{ID: "01JBENCH", ReceivedAt: time.Now(), Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(q.data)), nil
	}}, nil
}
func (q *benchQueue) Sending(string, int) error          { return nil }
func (q *benchQueue) Record(string, worker.Result) error { return nil }
func (q *benchQueue) Finish(string, worker.Result, error) error {
	q.done <- time.Now()
	return nil
}

// benchJob is a 4 KB receipt.
func benchJob(payable bool) []byte {
	var b bytes.Buffer
	b.WriteString("\x1b@\x1ba\x01BENCH SHOP\n\x1ba\x00")
	for b.Len() < 4000 {
		b.WriteString("ITEM 0001                           1.00\n")
	}
	if !payable {
		b.WriteString("CASH 20.00\n")
	}
	b.WriteString("TOTAL 12.34\n\n\n\x1dVA\x00")
	return b.Bytes()
}

// BenchmarkJobLatency times a complete 4 KB job from the moment the worker
// may take it to the last byte accepted by the printer, with the analysis,
// and for payable receipts the local QR source, the raster QR block and the
// splice. It reports p50 and p99.
func BenchmarkJobLatency(b *testing.B) {
	for _, payable := range []bool{false, true} {
		name := "not-payable"
		if payable {
			name = "payable"
		}
		b.Run(name, func(b *testing.B) {
			q := &benchQueue{data: benchJob(payable), next: make(chan struct{}), done: make(chan time.Time)}
			p := drivertest.New()
			w := worker.New(worker.Config{Printer: "bench"}, q,
				func(context.Context) (drivers.Printer, error) { return p, nil }, &worker.LocalQR{}, analyze, nil)
			ctx, cancel := context.WithCancel(context.Background())
			go w.Run(ctx)
			defer cancel()
			lat := make([]time.Duration, 0, b.N)
			b.SetBytes(int64(len(q.data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				q.next <- struct{}{}
				lat = append(lat, (<-q.done).Sub(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkManyReceipts times a job of 200 short receipts that arrives at
// once, through the rule engine: one analysis serves every cut that
// arrived together.
func BenchmarkManyReceipts(b *testing.B) {
	var job bytes.Buffer
	for i := range 200 {
		fmt.Fprintf(&job, "\x1b@SHOP %d\nITEM 1.00\nITEM 2.00\nTOTAL 3.00\nCASH 3.00\n\n\n\x1dVA\x00", i)
	}
	q := &benchQueue{data: job.Bytes(), next: make(chan struct{}), done: make(chan time.Time)}
	p := drivertest.New()
	w := worker.New(worker.Config{Printer: "bench"}, q,
		func(context.Context) (drivers.Printer, error) { return p, nil }, &worker.LocalQR{},
		worker.ReceiptAnalyzer(receipt.Options{}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	go w.Run(ctx)
	defer cancel()
	b.SetBytes(int64(job.Len()))
	b.ReportAllocs()
	for b.Loop() {
		q.next <- struct{}{}
		<-q.done
	}
}
