package wechatpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
)

// OrderRecord is the server's record of an order, which a transaction must
// match before it counts.
type OrderRecord struct {
	OutTradeNo string
	AmountFen  int64
	MchID      string // "" = the client's mchid (sp_mchid in partner mode)
	SubMchID   string // "" = the client's sub_mchid
	CreatedAt  time.Time
	ExpiresAt  time.Time // time_expire; zero = none
	Paid       bool      // already recorded as paid
}

// Orders is what the notification handler needs from the server's store.
type Orders interface {
	// Lookup returns the order recorded under outTradeNo, or an error
	// wrapping ErrOrderNotExist.
	Lookup(ctx context.Context, outTradeNo string) (OrderRecord, error)
	// MarkPaid records a verified, matching payment. It must be idempotent
	// (a second call for the same order changes nothing and returns nil) and
	// return only once the fact is durable: the notification is acked after.
	MarkPaid(ctx context.Context, t Transaction) error
}

// RefundNotice is a decrypted refund notification.
type RefundNotice struct {
	EventType     string // REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
	OutTradeNo    string
	TransactionID string
	OutRefundNo   string
	RefundID      string
	Status        string
	RefundFen     int64
	TotalFen      int64
	MchID         string
	SubMchID      string
	SuccessTime   time.Time
}

// NotifyHandler serves a merchant's notify_url.
type NotifyHandler struct {
	client *Client
	orders Orders

	// OnRefund, when set, receives verified refund notifications; an error
	// makes WeChat deliver again. Without it refund notifications are acked.
	OnRefund func(ctx context.Context, r RefundNotice) error
	// Budget bounds the work per delivery; WeChat counts an answer after
	// 5 s as a failure. Default 4 s.
	Budget time.Duration

	mu    sync.Mutex
	locks map[string]*keyLock
}

// NewNotifyHandler returns the handler for c's notifications.
func NewNotifyHandler(c *Client, orders Orders) *NotifyHandler {
	return &NotifyHandler{client: c, orders: orders, locks: map[string]*keyLock{}}
}

const maxNotifyBody = 64 << 10

const probePrefix = "WECHATPAY/SIGNTEST/"

type notifyError struct {
	status int
	msg    string
}

func (h *NotifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeNotifyAnswer(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	budget := h.Budget
	if budget <= 0 {
		budget = 4 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), budget)
	defer cancel()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotifyBody+1))
	if err != nil || len(body) > maxNotifyBody {
		writeNotifyAnswer(w, http.StatusBadRequest, "body unreadable or too large")
		return
	}
	log := h.client.log.With("request_id", r.Header.Get("Request-Id"), "serial", r.Header.Get("Wechatpay-Serial"))
	if nerr := h.handle(ctx, log, r, body); nerr != nil {
		writeNotifyAnswer(w, nerr.status, nerr.msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeNotifyAnswer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"code": "FAIL", "message": msg})
	_, _ = w.Write(b)
}

func (h *NotifyHandler) handle(ctx context.Context, log *slog.Logger, r *http.Request, body []byte) *notifyError {
	// The SDK verifies over the raw bytes: give it an untouched copy.
	r2 := r.Clone(ctx)
	r2.Body = io.NopCloser(bytes.NewReader(body))
	if err := checkShape(body); err != nil {
		log.Warn("wechatpay notification rejected", "reason", "body is not a notification object: "+err.Error())
		return &notifyError{http.StatusBadRequest, "malformed notification"}
	}
	req, err := h.parse(ctx, r2)
	if err != nil {
		// The SDK's message embeds the whole request; keep the log short.
		reason := shortReason(err)
		if strings.HasPrefix(r.Header.Get("Wechatpay-Signature"), probePrefix) {
			log.Info("wechatpay signature probe rejected", "reason", reason)
		} else {
			log.Warn("wechatpay notification rejected", "reason", reason)
		}
		return &notifyError{http.StatusUnauthorized, "verification failed"}
	}
	log = log.With("notification_id", req.ID, "event_type", req.EventType)
	return h.dispatch(ctx, log, req.EventType, req.Resource.OriginalType, []byte(req.Resource.Plaintext))
}

