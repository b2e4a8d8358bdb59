package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"printpay.dev/printpay/agent/cloud"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/rules"
	"printpay.dev/printpay/agent/status"
	"printpay.dev/printpay/agent/worker"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/spool"
)

// Bounds of the link's in-memory indexes: enough for a busy shop's day.
const (
	maxOrders    = 4096 // out_trade_no → receipt, order_no → out_trade_no
	maxUnmatched = 256  // order.paid that came before its receipt was recorded
	cancelWait   = 10 * time.Second
)

// IsCloudURL reports whether [server] url names a printpay-server
// (ws:// or wss://), as opposed to "" (no server) or "local:...".
func IsCloudURL(url string) bool {
	return strings.HasPrefix(url, "ws://") || strings.HasPrefix(url, "wss://")
}

// CloudStateDir is where the server link keeps its rules and upload queue:
// a "cloud" folder beside the spool folder.
func CloudStateDir(cfg config.Config) string {
	return filepath.Join(filepath.Dir(filepath.Clean(cfg.Spool.Dir)), "cloud")
}

// ErrNotEnrolled is returned by newLink when the token file is missing.
var ErrNotEnrolled = errors.New("agent: not enrolled")

// link joins the print path to printpay-server: it is every worker's
// QRSource, holds the merchant's rules, follows the receipts the workers
// record (to mark jobs paid, cancel orders paid another way and upload
// receipts) and performs paid notices.
type link struct {
	client *cloud.Client
	sp     *spool.Spool
	log    *slog.Logger
	rules  atomic.Pointer[rules.Set]
	ctx    context.Context // Run's; set before any callback can fire
	wg     sync.WaitGroup  // cancels under way

	mu        sync.Mutex
	workers   map[string]*worker.Worker
	encodings map[string]string            // printer → encoding of the job it reads now
	trades    *bounded[string, []orderRef] // out_trade_no → the jobs that printed it (a reprint adds one)
	orders    *bounded[string, string]     // POS order_no → open out_trade_no
	paid      *bounded[string, bool]       // out_trade_no paid (this run)
	unmatched *bounded[string, apiv1.OrderPaid]
	lateSeen  *bounded[string, bool]
}

// orderRef is where an order's receipt was printed.
type orderRef struct {
	Printer   string
	JobID     string
	Receipt   int
	AmountFen int64
	OrderNo   string
	Encoding  string
}

