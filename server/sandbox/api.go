package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// apiError is WeChat's error body:
//
//	{"code":"PARAM_ERROR","message":"...","detail":{"field":"/amount/total","value":0,"issue":"...","location":"body"}}
type apiError struct {
	status  int
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Detail  *errorDetail `json:"detail,omitempty"`
}

type errorDetail struct {
	Field    string `json:"field"`
	Value    any    `json:"value,omitempty"`
	Issue    string `json:"issue"`
	Location string `json:"location"`
}

func errAnswer(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}

func paramError(field string, value any, issue string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "PARAM_ERROR", Message: "参数错误: " + issue,
		Detail: &errorDetail{Field: field, Value: value, Issue: issue, Location: "body"}}
}

var (
	errNotExist = errAnswer(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	errPaid     = errAnswer(http.StatusForbidden, "ORDERPAID", "该订单已支付")
	errClosed   = errAnswer(http.StatusBadRequest, "ORDER_CLOSED", "该订单已关闭")
	errUsed     = errAnswer(http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复")
)

// Handler serves the WeChat Pay API (/v3/...) and the sandbox hooks
// (/sandbox/...) on one plain-HTTP listener.
func (s *Sandbox) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

const maxBody = 1 << 20

func (s *Sandbox) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if strings.HasPrefix(path, "/sandbox/") || path == "/sandbox" {
		s.serveHooks(w, r)
		return
	}
	reqID := "08" + randDigits(10) + strings.ToUpper(randFrom("0123456789abcdef", 24))
	reqSerial := r.Header.Get("Wechatpay-Serial")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		s.reply(w, reqID, reqSerial, http.StatusBadRequest, errAnswer(400, "INVALID_REQUEST", "请求体过大或不可读"), nil)
		return
	}
	if !strings.HasPrefix(path, "/v3/") {
		s.reply(w, reqID, reqSerial, http.StatusNotFound, errAnswer(404, "RESOURCE_NOT_EXISTS", "资源不存在"), nil)
		return
	}
	log := s.log.With("method", r.Method, "uri", r.RequestURI, "request_id", reqID)
	m, err := s.authenticate(r, body)
	if err != nil {
		log.Info("sandbox refused request", "code", "SIGN_ERROR", "reason", err)
		s.reply(w, reqID, reqSerial, http.StatusUnauthorized, errAnswer(401, "SIGN_ERROR", "签名错误: "+err.Error()), nil)
		return
	}
	if reqSerial != "" && !s.knownSerial(reqSerial) {
		log.Info("sandbox refused request", "code", "INVALID_REQUEST", "reason", "unknown Wechatpay-Serial", "serial", reqSerial)
		s.reply(w, reqID, "", http.StatusBadRequest, errAnswer(400, "INVALID_REQUEST", "Wechatpay-Serial 对应的证书或公钥不存在"), nil)
		return
	}
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" {
			s.reply(w, reqID, reqSerial, http.StatusBadRequest, errAnswer(400, "INVALID_REQUEST", "Content-Type 必须为 application/json"), nil)
			return
		}
	}
	fault := s.takeFault(r)
	var (
		status int
		out    any
	)
	switch {
	case fault != nil && fault.Status != 0 && fault.Body != "":
		status, out = fault.Status, rawBody(fault.Body)
		log.Info("sandbox injected fault", "status", fault.Status, "body_bytes", len(fault.Body))
	case fault != nil && fault.Status != 0:
		status, out = fault.Status, errAnswer(fault.Status, fault.Code, fault.Message)
		log.Info("sandbox injected fault", "status", fault.Status, "code", fault.Code)
	default:
		status, out = s.route(m, r, path, body)
	}
	if ae, ok := out.(*apiError); ok {
		log.Info("sandbox answered error", "status", status, "code", ae.Code, "message", ae.Message)
	} else {
		log.Debug("sandbox answered", "status", status)
	}
	s.reply(w, reqID, reqSerial, status, out, fault)
}

// rawBody is an answer body sent as is (injected garbage).
type rawBody []byte

