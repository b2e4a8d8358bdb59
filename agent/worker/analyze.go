package worker

import "printpay.dev/printpay/agent/receipt"

// ReceiptAnalyzer is the Analyzer the agent uses: agent/receipt's reading of
// the job with the printer's encoding and the merchant's rules.
func ReceiptAnalyzer(opt receipt.Options) Analyzer {
	return func(data []byte) Analysis {
		rep := receipt.Analyze(data, opt)
		a := Analysis{Encoding: rep.Encoding, Receipts: make([]Receipt, 0, len(rep.Receipts))}
		for _, r := range rep.Receipts {
			wr := Receipt{
				Index: r.Index, Payable: r.Payable, Reason: r.Reason, Lines: r.Lines,
				CutOffset: -1, SpliceOffset: -1,
				SpliceReason: r.Escpos.SpliceReason, State: r.Escpos.State,
			}
			if r.AmountFen != nil {
				wr.AmountFen, wr.AmountKnown = *r.AmountFen, true
			}
			if r.Currency != nil {
				wr.Currency = *r.Currency
			}
			if r.OrderNo != nil {
				wr.OrderNo = *r.OrderNo
			}
			if r.CutOffset != nil {
				wr.CutOffset = *r.CutOffset
			}
			if r.SpliceOffset != nil {
				wr.SpliceOffset = *r.SpliceOffset
			}
			for _, it := range r.Items {
				wr.Items = append(wr.Items, Item{Name: it.Name, Qty: it.Qty, AmountFen: it.AmountFen})
			}
			a.Receipts = append(a.Receipts, wr)
		}
		return a
	}
}