// newLink reads the token and makes the cloud client. A missing token file
// is ErrNotEnrolled.
func newLink(cfg config.Config, sp *spool.Spool, caches map[string]*drivers.StatusCache, logger *slog.Logger) (*link, error) {
	token, err := cloud.ReadToken(cfg.Server.TokenFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("agent: token file: %w", err)
	}
	l := &link{
		sp: sp, log: logger.With("component", "link"),
		workers:   map[string]*worker.Worker{},
		encodings: map[string]string{},
		trades:    newBounded[string, []orderRef](maxOrders),
		orders:    newBounded[string, string](maxOrders),
		paid:      newBounded[string, bool](maxOrders),
		unmatched: newBounded[string, apiv1.OrderPaid](maxUnmatched),
		lateSeen:  newBounded[string, bool](maxOrders),
		ctx:       context.Background(),
	}
	l.rules.Store(rules.Default())
	printers := cfg.Printers
	c, err := cloud.New(cloud.Config{
		URL: cfg.Server.URL, Token: token, AgentVersion: Version,
		StateDir: CloudStateDir(cfg), Upload: cfg.Server.Upload,
		Printers: func() []apiv1.Printer {
			out := make([]apiv1.Printer, 0, len(printers))
			for _, p := range printers {
				st := "unknown"
				if c := caches[p.Name]; c != nil {
					st = status.StateName(c.Get().State)
				}
				out = append(out, apiv1.Printer{Name: p.Name, Driver: p.Driver, Profile: p.Profile, Status: st})
			}
			return out
		},
		OnPaid:  l.onPaid,
		OnRules: l.onRules,
		Logger:  logger,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	l.client = c
	if raw := c.Rules(); len(raw) > 0 {
		if set, err := mergedRules(raw); err != nil {
			l.log.Warn("agent: the merchant's saved rules do not parse; using the defaults", "err", err)
		} else {
			l.rules.Store(set)
			l.log.Info("agent: the merchant's rules in force", "version", c.RulesVersion())
		}
	}
	return l, nil
}

// run runs the client until ctx ends and waits for the cancels it started.
func (l *link) run(ctx context.Context) error {
	l.mu.Lock()
	l.ctx = ctx
	l.mu.Unlock()
	err := l.client.Run(ctx)
	l.wg.Wait()
	return err
}

func (l *link) context() context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ctx
}

// statusLink is the "server" panel of /api/status.
func (l *link) statusLink() status.Link {
	s := l.client.Status()
	return status.Link{URL: s.URL, Connected: s.Connected, Since: s.Since, LastError: s.LastError,
		RulesVersion: s.RulesVersion, QueuedUploads: s.QueuedUploads}
}

func mergedRules(raw json.RawMessage) (*rules.Set, error) {
	set, err := rules.Parse(raw)
	if err != nil {
		return nil, err
	}
	return rules.Default().Merge(set), nil
}

// onRules checks a pushed rule set and switches to it; the cloud client
// saves it once this returns nil.
func (l *link) onRules(version string, raw json.RawMessage) error {
	set, err := mergedRules(raw)
	if err != nil {
		l.log.Warn("agent: the server's rules were refused", "version", version, "err", err)
		return fmt.Errorf("agent: rules %q: %w", version, err)
	}
	l.rules.Store(set)
	l.log.Info("agent: new rules in force", "version", version)
	return nil
}

// currentRules is the rule set the analyzers read for each job.
func (l *link) currentRules() *rules.Set { return l.rules.Load() }

// analyzed notes the encoding of the job a printer's worker is reading: a
// worker reads one job at a time and asks for its QR right after reading
// the receipt, so the canonical receipt of that request carries it.
func (l *link) analyzed(printer, encoding string) {
	l.mu.Lock()
	l.encodings[printer] = encoding
	l.mu.Unlock()
}

func (l *link) encoding(printer string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.encodings[printer]
}

// addWorker makes a printer's worker reachable for paid notices.
func (l *link) addWorker(printer string, w *worker.Worker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.workers[printer] = w
}

func (l *link) removeWorker(printer string, w *worker.Worker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.workers[printer] == w {
		delete(l.workers, printer)
	}
}

// source is the link as a worker's QRSource.
func (l *link) source() worker.QRSource { return linkSource{l} }

type linkSource struct{ l *link }

func (s linkSource) Ready() bool { return s.l.client.Ready() }

func (s linkSource) QR(ctx context.Context, req worker.QRRequest) (worker.QRResponse, error) {
	r := req.Receipt
	enc := s.l.encoding(req.Printer)
	items := make([]apiv1.Item, 0, len(r.Items))
	for _, it := range r.Items {
		items = append(items, apiv1.Item{Name: it.Name, Qty: it.Qty, AmountFen: it.AmountFen})
	}
	resp, err := s.l.client.QR(ctx, apiv1.QRRequest{
		JobID: req.JobID, ReceiptIndex: req.ReceiptIndex, Printer: req.Printer,
		AmountFen: req.AmountFen, Currency: req.Currency, OrderNo: req.OrderNo,
		Receipt: &apiv1.Receipt{Encoding: enc, Lines: r.Lines, AmountFen: req.AmountFen, OrderNo: req.OrderNo, Items: items, Reason: r.Reason},
	})
	if err != nil {
		return worker.QRResponse{}, err
	}
	out := worker.QRResponse{OutTradeNo: resp.OutTradeNo, CodeURL: resp.CodeURL, ExpiresAt: resp.ExpiresAt}
	switch {
	case resp.OutTradeNo == "":
		return worker.QRResponse{}, fmt.Errorf("agent: the server's answer names no order: %w", cloud.ErrProtocol)
	case resp.State == apiv1.StatePaid:
		out.Paid, out.CodeURL = true, ""
	case resp.State == apiv1.StateOpen:
		if resp.CodeURL == "" {
			return worker.QRResponse{}, fmt.Errorf("agent: the server's open order has no code_url: %w", cloud.ErrProtocol)
		}
	default:
		return worker.QRResponse{}, fmt.Errorf("agent: the server's answer has state %q: %w", resp.State, cloud.ErrProtocol)
	}
	s.l.placed(orderRef{Printer: req.Printer, JobID: req.JobID, Receipt: req.ReceiptIndex, AmountFen: req.AmountFen, OrderNo: req.OrderNo, Encoding: enc},
		resp.OutTradeNo, out.Paid)
	if out.Paid {
		// A reprint of a paid bill: the job shows paid too.
		if err := s.l.sp.UpdateResult(req.JobID, func(r *spool.Result) { r.Paid = true }); err != nil {
			s.l.log.Warn("agent: could not mark the reprint of a paid bill paid", "job", req.JobID, "err", err)
		}
	}
	return out, nil
}

// placed indexes an order as soon as the server named it, so an
// order.paid that comes while the job is still printing finds it.
func (l *link) placed(ref orderRef, outTradeNo string, paid bool) {
	l.mu.Lock()
	l.addTrade(outTradeNo, ref)
	if paid {
		l.paid.put(outTradeNo, true)
	} else if ref.OrderNo != "" {
		l.orders.put(ref.OrderNo, outTradeNo)
	}
	l.mu.Unlock()
}

// maxReprints bounds the jobs remembered for one order.
const maxReprints = 8

// addTrade remembers that ref's job carries the order; the caller holds
// l.mu. A ref for a job already known updates it, keeping an encoding
// learnt earlier.
func (l *link) addTrade(outTradeNo string, ref orderRef) {
	refs, _ := l.trades.get(outTradeNo)
	for i := range refs {
		if refs[i].JobID == ref.JobID && refs[i].Receipt == ref.Receipt {
			if ref.Encoding == "" {
				ref.Encoding = refs[i].Encoding
			}
			refs = append(refs[:i:i], refs[i+1:]...)
			break
		}
	}
	refs = append(refs, ref)
	if len(refs) > maxReprints {
		refs = refs[len(refs)-maxReprints:]
	}
	l.trades.put(outTradeNo, refs)
}

// queue wraps a printer's queue so the link sees what the worker records.
func (l *link) queue(printer string, q worker.Queue) worker.Queue {
	return &linkQueue{Queue: q, l: l, printer: printer}
}

type linkQueue struct {
	worker.Queue
	l       *link
	printer string
}

func (q *linkQueue) Record(id string, r worker.Result) error {
	err := q.Queue.Record(id, r)
	q.l.recorded(q.printer, id, r)
	return err
}

// Finish queues the uploads before the job is marked done: after a crash
// in between, the job prints again and its uploads are sent again (the
// server keeps one per job and receipt), never lost.
func (q *linkQueue) Finish(id string, r worker.Result, printErr error) error {
	q.l.recorded(q.printer, id, r)
	if printErr == nil {
		q.l.finished(q.printer, id, r)
	}
	return q.Queue.Finish(id, r, printErr)
}

// recorded updates the indexes from a job's result: orders that printed
// (with the job's encoding, for the paid slip), late QRs, and an order
// paid before its receipt was recorded.
func (l *link) recorded(printer, jobID string, r worker.Result) {
	var apply []apiv1.OrderPaid
	l.mu.Lock()
	for _, rr := range r.Receipts {
		if rr.OutTradeNo == "" {
			continue
		}
		ref := orderRef{Printer: printer, JobID: jobID, Receipt: rr.Index, OrderNo: rr.OrderNo, Encoding: r.Encoding}
		if rr.AmountFen != nil {
			ref.AmountFen = *rr.AmountFen
		}
		l.addTrade(rr.OutTradeNo, ref)
		if rr.QR == worker.QRLate {
			key := jobID + "/" + fmt.Sprint(rr.Index)
			if _, seen := l.lateSeen.get(key); !seen {
				l.lateSeen.put(key, true)
				l.log.Info("agent: the QR came after qr_budget; the receipt printed without it (no customer display yet)",
					"printer", printer, "job", jobID, "receipt", rr.Index, "out_trade_no", rr.OutTradeNo)
			}
		}
		if p, ok := l.unmatched.get(rr.OutTradeNo); ok {
			l.unmatched.del(rr.OutTradeNo)
			apply = append(apply, p)
		}
	}
	l.mu.Unlock()
	for _, p := range apply {
		l.onPaid(p)
	}
}

// finished uploads a printed job's receipts and cancels the open order of
// a bill that a later receipt shows paid another way.
func (l *link) finished(printer, jobID string, r worker.Result) {
	now := time.Now()
	for _, rr := range r.Receipts {
		var amount int64
		if rr.AmountFen != nil {
			amount = *rr.AmountFen
		}
		items := make([]apiv1.Item, 0, len(rr.Items))
		for _, it := range rr.Items {
			items = append(items, apiv1.Item{Name: it.Name, Qty: it.Qty, AmountFen: it.AmountFen})
		}
		u := apiv1.ReceiptUpload{JobID: jobID, ReceiptIndex: rr.Index, Printer: printer, PrintedAt: now,
			Receipt: apiv1.Receipt{Encoding: r.Encoding, Lines: rr.Lines, AmountFen: amount, OrderNo: rr.OrderNo, Items: items, Reason: rr.Reason}}
		if err := l.client.Upload(u); err != nil {
			l.log.Error("agent: receipt upload not queued", "job", jobID, "receipt", rr.Index, "err", err)
		}
		if rr.Payable || rr.OrderNo == "" || !paidAnotherWay(rr.Reason) {
			continue
		}
		l.mu.Lock()
		otn, ok := l.orders.get(rr.OrderNo)
		_, paid := l.paid.get(otn)
		if ok {
			l.orders.del(rr.OrderNo)
		}
		l.mu.Unlock()
		if !ok || paid {
			continue
		}
		l.cancel(otn, rr.OrderNo, rr.Reason)
	}
}

// paidAnotherWay reports whether the rules found the receipt not payable
// because it shows a payment (cash, card, another wallet): their reasons
// for a tender or paid line start with "paid" or "already paid".
func paidAnotherWay(reason string) bool {
	return strings.HasPrefix(reason, "paid") || strings.HasPrefix(reason, "already paid")
}

func (l *link) cancel(outTradeNo, orderNo, reason string) {
	ctx := l.context()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		ctx, stop := context.WithTimeout(ctx, cancelWait)
		defer stop()
		if err := l.client.Cancel(ctx, outTradeNo, reason); err != nil {
			l.log.Warn("agent: the order of a bill paid another way was not cancelled", "out_trade_no", outTradeNo, "order_no", orderNo, "err", err)
			return
		}
		l.log.Info("agent: bill paid another way; its order cancelled", "out_trade_no", outTradeNo, "order_no", orderNo, "reason", reason)
	}()
}

