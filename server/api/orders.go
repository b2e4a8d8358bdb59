package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/wechatpay"
)

// Limits on qr.request fields.
const (
	maxJobIDLen   = 64
	maxOrderNoLen = 64
	maxPrinterLen = 64
	maxReasonLen  = 256
)

// frameError is an error answer in the making.
func frameError(re, code string, retryable bool, format string, args ...any) *apiv1.Error {
	return &apiv1.Error{Re: re, Code: code, Message: fmt.Sprintf(format, args...), Retryable: retryable}
}

// unavailable answers a failure of the store.
func (s *Server) unavailable(re string, err error) *apiv1.Error {
	s.log.Warn("store failed", "err", err)
	return frameError(re, apiv1.CodeUnavailable, true, "server storage unavailable, try again")
}

func wechatError(re string, err error) *apiv1.Error {
	return frameError(re, apiv1.CodeWechatError, wechatpay.Retryable(err), "wechat pay: %v", err)
}

// qrRequest answers one qr.request from dev under DESIGN §3.1.
func (s *Server) qrRequest(ctx context.Context, dev store.Device, req *apiv1.QRRequest) apiv1.Message {
	re := req.ID
	switch {
	case req.ID == "":
		return frameError("", apiv1.CodeBadRequest, false, "qr.request needs an id")
	case req.JobID == "" || len(req.JobID) > maxJobIDLen:
		return frameError(re, apiv1.CodeBadRequest, false, "job_id must be 1-%d characters", maxJobIDLen)
	case req.ReceiptIndex < 0:
		return frameError(re, apiv1.CodeBadRequest, false, "receipt_index must not be negative")
	case req.Currency != apiv1.CurrencyCNY:
		return frameError(re, apiv1.CodeBadRequest, false, "currency %q is not accepted: only CNY", req.Currency)
	case req.AmountFen <= 0:
		return frameError(re, apiv1.CodeBadRequest, false, "amount_fen must be positive")
	case len(req.OrderNo) > maxOrderNoLen || !utf8.ValidString(req.OrderNo):
		return frameError(re, apiv1.CodeBadRequest, false, "order_no must be at most %d bytes of UTF-8", maxOrderNoLen)
	case len(req.Printer) > maxPrinterLen:
		return frameError(re, apiv1.CodeBadRequest, false, "printer name too long")
	}
	m := s.merchant(dev.MerchantID)
	if m == nil || m.pay == nil {
		return frameError(re, apiv1.CodeForbidden, false, "merchant %s has no WeChat Pay configuration on this server", dev.MerchantID)
	}
	if req.AmountFen > m.AmountCapFen {
		return frameError(re, apiv1.CodeAmountCap, false, "amount %d fen is above the merchant's cap of %d fen", req.AmountFen, m.AmountCapFen)
	}
	now := s.now()

	day, err := m.BusinessDay(now)
	if err != nil {
		return s.unavailable(re, err)
	}
	key, bill, err := s.st.RequestOrders(ctx, dev.ID, req.JobID, req.ReceiptIndex, req.OrderNo, day)
	if err != nil {
		return s.unavailable(re, err)
	}

	// 1. A retry of the same request returns the same order.
	if key != nil {
		if key.AmountFen != req.AmountFen {
			return frameError(re, apiv1.CodeBadRequest, false, "job %s receipt %d was already asked for with another amount", req.JobID, req.ReceiptIndex)
		}
		return s.answer(ctx, m, re, *key, now)
	}

	// 2. A reprint of the same bill reuses its order.
	var stale []store.Order
	for _, b := range bill {
		switch {
		case b.AmountFen == req.AmountFen && b.State == store.StatePaid:
			s.metrics.qrReused.Add(1)
			return &apiv1.QRResponse{Re: re, OutTradeNo: b.OutTradeNo, State: apiv1.StatePaid, AmountFen: b.AmountFen}
		case b.AmountFen == req.AmountFen && b.Open(now):
			s.metrics.qrReused.Add(1)
			return openResponse(re, b)
		case b.AmountFen != req.AmountFen && b.State == store.StateOpen:
			stale = append(stale, b)
		}
	}

	// 3. A new order.
	o := store.Order{
		OutTradeNo: store.NewOutTradeNo(), MerchantID: m.ID, DeviceID: dev.ID, JobID: req.JobID,
		ReceiptIndex: req.ReceiptIndex, Printer: req.Printer, OrderNo: req.OrderNo, AmountFen: req.AmountFen,
		BusinessDay: day, Description: Description(m.Name, req.OrderNo), CreatedAt: now,
		ExpiresAt: now.Add(s.opt.TimeExpire).Truncate(time.Second),
	}
	codeURL, err := m.pay.CreateNative(ctx, wechatpay.Order{OutTradeNo: o.OutTradeNo, Description: o.Description,
		AmountFen: o.AmountFen, TimeExpire: o.ExpiresAt})
	if err != nil {
		s.metrics.wechatErrors.Add(1)
		s.log.Warn("create order failed", "merchant", m.ID, "device", dev.ID, "out_trade_no", o.OutTradeNo, "err", err)
		return wechatError(re, err)
	}
	o.CodeURL = codeURL
	if _, err := s.st.CreateOrder(ctx, o); err != nil {
		// The WeChat order exists but we cannot hand it out: close it.
		s.background(func(ctx context.Context) { s.closeAtWechat(ctx, m, o.OutTradeNo) })
		if errors.Is(err, store.ErrDuplicate) {
			// The same request raced us and won; answer with its order.
			if won, err := s.st.OrderByKey(ctx, dev.ID, req.JobID, req.ReceiptIndex); err == nil {
				return s.answer(ctx, m, re, won, now)
			}
		}
		return s.unavailable(re, err)
	}
	s.metrics.ordersCreated.Add(1)
	if len(stale) > 0 {
		s.background(func(ctx context.Context) {
			for _, old := range stale {
				s.retire(ctx, m, old.OutTradeNo, "amount changed: replaced by "+o.OutTradeNo)
			}
		})
	}
	return openResponse(re, o)
}