// checkShape rejects bodies that are not notification objects before the
// SDK sees them: the SDK dereferences "resource" without checking it is
// there (a validly signed "{}" panics in v0.2.21).
func checkShape(body []byte) error {
	var shape struct {
		Resource *struct{} `json:"resource"`
	}
	if err := json.Unmarshal(body, &shape); err != nil {
		return err
	}
	if shape.Resource == nil {
		return errors.New("no resource object")
	}
	return nil
}

// dispatch acts on a verified, decrypted notification.
func (h *NotifyHandler) dispatch(ctx context.Context, log *slog.Logger, event, origType string, plain []byte) *notifyError {
	switch {
	case event == "TRANSACTION.SUCCESS" && origType == "transaction":
		t, err := parseTransaction(plain)
		if err != nil {
			log.Warn("wechatpay notification rejected", "reason", err)
			return &notifyError{http.StatusBadRequest, "bad resource"}
		}
		return h.paid(ctx, log, t)
	case strings.HasPrefix(event, "REFUND.") && origType == "refund":
		n, err := parseRefundNotice(event, plain)
		if err != nil {
			log.Warn("wechatpay refund notification rejected", "reason", err)
			return &notifyError{http.StatusBadRequest, "bad resource"}
		}
		if err := h.client.checkMerchant(n.MchID, n.SubMchID); err != nil {
			log.Error("wechatpay refund notification for another merchant rejected", "out_refund_no", n.OutRefundNo, "err", err)
			return &notifyError{http.StatusBadRequest, "merchant mismatch"}
		}
		log.Info("wechatpay refund notification", "out_trade_no", n.OutTradeNo, "out_refund_no", n.OutRefundNo, "status", n.Status, "refund_fen", n.RefundFen)
		if h.OnRefund != nil {
			if err := h.OnRefund(ctx, n); err != nil {
				log.Warn("wechatpay refund notification not recorded", "err", err)
				return &notifyError{http.StatusInternalServerError, "not recorded"}
			}
		}
		return nil
	default:
		log.Info("wechatpay notification of an unhandled type acked", "original_type", origType)
		return nil
	}
}

// parse runs the SDK's verification and decryption, turning a panic inside
// it into an error.
func (h *NotifyHandler) parse(ctx context.Context, r *http.Request) (req *notify.Request, err error) {
	defer func() {
		if p := recover(); p != nil {
			req, err = nil, fmt.Errorf("wechatpay: notification parser panicked: %v", p)
		}
	}()
	var ignored json.RawMessage
	return h.client.notify.ParseNotifyRequest(ctx, r, &ignored)
}