// onPaid marks the jobs that carry the order paid, logs it and performs
// the paid notice on the printer that printed it last. An unknown order is
// logged and acked.
func (l *link) onPaid(p apiv1.OrderPaid) error {
	l.mu.Lock()
	refs, ok := l.trades.get(p.OutTradeNo)
	if !ok || len(refs) == 0 {
		l.unmatched.put(p.OutTradeNo, p)
		l.mu.Unlock()
		found := l.findInSpool(p.OutTradeNo)
		if len(found) == 0 {
			l.log.Warn("agent: order.paid for an order this agent does not know; acked", "out_trade_no", p.OutTradeNo, "amount_fen", p.AmountFen)
			return nil
		}
		l.mu.Lock()
		l.unmatched.del(p.OutTradeNo)
		for _, r := range found {
			l.addTrade(p.OutTradeNo, r)
		}
		refs, _ = l.trades.get(p.OutTradeNo)
	}
	refs = append([]orderRef(nil), refs...)
	l.paid.put(p.OutTradeNo, true)
	last := refs[len(refs)-1]
	w := l.workers[last.Printer]
	l.mu.Unlock()

	for _, ref := range refs {
		if err := l.sp.UpdateResult(ref.JobID, func(r *spool.Result) { r.Paid = true }); err != nil {
			l.log.Error("agent: could not mark the job paid", "job", ref.JobID, "err", err)
		}
	}
	amount := p.AmountFen
	if amount == 0 {
		amount = last.AmountFen
	}
	l.log.Info("agent: order paid", "printer", last.Printer, "job", last.JobID, "receipt", last.Receipt, "jobs", len(refs),
		"out_trade_no", p.OutTradeNo, "order_no", last.OrderNo, "amount_fen", amount, "transaction_id", p.TransactionID)
	if w != nil {
		w.Notify(worker.Notice{JobID: last.JobID, AmountFen: amount, OrderNo: last.OrderNo, Encoding: last.Encoding})
	}
	return nil
}

