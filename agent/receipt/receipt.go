package receipt

import (
	"fmt"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/rules"
)

// QR copy policies (the printer's qr_copies setting).
const (
	CopiesFirst = "first" // only the first payable receipt of a job gets a QR
	CopiesAll   = "all"   // every payable receipt gets one
)

// Options configure Analyze.
type Options struct {
	Encoding string     // the printer's configured encoding; "" = detect
	Rules    *rules.Set // nil = rules.Default()
	QRCopies string     // CopiesFirst (default, also for "") or CopiesAll
}

// Report is what printpay reads in one job: the JSON of `printpay inspect
// --json`.
type Report struct {
	Payable    bool      `json:"payable"`
	AmountFen  *int64    `json:"amount_fen"`
	OrderNo    *string   `json:"order_no"`
	Reason     string    `json:"reason"`
	Encoding   string    `json:"encoding"`
	RasterOnly bool      `json:"raster_only"`
	Warnings   []string  `json:"warnings"`
	Receipts   []Receipt `json:"receipts"`

	// QR lists the indexes of the receipts that get a QR, in order.
	QR []int `json:"-"`
	// Star reports a Star Line Mode job (passed through untouched).
	Star bool `json:"-"`
}

// Receipt is one receipt of the job.
type Receipt struct {
	Index        int      `json:"index"`
	Payable      bool     `json:"payable"`
	AmountFen    *int64   `json:"amount_fen"`
	Currency     *string  `json:"currency"`
	OrderNo      *string  `json:"order_no"`
	Reason       string   `json:"reason"`
	CutOffset    *int     `json:"cut_offset"`
	SpliceOffset *int     `json:"splice_offset"`
	Items        []Item   `json:"items"`
	Lines        []string `json:"lines"`

	// Decision is the rules' verdict on the receipt's text (before the
	// splice point was considered).
	Decision rules.Decision `json:"-"`
	// Escpos is the receipt as the reader saw it: offsets, lines, state.
	Escpos escpos.Receipt `json:"-"`
}

// Item is one item line.
type Item struct {
	Name      string `json:"name"`
	Qty       string `json:"qty"`
	AmountFen int64  `json:"amount_fen"`
}

// Analyze scans a job and decides, per receipt, whether it is payable.
// It never panics; its time and memory are linear in len(data).
func Analyze(data []byte, opt Options) Report {
	set := opt.Rules
	if set == nil {
		set = rules.Default()
	}
	job := escpos.Scan(data, escpos.Options{Encoding: opt.Encoding})
	rep := Report{
		Encoding:   job.Encoding,
		RasterOnly: job.RasterOnly,
		Star:       job.Star,
		Warnings:   make([]string, 0, len(job.Warnings)),
		Receipts:   make([]Receipt, 0, len(job.Receipts)),
	}
	for _, w := range job.Warnings {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("offset %d: %s", w.Offset, w.Msg))
	}
	for _, er := range job.Receipts {
		rep.Receipts = append(rep.Receipts, judge(set, job, er))
	}
	if len(rep.Receipts) == 0 {
		rep.Reason = "empty job"
		return rep
	}
	top := 0
	found := false
	for i, r := range rep.Receipts {
		if !r.Payable {
			continue
		}
		if !found {
			top, found = i, true
		}
		if len(rep.QR) == 0 || opt.QRCopies == CopiesAll {
			rep.QR = append(rep.QR, r.Index)
		}
	}
	t := rep.Receipts[top]
	rep.Payable, rep.AmountFen, rep.OrderNo, rep.Reason = t.Payable, t.AmountFen, t.OrderNo, t.Reason
	return rep
}

func judge(set *rules.Set, job *escpos.Job, er escpos.Receipt) Receipt {
	r := Receipt{Index: er.Index, Escpos: er, Items: []Item{}, Lines: make([]string, 0, len(er.Lines))}
	for _, l := range er.Lines {
		if l.Kind == escpos.LineText {
			r.Lines = append(r.Lines, l.Text)
		}
	}
	if er.CutOffset >= 0 {
		r.CutOffset = ptr(er.CutOffset)
	}
	if er.SpliceOffset >= 0 {
		r.SpliceOffset = ptr(er.SpliceOffset)
	}
	d := set.Decide(r.Lines)
	r.Decision = d
	r.Payable, r.Reason = d.Payable, d.Reason
	if d.AmountFound {
		r.AmountFen = ptr(d.AmountFen)
		if d.Currency != "" {
			r.Currency = ptr(d.Currency)
		}
	}
	if d.OrderNo != "" {
		r.OrderNo = ptr(d.OrderNo)
	}
	for _, it := range d.Items {
		r.Items = append(r.Items, Item{Name: it.Name, Qty: it.Qty, AmountFen: it.AmountFen})
	}
	switch {
	case job.RasterOnly:
		r.Payable, r.Reason = false, "raster-only job: no text to read and no QR can go in"
	case job.Star:
		r.Payable, r.Reason = false, "Star Line Mode job: passed through, no QR can go in"
	case r.Payable && er.SpliceOffset < 0:
		why := er.SpliceReason
		if why == "" {
			why = "no splice point"
		}
		r.Payable, r.Reason = false, "no QR can go on this receipt ("+why+"); "+d.Reason
	}
	return r
}

func ptr[T any](v T) *T { return &v }
