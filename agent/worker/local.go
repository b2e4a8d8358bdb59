package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LocalQR is a QRSource that needs no server: it answers every request with
// a test URL naming the job and receipt, and can fail, stall or say "paid"
// on demand. The agent uses it for `[server] url = "local:..."`, which the
// benchmarks and end-to-end tests use to exercise the print path alone.
type LocalQR struct {
	Fail  bool          // answer every request with an error
	Stall time.Duration // wait this long (or until the caller gives up) before answering
	Paid  bool          // answer "already paid"
}

// ParseLocalQR reads a local source from a server URL: "local:",
// "local:fail", "local:paid" or "local:stall=2s". ok is false when url is
// not a local: URL.
func ParseLocalQR(url string) (q *LocalQR, ok bool, err error) {
	rest, found := strings.CutPrefix(url, "local:")
	if !found {
		return nil, false, nil
	}
	q = &LocalQR{}
	for _, opt := range strings.Split(rest, ",") {
		switch {
		case opt == "":
		case opt == "fail":
			q.Fail = true
		case opt == "paid":
			q.Paid = true
		case strings.HasPrefix(opt, "stall="):
			d, err := time.ParseDuration(strings.TrimPrefix(opt, "stall="))
			if err != nil {
				return nil, true, fmt.Errorf("worker: local QR source: %w", err)
			}
			q.Stall = d
		default:
			return nil, true, fmt.Errorf("worker: local QR source: unknown option %q (want fail, paid or stall=DURATION)", opt)
		}
	}
	return q, true, nil
}

// Ready reports true: a local source is always there.
func (q *LocalQR) Ready() bool { return true }

// QR answers req.
func (q *LocalQR) QR(ctx context.Context, req QRRequest) (QRResponse, error) {
	if q.Stall > 0 {
		t := time.NewTimer(q.Stall)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return QRResponse{}, ctx.Err()
		}
	}
	if q.Fail {
		return QRResponse{}, errors.New("worker: local QR source fails on purpose")
	}
	id := fmt.Sprintf("L%s%d", strings.ToUpper(req.JobID), req.ReceiptIndex)
	if len(id) > 32 {
		id = id[len(id)-32:]
	}
	return QRResponse{
		OutTradeNo: id,
		CodeURL:    "https://printpay.invalid/pay/" + id,
		ExpiresAt:  time.Now().Add(15 * time.Minute),
		Paid:       q.Paid,
	}, nil
}
