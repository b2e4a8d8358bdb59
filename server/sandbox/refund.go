package sandbox

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"time"
)

type refund struct {
	order     *order
	no        string
	id        string
	amount    int64
	reason    string
	notifyURL string
	status    string
	created   time.Time
	succeeded time.Time
	canonical string
	apiv3     []byte
}

func reOutRefundNo(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r == '_' || r == '-' || r == '|' || r == '*' || r == '@':
		default:
			return false
		}
	}
	return true
}

// createRefund: POST /v3/refund/domestic/refunds (minimal: full or partial
// refunds of a paid order, idempotent by out_refund_no).
func (s *Sandbox) createRefund(m *merchant, body []byte) (int, any) {
	obj, ae := decodeObject(body)
	if ae != nil {
		return ae.status, ae
	}
	f := &fields{obj: obj}
	sub := f.str("/sub_mchid", false, 32)
	txn := f.str("/transaction_id", false, 32)
	no := f.str("/out_trade_no", false, 32)
	rno := f.str("/out_refund_no", true, 64)
	reason := f.str("/reason", false, 80)
	notifyURL := f.str("/notify_url", false, 256)
	amt, _ := f.int("/amount/refund", true)
	total, _ := f.int("/amount/total", true)
	cur := f.str("/amount/currency", true, 16)
	if f.err == nil && txn == "" && no == "" {
		f.fail("/out_trade_no", nil, "transaction_id 与 out_trade_no 须填其一")
	}
	if f.err == nil && !reOutRefundNo(rno) {
		f.fail("/out_refund_no", rno, "退款单号须为 1-64 位数字、大小写字母、_-|*@")
	}
	if f.err == nil && cur != "CNY" {
		f.fail("/amount/currency", cur, "币种仅支持 CNY")
	}
	if f.err == nil && amt < 1 {
		f.fail("/amount/refund", amt, "退款金额须为正整数（分）")
	}
	if f.err == nil && notifyURL != "" {
		if u, err := url.Parse(notifyURL); err != nil || !u.IsAbs() || u.RawQuery != "" {
			f.fail("/notify_url", notifyURL, "通知地址须为不带参数的绝对 URL")
		}
	}
	if f.err != nil {
		return f.err.status, f.err
	}
	if sub != "" {
		if _, ok := m.subs[sub]; !ok {
			return 400, errAnswer(400, "INVALID_REQUEST", "子商户号与服务商不存在绑定关系")
		}
	}
	canon, _ := json.Marshal(obj)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *order
	if txn != "" {
		o = s.byTxn[txn]
		if o != nil && (o.key.mchid != m.mchid || o.key.sub != sub) {
			o = nil
		}
	} else {
		o = s.orders[orderKey{m.mchid, sub, no}]
	}
	if o == nil {
		return 404, errAnswer(404, "RESOURCE_NOT_EXISTS", "订单不存在")
	}
	rkey := m.mchid + "/" + sub + "/" + rno
	if rf := s.refunds[rkey]; rf != nil {
		if rf.canonical != string(canon) {
			return 400, errAnswer(400, "INVALID_REQUEST", "退款单号已用于其他参数的退款请求")
		}
		return 200, rf.json()
	}
	if o.txnID == "" {
		return 400, errAnswer(400, "INVALID_REQUEST", "订单未支付，不能退款")
	}
	if total != o.total {
		return 400, paramError("/amount/total", total, "订单金额与原订单不一致")
	}
	if o.refunded+amt > o.total {
		return 403, errAnswer(403, "NOT_ENOUGH", "退款金额超过订单可退金额")
	}
	o.refunded += amt
	o.state = "REFUND"
	rf := &refund{
		order: o, no: rno, id: "50" + randDigits(27), amount: amt, reason: reason, notifyURL: notifyURL,
		status: "PROCESSING", created: now, canonical: string(canon), apiv3: append([]byte(nil), m.apiv3...),
	}
	s.refunds[rkey] = rf
	s.startRefund(rf)
	return 200, rf.json()
}