// answer reports an existing order for a retried request.
func (s *Server) answer(ctx context.Context, m *merchant, re string, o store.Order, now time.Time) apiv1.Message {
	switch {
	case o.State == store.StatePaid:
		return &apiv1.QRResponse{Re: re, OutTradeNo: o.OutTradeNo, State: apiv1.StatePaid, AmountFen: o.AmountFen}
	case o.Open(now):
		return openResponse(re, o)
	default:
		return frameError(re, apiv1.CodeNotFound, false, "order %s for this receipt is %s", o.OutTradeNo, stateWord(o, now))
	}
}

func stateWord(o store.Order, now time.Time) string {
	if o.State == store.StateOpen && !now.Before(o.ExpiresAt) {
		return store.StateExpired
	}
	return o.State
}

func openResponse(re string, o store.Order) *apiv1.QRResponse {
	return &apiv1.QRResponse{Re: re, OutTradeNo: o.OutTradeNo, CodeURL: o.CodeURL,
		ExpiresAt: o.ExpiresAt.In(wechatpay.Beijing), State: apiv1.StateOpen}
}

// Description is what the payer's bill shows: the shop name and the POS
// order number, at most 127 characters, nothing outside the BMP (WeChat
// refuses emoji).
func Description(shop, orderNo string) string {
	d := strings.TrimSpace(shop)
	if orderNo != "" {
		d += " " + orderNo
	}
	var b strings.Builder
	n := 0
	for _, r := range d {
		if r > 0xFFFF || r == utf8.RuneError || r < 0x20 {
			continue
		}
		if n == 127 {
			break
		}
		b.WriteRune(r)
		n++
	}
	if b.Len() == 0 {
		return "printpay"
	}
	return b.String()
}

// qrCancel closes an order the bill was paid another way: query first (a
// payment that won the race is recorded, not closed), then close.
func (s *Server) qrCancel(ctx context.Context, dev store.Device, req *apiv1.QRCancel) apiv1.Message {
	re := req.ID
	if req.ID == "" || req.OutTradeNo == "" {
		return frameError(re, apiv1.CodeBadRequest, false, "qr.cancel needs id and out_trade_no")
	}
	o, err := s.st.Order(ctx, req.OutTradeNo)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.MerchantID != dev.MerchantID) {
		// Another merchant's order is reported exactly like a missing one.
		return frameError(re, apiv1.CodeNotFound, false, "no order %s", req.OutTradeNo)
	}
	if err != nil {
		return s.unavailable(re, err)
	}
	if o.State != store.StateOpen {
		return &apiv1.Ack{Re: re}
	}
	m := s.merchant(o.MerchantID)
	if m == nil || m.pay == nil {
		return frameError(re, apiv1.CodeUnavailable, true, "merchant %s has no WeChat Pay configuration on this server", o.MerchantID)
	}
	reason := req.Reason
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	if err := s.retire(ctx, m, o.OutTradeNo, "cancelled by agent: "+reason); err != nil {
		return err
	}
	return &apiv1.Ack{Re: re}
}

