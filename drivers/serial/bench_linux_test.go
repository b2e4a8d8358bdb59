package serial

import (
	"context"
	"sort"
	"testing"
	"time"

	"printpay.dev/printpay/drivers"
)

// BenchmarkJob4K: a 4 KB job through the driver into a pty, timed from
// Write to the last byte at the printer end (issue 6's latency figure for
// the device leg).
func BenchmarkJob4K(b *testing.B) {
	p, fp, _ := setup(b, drivers.Config{Baud: 115200})
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
		ok := fp.WaitLen(ctx, total)
		cancel()
		if !ok {
			b.Fatal("job not received")
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