func shortReason(err error) string {
	s := err.Error()
	if i := strings.Index(s, ", request: "); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// paid records one verified payment, at most once per order even when
// duplicates arrive together.
func (h *NotifyHandler) paid(ctx context.Context, log *slog.Logger, t Transaction) *notifyError {
	log = log.With("out_trade_no", t.OutTradeNo, "transaction_id", t.TransactionID)
	if t.TradeState != StateSuccess {
		log.Warn("wechatpay notification with trade_state other than SUCCESS rejected", "trade_state", t.TradeState)
		return &notifyError{http.StatusBadRequest, "unexpected trade_state"}
	}
	unlock, err := h.lock(ctx, t.OutTradeNo)
	if err != nil {
		return &notifyError{http.StatusServiceUnavailable, "busy"}
	}
	defer unlock()
	rec, err := h.orders.Lookup(ctx, t.OutTradeNo)
	if errors.Is(err, ErrOrderNotExist) {
		log.Error("wechatpay notification for an unknown order rejected", "amount_fen", t.AmountFen)
		return &notifyError{http.StatusNotFound, "unknown order"}
	}
	if err != nil {
		log.Warn("wechatpay notification: order lookup failed", "err", err)
		return &notifyError{http.StatusInternalServerError, "lookup failed"}
	}
	if err := h.client.Match(rec, t); err != nil {
		log.Error("wechatpay notification does not match the order; not marked paid", "err", err)
		return &notifyError{http.StatusBadRequest, "mismatch"}
	}
	if rec.Paid {
		log.Info("wechatpay duplicate notification acked")
		return nil
	}
	if err := h.orders.MarkPaid(ctx, t); err != nil {
		log.Warn("wechatpay payment not recorded; WeChat will deliver again", "err", err)
		return &notifyError{http.StatusInternalServerError, "not recorded"}
	}
	log.Info("wechatpay order paid", "amount_fen", t.AmountFen, "payer_total_fen", t.PayerTotalFen)
	return nil
}

type keyLock struct {
	ch   chan struct{}
	refs int
}

// lock serialises the handling of one out_trade_no, so that duplicates
// arriving together see each other's result.
func (h *NotifyHandler) lock(ctx context.Context, key string) (func(), error) {
	h.mu.Lock()
	if h.locks == nil {
		h.locks = map[string]*keyLock{}
	}
	l, ok := h.locks[key]
	if !ok {
		l = &keyLock{ch: make(chan struct{}, 1)}
		h.locks[key] = l
	}
	l.refs++
	h.mu.Unlock()
	release := func() {
		h.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(h.locks, key)
		}
		h.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	return func() {
		<-l.ch
		release()
	}, nil
}

// Match checks a transaction against the recorded order: out_trade_no,
// amount, and the merchant ids of this client's configuration.
func (c *Client) Match(rec OrderRecord, t Transaction) error {
	if t.OutTradeNo != rec.OutTradeNo {
		return fmt.Errorf("%w: out_trade_no %q, order %q", ErrMismatch, t.OutTradeNo, rec.OutTradeNo)
	}
	if t.AmountFen != rec.AmountFen {
		return fmt.Errorf("%w: amount %d fen, order %d fen", ErrMismatch, t.AmountFen, rec.AmountFen)
	}
	if t.Currency != "" && t.Currency != "CNY" {
		return fmt.Errorf("%w: currency %q", ErrMismatch, t.Currency)
	}
	mch, sub := rec.MchID, rec.SubMchID
	if mch == "" {
		mch = c.cfg.MchID
	}
	if sub == "" {
		sub = c.cfg.SubMchID
	}
	if t.MchID != mch || t.SubMchID != sub {
		return fmt.Errorf("%w: mchid %s/%s, order %s/%s", ErrMismatch, t.MchID, t.SubMchID, mch, sub)
	}
	if t.AppID != "" && t.AppID != c.cfg.AppID {
		return fmt.Errorf("%w: appid %s, configured %s", ErrMismatch, t.AppID, c.cfg.AppID)
	}
	return nil
}

func (c *Client) checkMerchant(mch, sub string) error {
	if mch != c.cfg.MchID || sub != c.cfg.SubMchID {
		return fmt.Errorf("%w: mchid %s/%s, configured %s/%s", ErrMismatch, mch, sub, c.cfg.MchID, c.cfg.SubMchID)
	}
	return nil
}

func parseRefundNotice(event string, b []byte) (RefundNotice, error) {
	var w struct {
		Mchid         string `json:"mchid"`
		SpMchid       string `json:"sp_mchid"`
		SubMchid      string `json:"sub_mchid"`
		OutTradeNo    string `json:"out_trade_no"`
		TransactionID string `json:"transaction_id"`
		OutRefundNo   string `json:"out_refund_no"`
		RefundID      string `json:"refund_id"`
		RefundStatus  string `json:"refund_status"`
		SuccessTime   string `json:"success_time"`
		Amount        struct {
			Total  int64 `json:"total"`
			Refund int64 `json:"refund"`
		} `json:"amount"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return RefundNotice{}, fmt.Errorf("wechatpay: refund notification: %w", err)
	}
	if w.OutRefundNo == "" || w.RefundStatus == "" {
		return RefundNotice{}, errors.New("wechatpay: refund notification: out_refund_no or refund_status missing")
	}
	n := RefundNotice{
		EventType: event, OutTradeNo: w.OutTradeNo, TransactionID: w.TransactionID, OutRefundNo: w.OutRefundNo,
		RefundID: w.RefundID, Status: w.RefundStatus, RefundFen: w.Amount.Refund, TotalFen: w.Amount.Total,
		MchID: w.Mchid, SubMchID: w.SubMchid,
	}
	if w.SpMchid != "" {
		n.MchID = w.SpMchid
	}
	if w.SuccessTime != "" {
		if t, err := time.Parse(time.RFC3339, w.SuccessTime); err == nil {
			n.SuccessTime = t
		}
	}
	return n, nil
}