// retire queries an open order and closes it, or records its payment when
// the customer paid after all. It returns an error frame (without re) on
// failure.
func (s *Server) retire(ctx context.Context, m *merchant, outTradeNo, reason string) *apiv1.Error {
	tx, err := m.pay.Query(ctx, outTradeNo)
	switch {
	case err == nil && tx.Paid():
		if err := s.recordPayment(ctx, m.ID, tx); err != nil {
			return s.unavailable("", err)
		}
		s.log.Warn("order paid while being closed", "merchant", m.ID, "out_trade_no", outTradeNo, "reason", reason)
		return nil
	case err != nil && !errors.Is(err, wechatpay.ErrOrderNotExist):
		s.metrics.wechatErrors.Add(1)
		return wechatError("", err)
	}
	if err == nil && tx.Pending() || err != nil {
		if err := m.pay.Close(ctx, outTradeNo); err != nil {
			switch {
			case errors.Is(err, wechatpay.ErrOrderPaid):
				if tx, qerr := m.pay.Query(ctx, outTradeNo); qerr == nil && tx.Paid() {
					if err := s.recordPayment(ctx, m.ID, tx); err != nil {
						return s.unavailable("", err)
					}
				}
				return nil
			case errors.Is(err, wechatpay.ErrOrderClosed), errors.Is(err, wechatpay.ErrOrderNotExist):
			default:
				s.metrics.wechatErrors.Add(1)
				return wechatError("", err)
			}
		}
	}
	if _, err := s.st.CloseOrder(ctx, outTradeNo, store.StateClosed, reason); err != nil {
		return s.unavailable("", err)
	}
	s.metrics.ordersClosed.Add(1)
	return nil
}

// closeAtWechat closes an order that never reached the store.
func (s *Server) closeAtWechat(ctx context.Context, m *merchant, outTradeNo string) {
	if err := m.pay.Close(ctx, outTradeNo); err != nil {
		s.log.Warn("closing orphan order failed", "merchant", m.ID, "out_trade_no", outTradeNo, "err", err)
	}
}

// background runs fn in a goroutine the server waits for on shutdown.
func (s *Server) background(fn func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fn(ctx)
	}()
}

// recordPayment stores a verified payment and tells the node that holds the
// device's connection.
func (s *Server) recordPayment(ctx context.Context, merchantID string, tx wechatpay.Transaction) error {
	o, err := s.st.Order(ctx, tx.OutTradeNo)
	if err != nil {
		return err
	}
	if o.MerchantID != merchantID {
		return fmt.Errorf("api: order %s: %w", tx.OutTradeNo, wechatpay.ErrOrderNotExist)
	}
	paidAt := tx.SuccessTime
	if paidAt.IsZero() {
		paidAt = s.now()
	}
	o, changed, err := s.st.MarkPaid(ctx, tx.OutTradeNo, tx.TransactionID, paidAt)
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	s.metrics.ordersPaid.Add(1)
	s.log.Info("order paid", "merchant", merchantID, "device", o.DeviceID, "out_trade_no", o.OutTradeNo, "amount_fen", o.AmountFen)
	if err := s.bus.Publish(ctx, o.DeviceID); err != nil {
		// The delivery is stored; the agent gets it on its next connection.
		s.log.Warn("bus publish failed", "device", o.DeviceID, "err", err)
	}
	return nil
}

// orders adapts the store to wechatpay.Orders and wechatpay.OpenOrders for
// one merchant.
type orders struct {
	s          *Server
	merchantID string
}

var (
	_ wechatpay.Orders     = orders{}
	_ wechatpay.OpenOrders = orders{}
)

func record(o store.Order) wechatpay.OrderRecord {
	return wechatpay.OrderRecord{OutTradeNo: o.OutTradeNo, AmountFen: o.AmountFen, CreatedAt: o.CreatedAt,
		ExpiresAt: o.ExpiresAt, Paid: o.State == store.StatePaid}
}

func (a orders) Lookup(ctx context.Context, outTradeNo string) (wechatpay.OrderRecord, error) {
	o, err := a.s.st.Order(ctx, outTradeNo)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.MerchantID != a.merchantID) {
		return wechatpay.OrderRecord{}, fmt.Errorf("api: order %s: %w", outTradeNo, wechatpay.ErrOrderNotExist)
	}
	if err != nil {
		return wechatpay.OrderRecord{}, err
	}
	return record(o), nil
}

func (a orders) MarkPaid(ctx context.Context, t wechatpay.Transaction) error {
	return a.s.recordPayment(ctx, a.merchantID, t)
}

func (a orders) OpenOrders(ctx context.Context) ([]wechatpay.OrderRecord, error) {
	list, err := a.s.st.OpenOrders(ctx, a.merchantID, 500)
	if err != nil {
		return nil, err
	}
	out := make([]wechatpay.OrderRecord, len(list))
	for i, o := range list {
		out[i] = record(o)
	}
	return out, nil
}

func (a orders) MarkClosed(ctx context.Context, outTradeNo string) error {
	o, err := a.s.st.Order(ctx, outTradeNo)
	if err != nil {
		return err
	}
	if o.MerchantID != a.merchantID {
		return fmt.Errorf("api: order %s: %w", outTradeNo, wechatpay.ErrOrderNotExist)
	}
	state := store.StateClosed
	if !a.s.now().Before(o.ExpiresAt) {
		state = store.StateExpired
	}
	_, err = a.s.st.CloseOrder(ctx, outTradeNo, state, "poller")
	return err
}
