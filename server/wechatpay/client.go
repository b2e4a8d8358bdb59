package wechatpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments"
	pnative "github.com/wechatpay-apiv3/wechatpay-go/services/partnerpayments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// Beijing is the +08:00 zone WeChat's times are written in.
var Beijing = time.FixedZone("CST", 8*3600)

// Client talks to WeChat Pay for one merchant configuration. It is safe for
// concurrent use and starts no goroutines.
type Client struct {
	cfg     Config
	log     *slog.Logger
	keys    *keyring
	notify  *notify.Handler
	direct  native.NativeApiService
	partner pnative.NativeApiService
	refunds refunddomestic.RefundsApiService
}

// New builds a client. With PlatformCerts it downloads the platform
// certificates (so it needs WeChat, or the sandbox, to be reachable). log may
// be nil.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("merchant", cfg.ID, "mchid", cfg.MchID)
	hc, err := httpClient(cfg)
	if err != nil {
		return nil, err
	}
	keys := &keyring{pubID: cfg.PublicKeyID, pub: cfg.PublicKey, log: log, apiv3: string(cfg.APIv3Key)}
	if cfg.PlatformCerts {
		keys.dl, err = core.NewClientWithDialSettings(ctx, &core.DialSettings{
			Signer:     &signers.SHA256WithRSASigner{MchID: cfg.MchID, CertificateSerialNo: cfg.Serial, PrivateKey: cfg.PrivateKey},
			Validator:  &validators.NullValidator{}, // download checks the answer itself
			HTTPClient: hc,
		})
		if err != nil {
			return nil, fmt.Errorf("wechatpay: merchant %q: %w", cfg.ID, err)
		}
		if err := keys.refresh(ctx, true); err != nil {
			return nil, fmt.Errorf("wechatpay: merchant %q: platform certificates: %w", cfg.ID, err)
		}
	}
	sdk, err := core.NewClient(ctx,
		option.WithMerchantCredential(cfg.MchID, cfg.Serial, cfg.PrivateKey),
		option.WithVerifier(keys),
		option.WithHTTPClient(hc),
	)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: merchant %q: %w", cfg.ID, err)
	}
	nh, err := notify.NewRSANotifyHandler(string(cfg.APIv3Key), keys)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: merchant %q: apiv3 key: %w", cfg.ID, err)
	}
	return &Client{
		cfg:     cfg,
		log:     log,
		keys:    keys,
		notify:  nh,
		direct:  native.NativeApiService{Client: sdk},
		partner: pnative.NativeApiService{Client: sdk},
		refunds: refunddomestic.RefundsApiService{Client: sdk},
	}, nil
}

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// RefreshCertificates downloads the platform certificates again (a no-op
// without PlatformCerts). The verifier also does this by itself every 12
// hours, and — at most once a minute — when an answer or notification names
// a serial it does not know.
func (c *Client) RefreshCertificates(ctx context.Context) error {
	return c.keys.refresh(ctx, true)
}

// Order is what CreateNative needs.
type Order struct {
	OutTradeNo  string    // 6-32 of [0-9A-Za-z_-*|], minted by the server
	Description string    // <= 127 characters, no characters outside the BMP
	AmountFen   int64     // >= 1
	TimeExpire  time.Time // zero: none; sent in +08:00
	Attach      string    // <= 128 bytes, echoed back
	NotifyURL   string    // "" = Config.NotifyURL
}

func (c *Client) checkOrder(o Order) (notifyURL string, err error) {
	notifyURL = o.NotifyURL
	if notifyURL == "" {
		notifyURL = c.cfg.NotifyURL
	}
	switch {
	case !reOutTradeNo.MatchString(o.OutTradeNo):
		err = fmt.Errorf("out_trade_no %q must be 6-32 of [0-9A-Za-z_-*|]", o.OutTradeNo)
	case o.AmountFen < 1:
		err = fmt.Errorf("amount %d fen must be at least 1", o.AmountFen)
	case o.Description == "" || utf8.RuneCountInString(o.Description) > 127 || !bmpOnly(o.Description):
		err = errors.New("description must be 1-127 characters inside the BMP")
	case len(o.Attach) > 128:
		err = errors.New("attach longer than 128 bytes")
	case notifyURL == "":
		err = errors.New("no notify url")
	}
	if err != nil {
		return "", fmt.Errorf("wechatpay: create order: %w: %w", ErrInvalidRequest, err)
	}
	return notifyURL, nil
}

func bmpOnly(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r > 0xFFFF {
			return false
		}
	}
	return true
}

