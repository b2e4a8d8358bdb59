package worker

import (
	"fmt"
	"sort"

	"printpay.dev/printpay/agent/escpos"
)

// Printed rebuilds what the worker sent to the printer for a job: the
// original bytes with the blocks its result says were spliced, built again
// the same way (the blocks depend only on the code, the amount, the
// encoding, the state at the splice point and cfg). The status page uses it
// for the "after" preview. A paper-cut (AppendCut) is added as the worker
// adds it.
func Printed(original []byte, r Result, cfg Config) ([]byte, error) {
	cfg = cfg.withDefaults()
	var job *escpos.Job
	var ins []escpos.Insertion
	for _, rr := range r.Receipts {
		if rr.Block == "" {
			continue
		}
		if job == nil {
			job = escpos.Scan(original, escpos.Options{})
		}
		var st escpos.State
		found := false
		for _, er := range job.Receipts {
			if er.SpliceOffset == rr.SpliceOffset && er.SpliceOffset >= 0 {
				st, found = er.State, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("worker: receipt %d: no splice point at %d in the job", rr.Index, rr.SpliceOffset)
		}
		var amount int64
		if rr.AmountFen != nil {
			amount = *rr.AmountFen
		}
		var block []byte
		switch rr.Block {
		case "paid":
			block = escpos.PaidBlock(amount, r.Encoding, st)
		case "qr":
			b, err := escpos.QRBlock(escpos.QROptions{
				URL: rr.CodeURL, Mode: cfg.QRMode, PaperDots: cfg.PaperDots,
				ModuleSize: cfg.ModuleSize, AmountFen: amount, Encoding: r.Encoding, State: st,
			})
			if err != nil {
				return nil, fmt.Errorf("worker: receipt %d: %w", rr.Index, err)
			}
			block = b
		default:
			return nil, fmt.Errorf("worker: receipt %d: unknown block %q", rr.Index, rr.Block)
		}
		ins = append(ins, escpos.Insertion{Offset: rr.SpliceOffset, Block: block})
	}
	sort.SliceStable(ins, func(i, j int) bool { return ins[i].Offset < ins[j].Offset })
	out := escpos.Splice(original, ins)
	if len(cfg.AppendCut) > 0 && len(original) > 0 && !hasCut(original) {
		out = append(out, cfg.AppendCut...)
	}
	return out, nil
}

func hasCut(b []byte) bool {
	for len(b) > 0 {
		n, tok := escpos.Split(b, true)
		if n <= 0 {
			return false
		}
		if tok.Op == escpos.OpCut {
			return true
		}
		b = b[n:]
	}
	return false
}
