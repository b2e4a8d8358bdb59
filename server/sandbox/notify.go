package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Errors of Pay.
var (
	ErrNotFound = errors.New("sandbox: no such order")
	ErrPaid     = errors.New("sandbox: order already paid")
	ErrClosed   = errors.New("sandbox: order closed")
	ErrExpired  = errors.New("sandbox: order expired")
)

// Payment is what Pay did.
type Payment struct {
	MchID         string `json:"mchid"`
	SubMchID      string `json:"sub_mchid,omitempty"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	AmountFen     int64  `json:"amount_fen"`
	SuccessTime   string `json:"success_time"`
	NotifyURL     string `json:"notify_url"`
}

// Pay plays a customer paying the newest order with this out_trade_no: the
// order becomes SUCCESS with a 28-digit transaction_id, and a
// TRANSACTION.SUCCESS notification goes to its notify_url (asynchronously,
// following the retry schedule and any NotifyPlan).
func (s *Sandbox) Pay(outTradeNo string) (Payment, error) {
	now := s.now()
	s.mu.Lock()
	var o *order
	for k, cand := range s.orders {
		if k.no == outTradeNo && (o == nil || cand.created.After(o.created)) {
			o = cand
		}
	}
	switch {
	case o == nil:
		s.mu.Unlock()
		return Payment{}, fmt.Errorf("%w: %s", ErrNotFound, outTradeNo)
	case o.txnID != "":
		s.mu.Unlock()
		return Payment{}, fmt.Errorf("%w: %s", ErrPaid, outTradeNo)
	case o.state == "CLOSED":
		s.mu.Unlock()
		return Payment{}, fmt.Errorf("%w: %s", ErrClosed, outTradeNo)
	case now.Sub(o.created) > s.cfg.QRLifetime || (!o.expire.IsZero() && now.After(o.expire)):
		s.mu.Unlock()
		return Payment{}, fmt.Errorf("%w: %s", ErrExpired, outTradeNo)
	}
	o.state = "SUCCESS"
	o.txnID = "4200" + randDigits(24)
	o.successTime = now
	o.openid = "o" + randAlnum(27)
	s.byTxn[o.txnID] = o
	plain, _ := json.Marshal(o.transaction())
	apiv3 := s.merchants[o.key.mchid].apiv3
	p := Payment{
		MchID: o.key.mchid, SubMchID: o.key.sub, OutTradeNo: o.key.no, TransactionID: o.txnID,
		AmountFen: o.total, SuccessTime: now.In(beijing).Format(time.RFC3339), NotifyURL: o.notifyURL,
	}
	s.inflight++ // held until notify takes over, so Flush cannot miss it
	s.mu.Unlock()
	s.log.Info("sandbox order paid", "out_trade_no", outTradeNo, "transaction_id", p.TransactionID, "amount_fen", p.AmountFen)
	s.notify(o.notifyURL, "TRANSACTION.SUCCESS", "支付成功", "transaction", outTradeNo, plain, apiv3)
	s.doneInflight()
	return p, nil
}

func (s *Sandbox) doneInflight() {
	s.mu.Lock()
	s.inflight--
	if s.inflight == 0 {
		close(s.idle)
		s.idle = make(chan struct{})
	}
	s.mu.Unlock()
}

// notify delivers one event in the background:
//
//	POST notify_url
//	Wechatpay-Serial/-Signature/-Timestamp/-Nonce/-Signature-Type
//	{"id":"...","create_time":"...+08:00","resource_type":"encrypt-resource",
//	 "event_type":"TRANSACTION.SUCCESS","summary":"支付成功",
//	 "resource":{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM",
//	             "ciphertext":"<base64>","associated_data":"transaction","nonce":"<12 chars>"}}
//
// Only 200 and 204 are acks; anything else is retried after the next delay
// of the schedule until it runs out.
func (s *Sandbox) notify(url, event, summary, origType, outTradeNo string, plain, apiv3 []byte) {
	plan := s.takePlan()
	s.mu.Lock()
	if s.ctx.Err() != nil { // closed: deliver nothing more
		s.mu.Unlock()
		return
	}
	s.inflight++
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer s.doneInflight()
		s.deliver(plan, url, event, summary, origType, outTradeNo, plain, apiv3)
	}()
}

func (s *Sandbox) deliver(plan NotifyPlan, url, event, summary, origType, outTradeNo string, plain, apiv3 []byte) {
	id := fmt.Sprintf("%s-%s-%s-%s-%s", randFrom("0123456789abcdef", 8), randFrom("0123456789abcdef", 4),
		randFrom("0123456789abcdef", 4), randFrom("0123456789abcdef", 4), randFrom("0123456789abcdef", 12))
	base := Delivery{ID: id, EventType: event, OutTradeNo: outTradeNo, URL: url}
	if plan.Drop {
		base.Err = "dropped by plan"
		s.record(base)
		return
	}
	key := apiv3
	if plan.WrongKey {
		key = []byte(randAlnum(32))
	}
	nonce := randAlnum(12)
	ct, err := seal(key, nonce, origType, plain)
	if err != nil {
		base.Err = err.Error()
		s.record(base)
		return
	}
	body, _ := json.Marshal(map[string]any{
		"id": id, "create_time": s.now().In(beijing).Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": event, "summary": summary,
		"resource": map[string]string{
			"original_type": origType, "algorithm": "AEAD_AES_256_GCM", "ciphertext": ct,
			"associated_data": origType, "nonce": nonce,
		},
	})
	sg := s.notifySigner()
	var pre []Signing
	if plan.Probe {
		pre = append(pre, SignProbe)
	}
	for range plan.Forged {
		pre = append(pre, SignForged)
	}
	sched := s.cfg.RetrySchedule
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if attempt-1 >= len(sched) {
				s.log.Warn("sandbox notification given up", "id", id, "out_trade_no", outTradeNo, "attempts", attempt)
				return
			}
			if !s.sleep(sched[attempt-1]) {
				return
			}
		}
		how := SignValid
		if attempt < len(pre) {
			how = pre[attempt]
		}
		d := s.post(base, attempt+1, url, body, sg, how, plan.Skew, false)
		if d.Acked {
			break
		}
	}
	for i := range plan.Duplicates {
		s.post(base, i+2, url, body, sg, SignValid, plan.Skew, true)
	}
}

func (s *Sandbox) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Sandbox) post(base Delivery, attempt int, url string, body []byte, sg signer, how Signing, skew time.Duration, dup bool) Delivery {
	d := base
	d.Attempt, d.Sign, d.Skewed, d.Duplicate, d.At, d.Body = attempt, how, skew != 0, dup, s.now(), body
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		s.record(d)
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	req.Header.Set("Request-ID", "08"+randDigits(10)+strings.ToUpper(randFrom("0123456789abcdef", 24)))
	s.signHeaders(req.Header, sg, body, how, skew)
	d.Header = req.Header.Clone()
	resp, err := s.hc.Do(req)
	if err != nil {
		d.Err = err.Error()
		s.record(d)
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	d.Status = resp.StatusCode
	d.Acked = resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent
	s.record(d)
	return d
}

// maxDeliveries bounds the delivery log of a long-running sandbox.
const maxDeliveries = 2000

func (s *Sandbox) record(d Delivery) {
	s.log.Info("sandbox notification delivery", "id", d.ID, "event_type", d.EventType, "out_trade_no", d.OutTradeNo,
		"attempt", d.Attempt, "sign", d.Sign, "duplicate", d.Duplicate, "status", d.Status, "err", d.Err)
	s.mu.Lock()
	if len(s.deliveries) >= maxDeliveries {
		s.deliveries = append(s.deliveries[:0], s.deliveries[len(s.deliveries)-maxDeliveries/2:]...)
	}
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
}

// serveHooks serves the sandbox's own endpoints:
//
//	POST /sandbox/pay/{out_trade_no}   play a customer paying (no body or headers needed)
//	GET  /sandbox/orders               the orders, as JSON
func (s *Sandbox) serveHooks(w http.ResponseWriter, r *http.Request) {
	seg, ok := segments(r.URL.EscapedPath())
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case ok && len(seg) == 3 && seg[1] == "pay":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(http.StatusMethodNotAllowed, map[string]string{"code": "METHOD_NOT_ALLOWED", "message": "POST only"})
			return
		}
		p, err := s.Pay(seg[2])
		switch {
		case err == nil:
			writeJSON(http.StatusOK, p)
		case errors.Is(err, ErrNotFound):
			writeJSON(http.StatusNotFound, map[string]string{"code": "ORDER_NOT_EXIST", "message": err.Error()})
		default:
			writeJSON(http.StatusConflict, map[string]string{"code": "ORDER_NOT_PAYABLE", "message": err.Error()})
		}
	case ok && len(seg) == 2 && seg[1] == "orders" && r.Method == http.MethodGet:
		s.mu.Lock()
		list := make([]map[string]any, 0, len(s.orders))
		for _, o := range s.orders {
			t := o.transaction()
			t["code_url"] = o.codeURL
			t["notify_url"] = o.notifyURL
			if o.expireRaw != "" {
				t["time_expire"] = o.expireRaw
			}
			list = append(list, t)
		}
		s.mu.Unlock()
		writeJSON(http.StatusOK, list)
	default:
		writeJSON(http.StatusNotFound, map[string]string{"code": "NOT_FOUND", "message": "sandbox hooks: POST /sandbox/pay/{out_trade_no}, GET /sandbox/orders"})
	}
}