// CreateNative creates a Native order and returns its code_url. Repeating it
// with identical parameters is safe and returns the same code_url; different
// parameters for the same out_trade_no give ErrOutTradeNoUsed.
func (c *Client) CreateNative(ctx context.Context, o Order) (codeURL string, err error) {
	notifyURL, err := c.checkOrder(o)
	if err != nil {
		return "", err
	}
	var expire *time.Time
	if !o.TimeExpire.IsZero() {
		t := o.TimeExpire.In(Beijing).Truncate(time.Second)
		expire = &t
	}
	var attach *string
	if o.Attach != "" {
		attach = core.String(o.Attach)
	}
	err = c.retry(ctx, "create order", func() (*core.APIResult, error) {
		if c.cfg.partner() {
			req := pnative.PrepayRequest{
				SpAppid: core.String(c.cfg.AppID), SpMchid: core.String(c.cfg.MchID),
				SubMchid: core.String(c.cfg.SubMchID), Description: core.String(o.Description),
				OutTradeNo: core.String(o.OutTradeNo), TimeExpire: expire, Attach: attach,
				NotifyUrl: core.String(notifyURL),
				Amount:    &pnative.Amount{Total: core.Int64(o.AmountFen), Currency: core.String("CNY")},
			}
			if c.cfg.SubAppID != "" {
				req.SubAppid = core.String(c.cfg.SubAppID)
			}
			resp, res, err := c.partner.Prepay(ctx, req)
			if err == nil {
				if resp == nil || resp.CodeUrl == nil || *resp.CodeUrl == "" {
					return res, errNoCodeURL
				}
				codeURL = *resp.CodeUrl
			}
			return res, err
		}
		req := native.PrepayRequest{
			Appid: core.String(c.cfg.AppID), Mchid: core.String(c.cfg.MchID),
			Description: core.String(o.Description), OutTradeNo: core.String(o.OutTradeNo),
			TimeExpire: expire, Attach: attach, NotifyUrl: core.String(notifyURL),
			Amount: &native.Amount{Total: core.Int64(o.AmountFen), Currency: core.String("CNY")},
		}
		resp, res, err := c.direct.Prepay(ctx, req)
		if err == nil {
			if resp == nil || resp.CodeUrl == nil || *resp.CodeUrl == "" {
				return res, errNoCodeURL
			}
			codeURL = *resp.CodeUrl
		}
		return res, err
	})
	if err != nil {
		return "", err
	}
	c.log.Info("wechatpay order created", "out_trade_no", o.OutTradeNo, "amount_fen", o.AmountFen)
	return codeURL, nil
}

var errNoCodeURL = errors.New("answer has no code_url")

// Trade states (query trade_state).
const (
	StateNotPay     = "NOTPAY"
	StateSuccess    = "SUCCESS"
	StateClosed     = "CLOSED"
	StateRefund     = "REFUND"
	StateUserPaying = "USERPAYING"
	StateRevoked    = "REVOKED"
	StatePayError   = "PAYERROR"
)

// Transaction is a verified payment as WeChat reports it (query answer or
// decrypted notification).
type Transaction struct {
	OutTradeNo    string
	TransactionID string
	TradeState    string
	AmountFen     int64 // amount.total: what the order asked for
	PayerTotalFen int64 // amount.payer_total: what the payer paid (after coupons)
	Currency      string
	AppID         string // appid, or sp_appid in partner mode
	MchID         string // mchid, or sp_mchid in partner mode
	SubAppID      string
	SubMchID      string
	SuccessTime   time.Time
	Attach        string
	PayerOpenID   string
}

// Paid reports whether WeChat holds the money (SUCCESS, or REFUND: paid and
// then refunded in part or whole).
func (t Transaction) Paid() bool { return t.TradeState == StateSuccess || t.TradeState == StateRefund }

// Pending reports whether the order can still be paid.
func (t Transaction) Pending() bool {
	return t.TradeState == StateNotPay || t.TradeState == StateUserPaying || t.TradeState == "ACCEPT"
}

// Failed reports whether the order is over without a payment.
func (t Transaction) Failed() bool {
	return t.TradeState == StateClosed || t.TradeState == StateRevoked || t.TradeState == StatePayError
}

