package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/render"
	"printpay.dev/printpay/agent/status"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/all"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/spool"
)

// Workers returns the PrintFunc that prints through agent/worker: the
// printer's driver (drivers/all) opened with its profile and the status
// cache the raw listener answers from, and one worker on its spool queue.
// qr hands out payment codes; nil prints every receipt without a QR,
// unless the agent runs with a server link ([server] url = ws:// or
// wss://): then the link is the QR source, the analyzer reads the
// merchant's rules in force for each job, and the link sees every result
// the worker records (paid orders, uploads, cancels) and can reach the
// worker for paid notices.
func Workers(qr worker.QRSource) PrintFunc {
	return func(ctx context.Context, p Printer) error {
		wc, open, analyze, err := workerParts(p)
		if err != nil {
			return err
		}
		q := worker.SpoolQueue(p.Spool, p.Config.Name)
		if p.latency != nil {
			q = latencyQueue{q, p.latency}
		}
		if p.pauses != nil {
			q = p.pauses.queue(p.Config.Name, q)
		}
		if l := p.link; l != nil {
			if qr == nil {
				qr = l.source()
			}
			q = l.queue(p.Config.Name, q)
		}
		w := worker.New(wc, q, open, qr, analyze, p.Logger.With("component", "worker"))
		if l := p.link; l != nil {
			l.addWorker(p.Config.Name, w)
			defer l.removeWorker(p.Config.Name, w)
		}
		return w.Run(ctx)
	}
}

// workerParts turns one [[printer]] block into the worker's policy, an
// opener for its driver and its analyzer.
func workerParts(p Printer) (worker.Config, worker.Opener, worker.Analyzer, error) {
	pc := p.Config
	prof, err := profiles.Lookup(pc.Profile)
	if err != nil {
		return worker.Config{}, nil, nil, fmt.Errorf("printer %q: %w", pc.Name, err)
	}
	encoding := pc.Encoding
	if encoding == "" {
		encoding = prof.Encoding
	}
	dc := drivers.Config{
		Name: pc.Name, Driver: pc.Driver, Device: pc.Device,
		Baud: pc.Baud, Parity: pc.Parity, Flow: pc.Flow,
		AgentAddrs: p.AgentAddrs, Cache: p.Status, Logger: p.Logger.With("component", "driver"),
	}
	prof.Apply(&dc)
	if pc.Driver == "file" {
		ropt := render.Options{PaperDots: prof.PaperDots, Encoding: encoding}
		dc.Render = func(job []byte) ([]byte, error) {
			png, _, err := render.PNG(job, ropt)
			return png, err
		}
	}
	open := func(ctx context.Context) (drivers.Printer, error) { return all.Open(dc) }

	mode := pc.QR
	if mode == "auto" || mode == "" {
		mode = prof.QR
	}
	wc := worker.Config{
		Printer:    pc.Name,
		QRBudget:   p.Agent.Server.QRBudget,
		QRMaxAge:   p.Agent.Server.QRMaxAge,
		QRMode:     mode,
		QRCopies:   pc.QRCopies,
		PaperDots:  prof.PaperDots,
		ModuleSize: prof.ModuleSize,
		PaidNotice: p.Agent.Server.PaidNotice,
		Cut:        prof.Cut,
		Buzzer:     prof.Buzzer,
		// Queries of the POS forwarded in a job are announced to the cache
		// so the printer's one-byte answers are read as their answers.
		Cache: p.Status,
	}
	if p.Agent.Intake.AppendCut || prof.AppendCut {
		wc.AppendCut = prof.Cut
	}
	ropt := receipt.Options{Encoding: encoding, QRCopies: pc.QRCopies}
	analyze := worker.ReceiptAnalyzer(ropt)
	if l := p.link; l != nil {
		// The merchant's rules may change while the agent runs: each job
		// is read with the set in force when its analysis starts.
		analyze = func(data []byte) worker.Analysis {
			o := ropt
			o.Rules = l.currentRules()
			a := worker.ReceiptAnalyzer(o)(data)
			l.analyzed(pc.Name, a.Encoding)
			return a
		}
	}
	return wc, open, analyze, nil
}

// printedFunc rebuilds what the worker printed for a job (the status
// page's "after" preview): the original bytes with the blocks its recorded
// result names, built with its printer's policy.
func printedFunc(cfg config.Config) func(spool.Job, []byte) ([]byte, error) {
	type part struct {
		wc       worker.Config
		encoding string
	}
	parts := map[string]part{}
	for _, pc := range cfg.Printers {
		wc, _, _, err := workerParts(Printer{Config: pc, Agent: cfg, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			continue // the printer's worker reports it
		}
		enc := pc.Encoding
		if prof, err := profiles.Lookup(pc.Profile); err == nil && enc == "" {
			enc = prof.Encoding
		}
		parts[pc.Name] = part{wc, enc}
	}
	return func(job spool.Job, original []byte) ([]byte, error) {
		p, ok := parts[job.Printer]
		if !ok {
			return nil, fmt.Errorf("agent: no printer %q", job.Printer)
		}
		var r worker.Result
		if len(job.Result.Receipts) > 0 {
			if err := json.Unmarshal(job.Result.Receipts, &r.Receipts); err != nil {
				return nil, fmt.Errorf("agent: job %s: receipts: %w", job.ID, err)
			}
		}
		r.Encoding = escpos.Scan(original, escpos.Options{Encoding: p.encoding}).Encoding
		return worker.Printed(original, r, p.wc)
	}
}

// latencyQueue observes each printed job's latency (job end → last byte at
// the printer) for /metrics.
type latencyQueue struct {
	worker.Queue
	h *status.Histogram
}

func (q latencyQueue) Finish(id string, r worker.Result, printErr error) error {
	if printErr == nil && r.Latency > 0 {
		q.h.Observe(r.Latency)
	}
	return q.Queue.Finish(id, r, printErr)
}
