package worker

import (
	"context"
	"strings"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/drivers"
)

// Paid notices: what the printer does when an order is paid (paid_notice).
const (
	NoticeSlip = "slip" // a short slip "已支付 ￥153.00 单号 …" (the default)
	NoticeBeep = "beep" // the profile's buzzer command
	NoticeOff  = "off"
)

// Notice asks the worker to tell the shop that a receipt's order was paid.
type Notice struct {
	JobID     string
	AmountFen int64
	OrderNo   string
	Encoding  string // the receipt's encoding, for the slip's text
}

// Notify queues a paid notice. It never blocks: the worker prints it between
// jobs; when too many are waiting the notice is dropped and logged (the job
// still shows as paid).
func (w *Worker) Notify(n Notice) {
	select {
	case w.notices <- n:
		select {
		case w.wake <- struct{}{}:
		default:
		}
	default:
		w.log.Warn("worker: too many paid notices waiting; dropped one", "job", n.JobID)
	}
}

// next waits for the next job, or returns ok=false early when a notice
// arrives.
func (w *Worker) next(ctx context.Context) (job Job, ok bool, err error) {
	nctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-w.wake:
			cancel()
		case <-stop:
		}
	}()
	job, err = w.q.Next(nctx)
	close(stop)
	<-done
	if err != nil && ctx.Err() == nil && nctx.Err() != nil {
		return Job{}, false, nil // woken for a notice
	}
	return job, err == nil, err
}

func (w *Worker) drainNotices(ctx context.Context) {
	for {
		select {
		case n := <-w.notices:
			w.notice(ctx, n)
		default:
			return
		}
	}
}

func (w *Worker) notice(ctx context.Context, n Notice) {
	var b []byte
	switch w.cfg.PaidNotice {
	case NoticeOff:
		return
	case NoticeBeep:
		if len(w.cfg.Buzzer) == 0 {
			w.log.Info("worker: paid; the printer's profile has no buzzer command", "job", n.JobID)
			return
		}
		b = w.cfg.Buzzer
	default:
		b = PaidSlip(n, w.cfg.Cut)
	}
	log := w.log.With("job", n.JobID)
	p, err := w.printer(ctx)
	if err != nil {
		log.Warn("worker: paid notice not printed: printer unavailable", "err", err)
		return
	}
	jp, isJob := p.(drivers.JobPrinter)
	if isJob {
		if err := jp.BeginJob(drivers.PaidSlipID(n.JobID)); err != nil {
			log.Warn("worker: paid notice not printed", "err", err)
			return
		}
	}
	if _, err := p.Write(b); err != nil {
		log.Warn("worker: paid notice not printed", "err", err)
		w.closePrinter()
		return
	}
	if isJob {
		if err := jp.EndJob(); err != nil {
			log.Warn("worker: paid notice not printed", "err", err)
		}
	}
	log.Info("worker: paid notice printed", "notice", w.cfg.PaidNotice)
}

// PaidSlip is the slip printed when an order is paid: ESC @, the paid line
// (已支付 ￥153.00, in the receipt's encoding), the POS order number, feeds
// and the cut.
func PaidSlip(n Notice, cut []byte) []byte {
	b := []byte{0x1B, 0x40}
	b = append(b, escpos.PaidBlock(n.AmountFen, n.Encoding, escpos.State{Width: 1, Height: 1})...)
	if n.OrderNo != "" {
		b = append(b, 0x1B, 0x61, 0x01)
		b = append(b, orderLabel(n.Encoding)...)
		b = append(b, n.OrderNo...)
		b = append(b, '\n', 0x1B, 0x61, 0x00)
	}
	if len(cut) == 0 {
		cut = []byte{0x1D, 0x56, 0x42, 0x00} // GS V 66 0: feed to the cutter, partial cut
	}
	b = append(b, '\n', '\n')
	return append(b, cut...)
}

func orderLabel(encoding string) []byte {
	enc := strings.ToLower(encoding)
	switch {
	case strings.HasPrefix(enc, "gb"):
		s, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("单号 "))
		return s
	case enc == "big5":
		s, _ := traditionalchinese.Big5.NewEncoder().Bytes([]byte("單號 "))
		return s
	}
	return []byte("Order ")
}