// findInSpool looks for the order among the spooled jobs' results (an
// order printed before this run started), oldest first.
func (l *link) findInSpool(outTradeNo string) []orderRef {
	var out []orderRef
	for _, j := range l.sp.List(0) {
		if len(j.Result.Receipts) == 0 || !strings.Contains(string(j.Result.Receipts), outTradeNo) {
			continue
		}
		var rs []worker.ReceiptResult
		if err := json.Unmarshal(j.Result.Receipts, &rs); err != nil {
			continue
		}
		for _, rr := range rs {
			if rr.OutTradeNo != outTradeNo {
				continue
			}
			ref := orderRef{Printer: j.Printer, JobID: j.ID, Receipt: rr.Index, OrderNo: rr.OrderNo}
			if rr.AmountFen != nil {
				ref.AmountFen = *rr.AmountFen
			}
			out = append(out, ref)
		}
	}
	// List is newest first.
	for i, k := 0, len(out)-1; i < k; i, k = i+1, k-1 {
		out[i], out[k] = out[k], out[i]
	}
	return out
}

// bounded is a map that forgets its oldest keys beyond a limit. Not safe
// for concurrent use (the link holds its lock).
type bounded[K comparable, V any] struct {
	limit int
	m     map[K]V
	order []K
}

func newBounded[K comparable, V any](limit int) *bounded[K, V] {
	return &bounded[K, V]{limit: limit, m: map[K]V{}}
}

func (b *bounded[K, V]) get(k K) (V, bool) {
	v, ok := b.m[k]
	return v, ok
}

func (b *bounded[K, V]) put(k K, v V) {
	if _, ok := b.m[k]; !ok {
		b.order = append(b.order, k)
	}
	b.m[k] = v
	for len(b.m) > b.limit && len(b.order) > 0 {
		old := b.order[0]
		b.order = b.order[1:]
		delete(b.m, old)
	}
	if len(b.order) > 2*b.limit {
		// Drop keys deleted earlier so the order slice stays bounded.
		kept := b.order[:0]
		for _, k := range b.order {
			if _, ok := b.m[k]; ok {
				kept = append(kept, k)
			}
		}
		b.order = kept
	}
}

func (b *bounded[K, V]) del(k K) { delete(b.m, k) }