// json is the Refund object of refund answers.
func (rf *refund) json() map[string]any {
	o := rf.order
	r := map[string]any{
		"refund_id": rf.id, "out_refund_no": rf.no, "transaction_id": o.txnID, "out_trade_no": o.key.no,
		"channel": "ORIGINAL", "user_received_account": "支付用户零钱", "status": rf.status,
		"create_time": rf.created.In(beijing).Format(time.RFC3339), "funds_account": "AVAILABLE",
		"amount": map[string]any{
			"total": o.total, "refund": rf.amount, "payer_total": o.total, "payer_refund": rf.amount,
			"settlement_total": o.total, "settlement_refund": rf.amount, "discount_refund": 0,
			"currency": "CNY", "from": []any{},
		},
		"promotion_detail": []any{},
	}
	if !rf.succeeded.IsZero() {
		r["success_time"] = rf.succeeded.In(beijing).Format(time.RFC3339)
	}
	return r
}

// startRefund completes the refund after RefundDelay and, when it has a
// notify_url, sends REFUND.SUCCESS. Called with s.mu held.
func (s *Sandbox) startRefund(rf *refund) {
	if s.ctx.Err() != nil {
		return
	}
	s.inflight++
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.doneInflight()
		t := time.NewTimer(s.cfg.RefundDelay)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		rf.status = "SUCCESS"
		rf.succeeded = s.cfg.Now().Add(s.skew)
		o := rf.order
		plain := map[string]any{
			"out_trade_no": o.key.no, "transaction_id": o.txnID, "out_refund_no": rf.no, "refund_id": rf.id,
			"refund_status": "SUCCESS", "success_time": rf.succeeded.In(beijing).Format(time.RFC3339),
			"user_received_account": "支付用户零钱",
			"amount":                map[string]any{"total": o.total, "refund": rf.amount, "payer_total": o.total, "payer_refund": rf.amount},
		}
		if o.partner {
			plain["sp_mchid"], plain["sub_mchid"] = o.key.mchid, o.key.sub
		} else {
			plain["mchid"] = o.key.mchid
		}
		url := rf.notifyURL
		s.mu.Unlock()
		if url != "" {
			b, _ := json.Marshal(plain)
			s.notify(url, "REFUND.SUCCESS", "退款成功", "refund", o.key.no, b, rf.apiv3)
		}
	}()
}

func (s *Sandbox) queryRefund(m *merchant, q url.Values, rno string) (int, any) {
	sub := q.Get("sub_mchid")
	s.mu.Lock()
	defer s.mu.Unlock()
	rf := s.refunds[m.mchid+"/"+sub+"/"+rno]
	if rf == nil {
		return 404, errAnswer(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return 200, rf.json()
}

// certificates: GET /v3/certificates. Certificate and migrating modes list
// the platform certificate encrypted with the merchant's APIv3 key
// (associated data "certificate"); public-key mode has none.
func (s *Sandbox) certificates(m *merchant) (int, any) {
	if s.cfg.Mode == ModePublicKey {
		return 404, errAnswer(404, "RESOURCE_NOT_EXISTS", "无可用的平台证书，请使用微信支付公钥")
	}
	s.mu.Lock()
	certs := append([]platformCert(nil), s.certs...)
	s.mu.Unlock()
	var data []any
	for _, pc := range certs {
		nonce := randAlnum(12)
		ct, err := seal(m.apiv3, nonce, "certificate", pc.pem)
		if err != nil {
			return 500, errAnswer(500, "SYSTEM_ERROR", "系统错误")
		}
		data = append(data, map[string]any{
			"serial_no":      pc.serial,
			"effective_time": pc.cert.NotBefore.In(beijing).Format(time.RFC3339),
			"expire_time":    pc.cert.NotAfter.In(beijing).Format(time.RFC3339),
			"encrypt_certificate": map[string]string{
				"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": "certificate", "ciphertext": ct,
			},
		})
	}
	return 200, map[string]any{"data": data}
}

// seal is AEAD_AES_256_GCM as WeChat uses it: the 32-byte APIv3 key, the
// 12 ASCII bytes of nonce as the GCM nonce, base64(ciphertext || tag).
func seal(key []byte, nonce, ad string, plain []byte) (string, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(g.Seal(nil, []byte(nonce), plain, []byte(ad))), nil
}
