package link

import (
	"context"
	"time"

	"printpay.dev/printpay/drivers"
)

// PollQueries are the status requests a poll sends, in order.
var PollQueries = []drivers.Query{drivers.QueryPrinter, drivers.QueryOffline, drivers.QueryPaper}

// Poll sends DLE EOT 1, 2 and 4 every interval until ctx is done, but only
// while idle() reports the printer is between jobs, so a poll never lands
// inside a job's bytes. Each query is announced to cache before it is
// written. Write errors are left to the next job to report.
func Poll(ctx context.Context, interval time.Duration, idle func() bool, write func([]byte) error, cache *drivers.StatusCache) {
	if interval <= 0 {
		interval = drivers.DefaultPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !idle() {
			continue
		}
		for _, q := range PollQueries {
			cache.Expect(q)
			if err := write(q.Bytes()); err != nil {
				break
			}
		}
	}
}