// wireTransaction is the JSON of a transaction, direct and partner fields
// together.
type wireTransaction struct {
	Appid         string `json:"appid"`
	Mchid         string `json:"mchid"`
	SpAppid       string `json:"sp_appid"`
	SpMchid       string `json:"sp_mchid"`
	SubAppid      string `json:"sub_appid"`
	SubMchid      string `json:"sub_mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	TradeState    string `json:"trade_state"`
	SuccessTime   string `json:"success_time"`
	Attach        string `json:"attach"`
	Amount        struct {
		Total      *int64 `json:"total"`
		PayerTotal *int64 `json:"payer_total"`
		Currency   string `json:"currency"`
	} `json:"amount"`
	Payer struct {
		Openid    string `json:"openid"`
		SpOpenid  string `json:"sp_openid"`
		SubOpenid string `json:"sub_openid"`
	} `json:"payer"`
}

// parseTransaction decodes a transaction's JSON (query answer or notification
// plaintext).
func parseTransaction(b []byte) (Transaction, error) {
	var w wireTransaction
	if err := json.Unmarshal(b, &w); err != nil {
		return Transaction{}, fmt.Errorf("wechatpay: transaction: %w", err)
	}
	t := Transaction{
		OutTradeNo: w.OutTradeNo, TransactionID: w.TransactionID, TradeState: w.TradeState,
		Currency: w.Amount.Currency, Attach: w.Attach,
		AppID: w.Appid, MchID: w.Mchid, SubAppID: w.SubAppid, SubMchID: w.SubMchid,
		PayerOpenID: w.Payer.Openid,
	}
	if w.SpMchid != "" {
		t.AppID, t.MchID = w.SpAppid, w.SpMchid
		t.PayerOpenID = w.Payer.SpOpenid
		if t.PayerOpenID == "" {
			t.PayerOpenID = w.Payer.SubOpenid
		}
	}
	if w.Amount.Total != nil {
		t.AmountFen = *w.Amount.Total
	}
	if w.Amount.PayerTotal != nil {
		t.PayerTotalFen = *w.Amount.PayerTotal
	}
	if w.SuccessTime != "" {
		st, err := time.Parse(time.RFC3339, w.SuccessTime)
		if err != nil {
			return Transaction{}, fmt.Errorf("wechatpay: transaction: success_time: %w", err)
		}
		t.SuccessTime = st
	}
	if t.OutTradeNo == "" || t.TradeState == "" {
		return Transaction{}, errors.New("wechatpay: transaction: out_trade_no or trade_state missing")
	}
	return t, nil
}

// Query asks WeChat for the order's state. An order WeChat does not know
// gives ErrOrderNotExist.
func (c *Client) Query(ctx context.Context, outTradeNo string) (Transaction, error) {
	var raw []byte
	err := c.retry(ctx, "query order", func() (*core.APIResult, error) {
		var (
			v   any
			res *core.APIResult
			err error
		)
		if c.cfg.partner() {
			var t *partnerpayments.Transaction
			t, res, err = c.partner.QueryOrderByOutTradeNo(ctx, pnative.QueryOrderByOutTradeNoRequest{
				OutTradeNo: core.String(outTradeNo), SpMchid: core.String(c.cfg.MchID), SubMchid: core.String(c.cfg.SubMchID),
			})
			v = t
		} else {
			var t *payments.Transaction
			t, res, err = c.direct.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
				OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID),
			})
			v = t
		}
		if err == nil {
			raw, err = json.Marshal(v)
		}
		return res, err
	})
	if err != nil {
		return Transaction{}, err
	}
	t, err := parseTransaction(raw)
	if err != nil {
		return Transaction{}, fmt.Errorf("wechatpay: query order %s: %w: %w", outTradeNo, ErrBadResponse, err)
	}
	if t.OutTradeNo != outTradeNo {
		return Transaction{}, fmt.Errorf("wechatpay: query order %s: %w: answer is for %s", outTradeNo, ErrBadResponse, t.OutTradeNo)
	}
	return t, nil
}

// Close closes an unpaid order. Query first: a paid order must not be
// closed (WeChat answers ErrOrderPaid).
func (c *Client) Close(ctx context.Context, outTradeNo string) error {
	err := c.retry(ctx, "close order", func() (*core.APIResult, error) {
		if c.cfg.partner() {
			return c.partner.CloseOrder(ctx, pnative.CloseOrderRequest{
				OutTradeNo: core.String(outTradeNo), SpMchid: core.String(c.cfg.MchID), SubMchid: core.String(c.cfg.SubMchID),
			})
		}
		return c.direct.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID)})
	})
	if err == nil {
		c.log.Info("wechatpay order closed", "out_trade_no", outTradeNo)
	}
	return err
}

// RefundRequest asks for (part of) a paid order back.
type RefundRequest struct {
	OutTradeNo  string
	OutRefundNo string // idempotency key: retry a failed refund with the same one
	Reason      string
	RefundFen   int64
	TotalFen    int64 // the order's amount
	NotifyURL   string
}

// Refund is WeChat's view of a refund.
type Refund struct {
	RefundID      string
	OutRefundNo   string
	OutTradeNo    string
	TransactionID string
	Status        string // PROCESSING, SUCCESS, CLOSED, ABNORMAL
	RefundFen     int64
	TotalFen      int64
	CreateTime    time.Time
	SuccessTime   time.Time
}

func refundFrom(r *refunddomestic.Refund) Refund {
	var out Refund
	if r == nil {
		return out
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	out.RefundID, out.OutRefundNo, out.OutTradeNo, out.TransactionID = str(r.RefundId), str(r.OutRefundNo), str(r.OutTradeNo), str(r.TransactionId)
	if r.Status != nil {
		out.Status = string(*r.Status)
	}
	if r.Amount != nil {
		if r.Amount.Refund != nil {
			out.RefundFen = *r.Amount.Refund
		}
		if r.Amount.Total != nil {
			out.TotalFen = *r.Amount.Total
		}
	}
	if r.CreateTime != nil {
		out.CreateTime = *r.CreateTime
	}
	if r.SuccessTime != nil {
		out.SuccessTime = *r.SuccessTime
	}
	return out
}

// Refund starts a refund. Repeating it with the same OutRefundNo is safe.
func (c *Client) Refund(ctx context.Context, rr RefundRequest) (Refund, error) {
	if rr.RefundFen < 1 || rr.TotalFen < rr.RefundFen || rr.OutRefundNo == "" || rr.OutTradeNo == "" {
		return Refund{}, fmt.Errorf("wechatpay: refund: %w: need out_trade_no, out_refund_no and 1 <= refund <= total", ErrInvalidRequest)
	}
	notifyURL := rr.NotifyURL
	if notifyURL == "" {
		notifyURL = c.cfg.NotifyURL
	}
	req := refunddomestic.CreateRequest{
		OutTradeNo: core.String(rr.OutTradeNo), OutRefundNo: core.String(rr.OutRefundNo),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(rr.RefundFen), Total: core.Int64(rr.TotalFen), Currency: core.String("CNY")},
	}
	if c.cfg.partner() {
		req.SubMchid = core.String(c.cfg.SubMchID)
	}
	if rr.Reason != "" {
		req.Reason = core.String(rr.Reason)
	}
	if notifyURL != "" {
		req.NotifyUrl = core.String(notifyURL)
	}
	var out Refund
	err := c.retry(ctx, "refund", func() (*core.APIResult, error) {
		r, res, err := c.refunds.Create(ctx, req)
		if err == nil {
			out = refundFrom(r)
		}
		return res, err
	})
	if err != nil {
		return Refund{}, err
	}
	c.log.Info("wechatpay refund requested", "out_trade_no", rr.OutTradeNo, "out_refund_no", rr.OutRefundNo, "refund_fen", rr.RefundFen, "status", out.Status)
	return out, nil
}

// QueryRefund asks for a refund's state.
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (Refund, error) {
	req := refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)}
	if c.cfg.partner() {
		req.SubMchid = core.String(c.cfg.SubMchID)
	}
	var out Refund
	err := c.retry(ctx, "query refund", func() (*core.APIResult, error) {
		r, res, err := c.refunds.QueryByOutRefundNo(ctx, req)
		if err == nil {
			out = refundFrom(r)
		}
		return res, err
	})
	return out, err
}

// businessAnswer reports the answers that are part of normal order life
// (the caller branches on them), not faults.
func businessAnswer(err error) bool {
	return errors.Is(err, ErrOrderPaid) || errors.Is(err, ErrOrderClosed) ||
		errors.Is(err, ErrOrderNotExist) || errors.Is(err, ErrOutTradeNoUsed)
}

// retry runs call, retrying with backoff while the outcome is retryable.
// Every call the client makes is idempotent (identical order parameters,
// GETs, close, out_refund_no), so a retry cannot create a second effect.
func (c *Client) retry(ctx context.Context, op string, call func() (*core.APIResult, error)) error {
	retries := c.cfg.Retries
	if retries == 0 {
		retries = 2
	}
	backoff := c.cfg.RetryBackoff
	if backoff <= 0 {
		backoff = 300 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		res, err := call()
		if err == errNoCodeURL {
			return fmt.Errorf("wechatpay: %s: %w: %w", op, ErrBadResponse, err)
		}
		err = classify(op, res, err)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("wechatpay: %s: %w", op, ctx.Err())
		}
		if !Retryable(err) || attempt >= retries {
			level := slog.LevelWarn
			if businessAnswer(err) {
				level = slog.LevelInfo
			}
			c.log.Log(ctx, level, "wechatpay call failed", "op", op, "attempt", attempt+1, "err", err)
			return err
		}
		d := backoff<<attempt + time.Duration(rand.Int64N(int64(backoff)/2+1))
		c.log.Info("wechatpay call will be retried", "op", op, "attempt", attempt+1, "in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wechatpay: %s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}