// reply writes a signed answer; out is nil for 204.
func (s *Sandbox) reply(w http.ResponseWriter, reqID, reqSerial string, status int, out any, fault *Fault) {
	var body []byte
	if raw, ok := out.(rawBody); ok {
		body = raw
	} else if out != nil && status != http.StatusNoContent {
		var err error
		if body, err = json.Marshal(out); err != nil {
			status, body = http.StatusInternalServerError, []byte(`{"code":"SYSTEM_ERROR","message":"系统错误"}`)
		}
	}
	h := w.Header()
	h.Set("Request-ID", reqID)
	if len(body) > 0 {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	how, skew := SignValid, time.Duration(0)
	if fault != nil {
		how, skew = fault.Sign, fault.Skew
	}
	s.signHeaders(h, s.answerSigner(reqSerial), body, how, skew)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// segments splits an escaped path and unescapes each part.
func segments(escaped string) ([]string, bool) {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func (s *Sandbox) route(m *merchant, r *http.Request, path string, body []byte) (int, any) {
	seg, ok := segments(path)
	if !ok {
		return 400, errAnswer(400, "INVALID_REQUEST", "路径不合法")
	}
	p := strings.Join(seg, "/")
	q := r.URL.Query()
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	switch {
	case post && p == "v3/pay/transactions/native":
		return s.createOrder(m, body, false)
	case post && p == "v3/pay/partner/transactions/native":
		return s.createOrder(m, body, true)
	case get && len(seg) == 5 && strings.HasPrefix(p, "v3/pay/transactions/out-trade-no/"):
		return s.queryOrder(m, q, false, seg[4], "")
	case get && len(seg) == 5 && strings.HasPrefix(p, "v3/pay/transactions/id/"):
		return s.queryOrder(m, q, false, "", seg[4])
	case get && len(seg) == 6 && strings.HasPrefix(p, "v3/pay/partner/transactions/out-trade-no/"):
		return s.queryOrder(m, q, true, seg[5], "")
	case get && len(seg) == 6 && strings.HasPrefix(p, "v3/pay/partner/transactions/id/"):
		return s.queryOrder(m, q, true, "", seg[5])
	case post && len(seg) == 6 && strings.HasPrefix(p, "v3/pay/transactions/out-trade-no/") && seg[5] == "close":
		return s.closeOrder(m, body, false, seg[4])
	case post && len(seg) == 7 && strings.HasPrefix(p, "v3/pay/partner/transactions/out-trade-no/") && seg[6] == "close":
		return s.closeOrder(m, body, true, seg[5])
	case post && p == "v3/refund/domestic/refunds":
		return s.createRefund(m, body)
	case get && len(seg) == 5 && strings.HasPrefix(p, "v3/refund/domestic/refunds/"):
		return s.queryRefund(m, q, seg[4])
	case get && p == "v3/certificates":
		return s.certificates(m)
	}
	return 404, errAnswer(404, "RESOURCE_NOT_EXISTS", "无此接口")
}

// fields reads a JSON object body and checks fields, keeping the first
// problem as a PARAM_ERROR with a JSON-pointer field.
type fields struct {
	obj map[string]any
	err *apiError
}

func decodeObject(body []byte) (map[string]any, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return nil, paramError("/", nil, "请求体不是合法的 JSON 对象")
	}
	if dec.More() {
		return nil, paramError("/", nil, "请求体含有多余内容")
	}
	return obj, nil
}

func (f *fields) fail(field string, v any, issue string) {
	if f.err == nil {
		f.err = paramError(field, v, issue)
	}
}

// str returns the string at /name (one level, or "a/b" for nested).
func (f *fields) str(ptr string, required bool, maxRunes int) string {
	v, present := f.lookup(ptr)
	if !present {
		if required {
			f.fail(ptr, nil, "缺少必填参数")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		f.fail(ptr, v, "参数类型应为字符串")
		return ""
	}
	if required && s == "" {
		f.fail(ptr, s, "参数不能为空")
	}
	if !utf8.ValidString(s) {
		f.fail(ptr, nil, "参数不是合法的 UTF-8")
	}
	if utf8.RuneCountInString(s) > maxRunes {
		f.fail(ptr, s, fmt.Sprintf("长度超过 %d", maxRunes))
	}
	for _, r := range s {
		if r > 0xFFFF {
			f.fail(ptr, s, "含有不支持的字符（如 emoji）")
			break
		}
	}
	return s
}

func (f *fields) int(ptr string, required bool) (int64, bool) {
	v, present := f.lookup(ptr)
	if !present {
		if required {
			f.fail(ptr, nil, "缺少必填参数")
		}
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		f.fail(ptr, v, "参数类型应为整数")
		return 0, false
	}
	i, err := n.Int64()
	if err != nil {
		f.fail(ptr, n.String(), "参数类型应为整数")
		return 0, false
	}
	return i, true
}

func (f *fields) lookup(ptr string) (any, bool) {
	var cur any = f.obj
	for _, k := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

var reOutTradeNo = regexp.MustCompile(`^[0-9A-Za-z_\-*|]{6,32}$`)

type orderKey struct{ mchid, sub, no string }

type order struct {
	key       orderKey
	partner   bool
	appid     string // appid or sp_appid
	subAppID  string
	desc      string
	attach    string
	notifyURL string
	total     int64
	expire    time.Time
	expireRaw string // time_expire as sent
	canonical string
	codeURL   string
	created   time.Time

	state       string
	txnID       string
	successTime time.Time
	openid      string
	refunded    int64
}

func (s *Sandbox) createOrder(m *merchant, body []byte, partner bool) (int, any) {
	obj, ae := decodeObject(body)
	if ae != nil {
		return ae.status, ae
	}
	f := &fields{obj: obj}
	var appid, mchid, sub, subApp string
	if partner {
		appid, mchid = f.str("/sp_appid", true, 32), f.str("/sp_mchid", true, 32)
		subApp, sub = f.str("/sub_appid", false, 32), f.str("/sub_mchid", true, 32)
	} else {
		appid, mchid = f.str("/appid", true, 32), f.str("/mchid", true, 32)
	}
	desc := f.str("/description", true, 127)
	no := f.str("/out_trade_no", true, 32)
	if f.err == nil && !reOutTradeNo.MatchString(no) {
		f.fail("/out_trade_no", no, "商户订单号须为 6-32 位数字、大小写字母、_-|*")
	}
	now := s.now()
	var expire time.Time
	te := f.str("/time_expire", false, 64)
	if te != "" && f.err == nil {
		t, err := time.Parse(time.RFC3339, te)
		switch {
		case err != nil:
			f.fail("/time_expire", te, "时间格式须为 RFC 3339（yyyy-MM-DDTHH:mm:ss+TIMEZONE）")
		case strings.HasSuffix(strings.ToUpper(te), "Z"):
			// The documents ask for +TIMEZONE; whether Z passes is not
			// known, so the sandbox refuses it (wechatpay-v3.md §7.1).
			f.fail("/time_expire", te, "时区须写作 +08:00 形式")
		case !t.After(now):
			f.fail("/time_expire", te, "订单失效时间已过")
		default:
			expire = t
		}
	}
	attach := f.str("/attach", false, 128)
	notifyURL := f.str("/notify_url", true, 255)
	if f.err == nil {
		u, err := url.Parse(notifyURL)
		if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			f.fail("/notify_url", notifyURL, "通知地址须为绝对 URL")
		} else if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			f.fail("/notify_url", notifyURL, "通知地址不能携带参数")
		}
	}
	if _, ok := f.lookup("/amount"); !ok {
		f.fail("/amount", nil, "缺少必填参数")
	}
	total, _ := f.int("/amount/total", true)
	if f.err == nil && (total < 1 || total > 100_000_000_00) {
		f.fail("/amount/total", total, "金额须为正整数（分）")
	}
	if cur := f.str("/amount/currency", false, 16); cur != "" && cur != "CNY" {
		f.fail("/amount/currency", cur, "币种仅支持 CNY")
	}
	if f.err != nil {
		return f.err.status, f.err
	}
	if mchid != m.mchid {
		return 400, errAnswer(400, "INVALID_REQUEST", "商户号与请求签名中的商户号不一致")
	}
	if appid != m.appid {
		return 400, errAnswer(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	}
	if partner {
		want, ok := m.subs[sub]
		if !ok {
			return 400, errAnswer(400, "INVALID_REQUEST", "子商户号与服务商不存在绑定关系")
		}
		if subApp != "" && subApp != want {
			return 400, errAnswer(400, "APPID_MCHID_NOT_MATCH", "sub_appid和sub_mchid不匹配")
		}
	}
	canon, _ := json.Marshal(obj) // map keys sorted: key order does not matter
	key := orderKey{m.mchid, sub, no}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orders[key]; o != nil {
		switch {
		case o.state == "SUCCESS" || o.state == "REFUND":
			return errPaid.status, errPaid
		case o.state == "CLOSED":
			return errClosed.status, errClosed
		case o.canonical != string(canon):
			return errUsed.status, errUsed
		}
		return 200, map[string]string{"code_url": o.codeURL}
	}
	o := &order{
		key: key, partner: partner, appid: appid, subAppID: subApp, desc: desc, attach: attach,
		notifyURL: notifyURL, total: total, expire: expire, expireRaw: te, canonical: string(canon),
		codeURL: "weixin://wxpay/bizpayurl?pr=" + randAlnum(9), created: now, state: "NOTPAY",
	}
	s.orders[key] = o
	return 200, map[string]string{"code_url": o.codeURL}
}

// merchantQuery checks the mchid query parameters against the signer.
func merchantQuery(m *merchant, q url.Values, partner bool) (sub string, ae *apiError) {
	if !partner {
		if q.Get("mchid") == "" {
			return "", &apiError{status: 400, Code: "PARAM_ERROR", Message: "缺少参数 mchid", Detail: &errorDetail{Field: "mchid", Issue: "缺少必填参数", Location: "query"}}
		}
		if q.Get("mchid") != m.mchid {
			return "", errAnswer(400, "INVALID_REQUEST", "商户号与请求签名中的商户号不一致")
		}
		return "", nil
	}
	if q.Get("sp_mchid") == "" || q.Get("sub_mchid") == "" {
		return "", &apiError{status: 400, Code: "PARAM_ERROR", Message: "缺少参数 sp_mchid 或 sub_mchid", Detail: &errorDetail{Field: "sp_mchid", Issue: "缺少必填参数", Location: "query"}}
	}
	if q.Get("sp_mchid") != m.mchid {
		return "", errAnswer(400, "INVALID_REQUEST", "服务商商户号与请求签名中的商户号不一致")
	}
	if _, ok := m.subs[q.Get("sub_mchid")]; !ok {
		return "", errAnswer(400, "INVALID_REQUEST", "子商户号与服务商不存在绑定关系")
	}
	return q.Get("sub_mchid"), nil
}

func (s *Sandbox) queryOrder(m *merchant, q url.Values, partner bool, no, txnID string) (int, any) {
	sub, ae := merchantQuery(m, q, partner)
	if ae != nil {
		return ae.status, ae
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *order
	if txnID != "" {
		o = s.byTxn[txnID]
		if o != nil && (o.key.mchid != m.mchid || o.key.sub != sub) {
			o = nil
		}
	} else {
		o = s.orders[orderKey{m.mchid, sub, no}]
	}
	if o == nil || o.partner != partner {
		return errNotExist.status, errNotExist
	}
	return 200, o.transaction()
}

var stateDesc = map[string]string{
	"NOTPAY": "未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭", "REFUND": "转入退款",
}

// transaction is the Transaction object of query answers and payment
// notifications (wechatpay-v3.md §7.2), direct or partner.
func (o *order) transaction() map[string]any {
	t := map[string]any{
		"out_trade_no": o.key.no, "trade_type": "NATIVE", "trade_state": o.state,
		"trade_state_desc": stateDesc[o.state],
	}
	amount := map[string]any{"total": o.total, "currency": "CNY", "payer_currency": "CNY"}
	if o.partner {
		t["sp_appid"], t["sp_mchid"], t["sub_mchid"] = o.appid, o.key.mchid, o.key.sub
		if o.subAppID != "" {
			t["sub_appid"] = o.subAppID
		}
	} else {
		t["appid"], t["mchid"] = o.appid, o.key.mchid
	}
	if o.attach != "" {
		t["attach"] = o.attach
	}
	if o.txnID != "" {
		t["transaction_id"] = o.txnID
		t["bank_type"] = "OTHERS"
		t["success_time"] = o.successTime.In(beijing).Format(time.RFC3339)
		amount["payer_total"] = o.total
		if o.partner {
			t["payer"] = map[string]string{"sp_openid": o.openid}
		} else {
			t["payer"] = map[string]string{"openid": o.openid}
		}
	}
	t["amount"] = amount
	return t
}

var beijing = time.FixedZone("CST", 8*3600)

func (s *Sandbox) closeOrder(m *merchant, body []byte, partner bool, no string) (int, any) {
	obj, ae := decodeObject(body)
	if ae != nil {
		return ae.status, ae
	}
	f := &fields{obj: obj}
	q := url.Values{}
	if partner {
		q.Set("sp_mchid", f.str("/sp_mchid", true, 32))
		q.Set("sub_mchid", f.str("/sub_mchid", true, 32))
	} else {
		q.Set("mchid", f.str("/mchid", true, 32))
	}
	if f.err != nil {
		return f.err.status, f.err
	}
	sub, ae := merchantQuery(m, q, partner)
	if ae != nil {
		return ae.status, ae
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[orderKey{m.mchid, sub, no}]
	if o == nil || o.partner != partner {
		return errNotExist.status, errNotExist
	}
	switch o.state {
	case "SUCCESS", "REFUND":
		return errPaid.status, errPaid
	}
	o.state = "CLOSED"
	return http.StatusNoContent, nil
}
