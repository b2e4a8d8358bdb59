package winspool

import "printpay.dev/printpay/drivers"

// found turns queues into discovery entries.
func found(ps []PrinterInfo) []drivers.Found {
	out := make([]drivers.Found, 0, len(ps))
	for _, p := range ps {
		d := p.Driver
		if p.Port != "" {
			d += " on " + p.Port
		}
		out = append(out, drivers.Found{Driver: "winspool", Device: p.Name, Description: d})
	}
	return out
}
