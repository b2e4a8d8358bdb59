package wechatpay

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OpenOrders is what the poller needs from the server's store: the orders of
// this client's merchant that are neither paid nor closed, and the two ways
// they end.
type OpenOrders interface {
	OpenOrders(ctx context.Context) ([]OrderRecord, error)
	MarkPaid(ctx context.Context, t Transaction) error // idempotent, as in Orders
	MarkClosed(ctx context.Context, outTradeNo string) error
}

// Poller is the reconciliation WeChat asks for: notifications are not
// guaranteed, so an order still open after Late is queried, and an order
// past its time_expire (plus Grace) is queried one last time and closed.
type Poller struct {
	Client   *Client
	Orders   OpenOrders
	Late     time.Duration    // query an open order this long after creation; default 1m
	Grace    time.Duration    // close this long after time_expire; default 1m
	MaxAge   time.Duration    // orders without time_expire are closed at this age; default 2h (code_url lifetime)
	Interval time.Duration    // between passes; default 30s
	Now      func() time.Time // default time.Now
}

// Run polls every Interval until ctx is done.
func (p *Poller) Run(ctx context.Context) error {
	iv := p.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if err := p.PollOnce(ctx); err != nil && ctx.Err() == nil {
			p.Client.log.Warn("wechatpay poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PollOnce makes one pass over the open orders. It returns the first error
// but carries on with the other orders.
func (p *Poller) PollOnce(ctx context.Context) error {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	late, grace, maxAge := or(p.Late, time.Minute), or(p.Grace, time.Minute), or(p.MaxAge, 2*time.Hour)
	open, err := p.Orders.OpenOrders(ctx)
	if err != nil {
		return fmt.Errorf("wechatpay: poll: list open orders: %w", err)
	}
	var first error
	for _, rec := range open {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t := now()
		if t.Sub(rec.CreatedAt) < late {
			continue
		}
		deadline := rec.CreatedAt.Add(maxAge)
		if !rec.ExpiresAt.IsZero() {
			deadline = rec.ExpiresAt.Add(grace)
		}
		if err := p.reconcile(ctx, rec, !t.Before(deadline)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (p *Poller) reconcile(ctx context.Context, rec OrderRecord, expired bool) error {
	c := p.Client
	log := c.log.With("out_trade_no", rec.OutTradeNo)
	t, err := c.Query(ctx, rec.OutTradeNo)
	switch {
	case errors.Is(err, ErrOrderNotExist):
		// WeChat never saw it (the create call failed); nothing to pay.
		if expired {
			log.Info("wechatpay order unknown to WeChat and expired; closed")
			return p.Orders.MarkClosed(ctx, rec.OutTradeNo)
		}
		return nil
	case err != nil:
		return err
	}
	switch {
	case t.Paid():
		return p.markPaid(ctx, rec, t)
	case t.Failed():
		log.Info("wechatpay order ended unpaid", "trade_state", t.TradeState)
		return p.Orders.MarkClosed(ctx, rec.OutTradeNo)
	case !expired:
		return nil
	}
	err = c.Close(ctx, rec.OutTradeNo)
	switch {
	case err == nil, errors.Is(err, ErrOrderClosed), errors.Is(err, ErrOrderNotExist):
		log.Info("wechatpay expired order closed")
		return p.Orders.MarkClosed(ctx, rec.OutTradeNo)
	case errors.Is(err, ErrOrderPaid):
		// Paid between our query and the close: ask again.
		t, err := c.Query(ctx, rec.OutTradeNo)
		if err != nil {
			return err
		}
		if t.Paid() {
			return p.markPaid(ctx, rec, t)
		}
		return fmt.Errorf("wechatpay: close %s: paid per close, %s per query", rec.OutTradeNo, t.TradeState)
	default:
		return err
	}
}

func (p *Poller) markPaid(ctx context.Context, rec OrderRecord, t Transaction) error {
	log := p.Client.log.With("out_trade_no", rec.OutTradeNo, "transaction_id", t.TransactionID)
	if err := p.Client.Match(rec, t); err != nil {
		log.Error("wechatpay query answer does not match the order; not marked paid", "err", err)
		return err
	}
	if err := p.Orders.MarkPaid(ctx, t); err != nil {
		return fmt.Errorf("wechatpay: mark %s paid: %w", rec.OutTradeNo, err)
	}
	log.Info("wechatpay order paid (found by query)", "amount_fen", t.AmountFen)
	return nil
}
