package tcp

import (
	"context"
	"sort"
	"testing"
	"time"

	"printpay.dev/printpay/drivers"
)

// BenchmarkJob4K: a 4 KB job through the driver to a network printer on
// loopback, timed from Write to the last byte at the printer.
func BenchmarkJob4K(b *testing.B) {
	s := newServer(b)
	p, err := Open(drivers.Config{Device: s.addr()})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	job := make([]byte, 4096)
	for i := range job {
		job[i] = byte('A' + i%26)
	}
	lat := make([]time.Duration, 0, b.N)
	b.SetBytes(int64(len(job)))
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := p.Write(job); err != nil {
			b.Fatal(err)
		}
		total += len(job)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ok := s.first().WaitLen(ctx, total)
		cancel()
		if !ok {
			b.Fatal("job not received")
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
