package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"printpay.dev/printpay/spool"
)

// SpoolQueue is one printer's queue in a spool, as a Queue.
func SpoolQueue(sp *spool.Spool, printer string) Queue {
	return &spoolQueue{sp: sp, printer: printer}
}

type spoolQueue struct {
	sp      *spool.Spool
	printer string
}

func (q *spoolQueue) Next(ctx context.Context) (Job, error) {
	j, err := q.sp.Wait(ctx, q.printer)
	if err != nil {
		return Job{}, err
	}
	id := j.ID
	return Job{
		ID: id, ReceivedAt: j.ReceivedAt, Reprint: j.Reprint,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return q.sp.Open(ctx, id) },
	}, nil
}

func (q *spoolQueue) Sending(id string, reprint int) error {
	j, err := q.sp.Get(id)
	if err != nil {
		return err
	}
	if j.State == spool.Sending {
		// A retry of the same job: counted when bytes of the earlier try
		// reached the printer (the worker then raised reprint).
		if reprint > j.Reprint {
			return q.sp.MarkResend(id)
		}
		return nil
	}
	return q.sp.MarkSending(id)
}

func (q *spoolQueue) Record(id string, r Result) error {
	receipts, err := json.Marshal(r.Receipts)
	if err != nil {
		return fmt.Errorf("worker: encode receipts: %w", err)
	}
	return q.sp.UpdateResult(id, func(sr *spool.Result) {
		sr.Analyzed = r.Payable != nil
		if r.Payable != nil {
			sr.Payable = *r.Payable
		}
		sr.AmountFen = 0
		if r.AmountFen != nil {
			sr.AmountFen = *r.AmountFen
		}
		sr.OrderNo = ""
		if r.OrderNo != nil {
			sr.OrderNo = *r.OrderNo
		}
		sr.Reason, sr.OutTradeNo, sr.QR, sr.QRReason = r.Reason, r.OutTradeNo, r.QR, r.QRReason
		sr.Receipts = receipts
	})
}

func (q *spoolQueue) Finish(id string, r Result, printErr error) error {
	if err := q.Record(id, r); err != nil {
		return err
	}
	if printErr != nil {
		return q.sp.MarkFailed(id, printErr.Error())
	}
	return q.sp.MarkDone(id)
}
