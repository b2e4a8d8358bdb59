package sandbox

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	keysOnce sync.Once
	tKeys    *Keys
	tMchKey  *rsa.PrivateKey
	keysErr  error
)

func testKeys(t *testing.T) (*Keys, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		if tKeys, keysErr = GenerateKeys(); keysErr == nil {
			tMchKey, keysErr = rsa.GenerateKey(rand.Reader, 2048)
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return tKeys, tMchKey
}

type fixture struct {
	sb    *Sandbox
	url   string
	creds Credentials
}

func newFixture(t *testing.T, cfg Config, m Merchant) *fixture {
	t.Helper()
	keys, mk := testKeys(t)
	cfg.Keys = keys
	sb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { srv.Close(); sb.Close() })
	m.PrivateKey = mk
	creds, err := sb.AddMerchant(m)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sb: sb, url: srv.URL, creds: creds}
}

// call is a hand-made merchant request, signed over exactly what is sent
// unless a field overrides it.
type call struct {
	method, uri string // uri: the request-target as sent, e.g. "/v3/...?mchid=1"
	body        string
	ctype       string
	reqSerial   string // Wechatpay-Serial request header
	// overrides
	signURI string
	nonce   string
	ts      int64
	key     *rsa.PrivateKey
	serial  string
	mchid   string
	auth    string // whole Authorization header
}

type answer struct {
	status int
	header http.Header
	body   []byte
	code   string
	detail map[string]any
}

func (f *fixture) do(t *testing.T, c call) answer {
	t.Helper()
	if c.ts == 0 {
		c.ts = time.Now().Unix()
	}
	if c.nonce == "" {
		c.nonce = randAlnum(32)
	}
	if c.key == nil {
		c.key = f.creds.PrivateKey
	}
	if c.serial == "" {
		c.serial = f.creds.Serial
	}
	if c.mchid == "" {
		c.mchid = f.creds.MchID
	}
	if c.signURI == "" {
		c.signURI = c.uri
	}
	if c.ctype == "" && c.method == http.MethodPost {
		c.ctype = "application/json"
	}
	msg := fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", c.method, c.signURI, c.ts, c.nonce, c.body)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(nil, c.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	auth := c.auth
	if auth == "" {
		auth = fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
			c.mchid, c.nonce, c.ts, c.serial, base64.StdEncoding.EncodeToString(sig))
	}
	req, err := http.NewRequest(c.method, f.url+c.uri, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	if c.reqSerial != "" {
		req.Header.Set("Wechatpay-Serial", c.reqSerial)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	var e struct {
		Code   string         `json:"code"`
		Detail map[string]any `json:"detail"`
	}
	_ = json.Unmarshal(b, &e)
	a.code, a.detail = e.Code, e.Detail
	return a
}

// verifyAnswer checks an answer's signature as the SDK does.
func (f *fixture) verifyAnswer(t *testing.T, a answer) string {
	t.Helper()
	serial := a.header.Get("Wechatpay-Serial")
	var pub *rsa.PublicKey
	switch serial {
	case f.sb.keys.PublicKeyID:
		pub = &f.sb.keys.PublicKey.PublicKey
	case f.sb.keys.CertSerial:
		pub = f.sb.keys.Cert.PublicKey.(*rsa.PublicKey)
	default:
		t.Fatalf("answer signed by unknown serial %q", serial)
	}
	ts, _ := strconv.ParseInt(a.header.Get("Wechatpay-Timestamp"), 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d > time.Minute || d < -time.Minute {
		t.Fatalf("answer timestamp %d off by %s", ts, d)
	}
	msg := fmt.Sprintf("%d\n%s\n%s\n", ts, a.header.Get("Wechatpay-Nonce"), a.body)
	sig, err := base64.StdEncoding.DecodeString(a.header.Get("Wechatpay-Signature"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("answer %d signature: %v", a.status, err)
	}
	if a.header.Get("Request-Id") == "" || a.header.Get("Wechatpay-Signature-Type") != authScheme {
		t.Fatalf("answer headers %v", a.header)
	}
	return serial
}

func orderBody(creds Credentials, no string, mut func(m map[string]any)) string {
	m := map[string]any{
		"appid": creds.AppID, "mchid": creds.MchID, "description": "Shop-Till-1", "out_trade_no": no,
		"notify_url": "https://pay.example.com/notify", "amount": map[string]any{"total": 100, "currency": "CNY"},
	}
	if mut != nil {
		mut(m)
	}
	b, _ := json.Marshal(m)
	return string(b) + "\n"
}

func TestParseAuthorization(t *testing.T) {
	ok := `WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="n1",timestamp="1554208460",serial_no="ABC",signature="c2ln"`
	cases := []struct {
		name, h, wantErr string
	}{
		{"ok", ok, ""},
		{"any order", `WECHATPAY2-SHA256-RSA2048 signature="c2ln",serial_no="ABC",timestamp="1554208460",nonce_str="n1",mchid="1900009191"`, ""},
		{"other scheme", strings.Replace(ok, "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SM2-WITH-SM3", 1), "scheme"},
		{"missing serial", strings.Replace(ok, `,serial_no="ABC"`, "", 1), "serial_no missing"},
		{"twice", ok + `,mchid="1"`, "mchid twice"},
		{"unquoted", strings.Replace(ok, `"n1"`, `n1`, 1), "malformed"},
		{"bad timestamp", strings.Replace(ok, `"1554208460"`, `"soon"`, 1), "not an integer"},
		{"unknown field", ok + `,extra="1"`, "unknown field"},
		{"empty nonce", strings.Replace(ok, `"n1"`, `""`, 1), "bad nonce"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := parseAuthorization(c.h)
			if c.wantErr == "" {
				if err != nil || a.mchid != "1900009191" || a.timestamp != 1554208460 || a.signature != "c2ln" {
					t.Fatalf("%+v %v", a, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %v, want %q", err, c.wantErr)
			}
		})
	}
}

// TestRequestStrictness: every way a merchant's request can be wrong is
// refused, and every answer — errors included — is signed.
func TestRequestStrictness(t *testing.T) {
	f := newFixture(t, Config{Mode: ModePublicKey}, Merchant{})
	native := "/v3/pay/transactions/native"
	good := orderBody(f.creds, "Strict0001", nil)
	fixedNonce := randAlnum(32)
	cases := []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"ok", call{method: "POST", uri: native, body: good, nonce: fixedNonce}, 200, ""},
		{"nonce reused", call{method: "POST", uri: native, body: good, nonce: fixedNonce}, 401, "SIGN_ERROR"},
		{"wrong key", call{method: "POST", uri: native, body: good, key: f.sb.keys.CertKey}, 401, "SIGN_ERROR"},
		{"wrong serial", call{method: "POST", uri: native, body: good, serial: strings.Repeat("0", 40)}, 401, "SIGN_ERROR"},
		{"unknown mchid", call{method: "POST", uri: native, body: good, mchid: "1111111111"}, 401, "SIGN_ERROR"},
		{"clock behind", call{method: "POST", uri: native, body: good, ts: time.Now().Add(-310 * time.Second).Unix()}, 401, "SIGN_ERROR"},
		{"clock ahead", call{method: "POST", uri: native, body: good, ts: time.Now().Add(310 * time.Second).Unix()}, 401, "SIGN_ERROR"},
		{"signed other body", call{method: "POST", uri: native, body: good + " "}, 200, ""}, // body and signature agree: fine
		{"no authorization", call{method: "POST", uri: native, body: good, auth: "Bearer x"}, 401, "SIGN_ERROR"},
		{"decoded path signed", call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/A%7CB%2A01?mchid=" + f.creds.MchID,
			signURI: "/v3/pay/transactions/out-trade-no/A|B*01?mchid=" + f.creds.MchID}, 401, "SIGN_ERROR"},
		{"raw path signed", call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/A%7CB%2A01?mchid=" + f.creds.MchID}, 404, "ORDER_NOT_EXIST"},
		{"form content type", call{method: "POST", uri: native, body: good, ctype: "application/x-www-form-urlencoded"}, 400, "INVALID_REQUEST"},
		{"unknown Wechatpay-Serial", call{method: "POST", uri: native, body: good, reqSerial: "PUB_KEY_ID_0000"}, 400, "INVALID_REQUEST"},
		{"certificate serial in public-key mode", call{method: "POST", uri: native, body: good, reqSerial: f.sb.keys.CertSerial}, 400, "INVALID_REQUEST"},
		{"unknown path", call{method: "GET", uri: "/v3/pay/transactions/nothing"}, 404, "RESOURCE_NOT_EXISTS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, c.c)
			if a.status != c.status || a.code != c.code {
				t.Fatalf("got %d %s (%s), want %d %s", a.status, a.code, a.body, c.status, c.code)
			}
			if serial := f.verifyAnswer(t, a); serial != f.sb.keys.PublicKeyID {
				t.Fatalf("signed by %s in public-key mode", serial)
			}
		})
	}
}

func TestFieldRules(t *testing.T) {
	f := newFixture(t, Config{Mode: ModePublicKey}, Merchant{})
	later := time.Now().In(beijing).Add(time.Hour).Format(time.RFC3339)
	cases := []struct {
		name   string
		mut    func(m map[string]any)
		status int
		code   string
		field  string
	}{
		{"ok", func(m map[string]any) { m["time_expire"] = later }, 200, "", ""},
		{"no description", func(m map[string]any) { delete(m, "description") }, 400, "PARAM_ERROR", "/description"},
		{"description too long", func(m map[string]any) { m["description"] = strings.Repeat("商", 128) }, 400, "PARAM_ERROR", "/description"},
		{"emoji", func(m map[string]any) { m["description"] = "Shop 😀" }, 400, "PARAM_ERROR", "/description"},
		{"short out_trade_no", func(m map[string]any) { m["out_trade_no"] = "abc" }, 400, "PARAM_ERROR", "/out_trade_no"},
		{"bad out_trade_no char", func(m map[string]any) { m["out_trade_no"] = "abc.def.g" }, 400, "PARAM_ERROR", "/out_trade_no"},
		{"zero total", func(m map[string]any) { m["amount"] = map[string]any{"total": 0} }, 400, "PARAM_ERROR", "/amount/total"},
		{"fractional total", func(m map[string]any) { m["amount"] = map[string]any{"total": 1.5} }, 400, "PARAM_ERROR", "/amount/total"},
		{"string total", func(m map[string]any) { m["amount"] = map[string]any{"total": "100"} }, 400, "PARAM_ERROR", "/amount/total"},
		{"USD", func(m map[string]any) { m["amount"] = map[string]any{"total": 1, "currency": "USD"} }, 400, "PARAM_ERROR", "/amount/currency"},
		{"no amount", func(m map[string]any) { delete(m, "amount") }, 400, "PARAM_ERROR", "/amount"},
		{"notify url with query", func(m map[string]any) { m["notify_url"] = "https://pay.example.com/n?a=1" }, 400, "PARAM_ERROR", "/notify_url"},
		{"relative notify url", func(m map[string]any) { m["notify_url"] = "/n" }, 400, "PARAM_ERROR", "/notify_url"},
		{"time_expire in UTC", func(m map[string]any) { m["time_expire"] = time.Now().UTC().Add(time.Hour).Format(time.RFC3339) }, 400, "PARAM_ERROR", "/time_expire"},
		{"time_expire v2 format", func(m map[string]any) { m["time_expire"] = "20261126101010" }, 400, "PARAM_ERROR", "/time_expire"},
		{"time_expire past", func(m map[string]any) { m["time_expire"] = time.Now().In(beijing).Add(-time.Hour).Format(time.RFC3339) }, 400, "PARAM_ERROR", "/time_expire"},
		{"attach too long", func(m map[string]any) { m["attach"] = strings.Repeat("a", 129) }, 400, "PARAM_ERROR", "/attach"},
		{"other appid", func(m map[string]any) { m["appid"] = "wx0000" }, 400, "APPID_MCHID_NOT_MATCH", ""},
		{"other mchid in body", func(m map[string]any) { m["mchid"] = "1234" }, 400, "INVALID_REQUEST", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := orderBody(f.creds, fmt.Sprintf("Field%05d", i), c.mut)
			a := f.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: body})
			if a.status != c.status || a.code != c.code {
				t.Fatalf("got %d %s (%s)", a.status, a.code, a.body)
			}
			if c.field != "" && (a.detail == nil || a.detail["field"] != c.field || a.detail["location"] != "body") {
				t.Fatalf("detail %v, want field %s", a.detail, c.field)
			}
			f.verifyAnswer(t, a)
		})
	}
	a := f.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: "{not json"})
	if a.status != 400 || a.code != "PARAM_ERROR" {
		t.Fatalf("malformed JSON: %d %s", a.status, a.code)
	}
}

// TestIdempotencyAndClose covers the order rules and a signed 204.
func TestIdempotencyAndClose(t *testing.T) {
	f := newFixture(t, Config{Mode: ModeCertificate}, Merchant{})
	native := "/v3/pay/transactions/native"
	first := f.do(t, call{method: "POST", uri: native, body: orderBody(f.creds, "Idem000001", nil)})
	// The same parameters in another key order are the same order.
	reordered := fmt.Sprintf(`{"amount":{"currency":"CNY","total":100},"notify_url":"https://pay.example.com/notify","out_trade_no":"Idem000001","description":"Shop-Till-1","mchid":%q,"appid":%q}`, f.creds.MchID, f.creds.AppID)
	second := f.do(t, call{method: "POST", uri: native, body: reordered})
	if first.status != 200 || second.status != 200 || !bytes.Equal(first.body, second.body) {
		t.Fatalf("identical retry: %s / %s", first.body, second.body)
	}
	changed := f.do(t, call{method: "POST", uri: native, body: orderBody(f.creds, "Idem000001", func(m map[string]any) { m["attach"] = "x" })})
	if changed.status != 403 || changed.code != "OUT_TRADE_NO_USED" {
		t.Fatalf("changed retry: %d %s", changed.status, changed.code)
	}
	closeURI := "/v3/pay/transactions/out-trade-no/Idem000001/close"
	if a := f.do(t, call{method: "POST", uri: closeURI, body: `{"mchid":"1"}`}); a.status != 400 {
		t.Fatalf("close with another mchid: %d", a.status)
	}
	a := f.do(t, call{method: "POST", uri: closeURI, body: fmt.Sprintf(`{"mchid":%q}`, f.creds.MchID)})
	if a.status != 204 || len(a.body) != 0 {
		t.Fatalf("close: %d %s", a.status, a.body)
	}
	if serial := f.verifyAnswer(t, a); serial != f.sb.keys.CertSerial {
		t.Fatalf("204 signed by %s in certificate mode", serial)
	}
	if a := f.do(t, call{method: "POST", uri: native, body: orderBody(f.creds, "Idem000001", nil)}); a.status != 400 || a.code != "ORDER_CLOSED" {
		t.Fatalf("order after close: %d %s", a.status, a.code)
	}
	if a := f.do(t, call{method: "POST", uri: "/v3/pay/transactions/out-trade-no/Nope000001/close", body: fmt.Sprintf(`{"mchid":%q}`, f.creds.MchID)}); a.status != 404 || a.code != "ORDER_NOT_EXIST" {
		t.Fatalf("close unknown: %d %s", a.status, a.code)
	}
}

func TestPartnerRules(t *testing.T) {
	f := newFixture(t, Config{Mode: ModePublicKey}, Merchant{SubMchID: "1900000777", SubAppID: "wxsub0001"})
	body := func(mut func(m map[string]any)) string {
		m := map[string]any{
			"sp_appid": f.creds.AppID, "sp_mchid": f.creds.MchID, "sub_mchid": f.creds.SubMchID, "sub_appid": "wxsub0001",
			"description": "Shop", "out_trade_no": "Part000001", "notify_url": "https://pay.example.com/n",
			"amount": map[string]any{"total": 100},
		}
		if mut != nil {
			mut(m)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	uri := "/v3/pay/partner/transactions/native"
	if a := f.do(t, call{method: "POST", uri: uri, body: body(nil)}); a.status != 200 {
		t.Fatalf("partner order: %d %s", a.status, a.body)
	}
	for name, c := range map[string]struct {
		mut  func(m map[string]any)
		code string
	}{
		"unbound sub_mchid": {func(m map[string]any) { m["sub_mchid"] = "1900000778" }, "INVALID_REQUEST"},
		"other sub_appid":   {func(m map[string]any) { m["sub_appid"] = "wxother" }, "APPID_MCHID_NOT_MATCH"},
		"no sub_mchid":      {func(m map[string]any) { delete(m, "sub_mchid") }, "PARAM_ERROR"},
		"other sp_appid":    {func(m map[string]any) { m["sp_appid"] = "wxother" }, "APPID_MCHID_NOT_MATCH"},
	} {
		t.Run(name, func(t *testing.T) {
			if a := f.do(t, call{method: "POST", uri: uri, body: body(c.mut)}); a.status != 400 || a.code != c.code {
				t.Fatalf("got %d %s (%s)", a.status, a.code, a.body)
			}
		})
	}
	q := "/v3/pay/partner/transactions/out-trade-no/Part000001?sp_mchid=" + f.creds.MchID + "&sub_mchid="
	if a := f.do(t, call{method: "GET", uri: q + f.creds.SubMchID}); a.status != 200 || !bytes.Contains(a.body, []byte(`"sub_mchid":"1900000777"`)) {
		t.Fatalf("partner query: %d %s", a.status, a.body)
	}
	if a := f.do(t, call{method: "GET", uri: q + "1900000778"}); a.status != 400 {
		t.Fatalf("partner query for an unbound sub_mchid: %d", a.status)
	}
	// The direct query does not see partner orders.
	if a := f.do(t, call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/Part000001?mchid=" + f.creds.MchID}); a.status != 404 {
		t.Fatalf("direct query of a partner order: %d", a.status)
	}
}

// TestMigratingAnswerKey: answers follow the request's Wechatpay-Serial.
func TestMigratingAnswerKey(t *testing.T) {
	f := newFixture(t, Config{Mode: ModeMigrating}, Merchant{})
	uri := "/v3/pay/transactions/out-trade-no/Nope000001?mchid=" + f.creds.MchID
	for _, c := range []struct{ reqSerial, want string }{
		{"", f.sb.keys.CertSerial},
		{f.sb.keys.PublicKeyID, f.sb.keys.PublicKeyID},
		{f.sb.keys.CertSerial, f.sb.keys.CertSerial},
	} {
		a := f.do(t, call{method: "GET", uri: uri, reqSerial: c.reqSerial})
		if got := f.verifyAnswer(t, a); got != c.want {
			t.Fatalf("request serial %q: answer signed by %s, want %s", c.reqSerial, got, c.want)
		}
	}
}

func TestCertificates(t *testing.T) {
	f := newFixture(t, Config{Mode: ModeCertificate}, Merchant{})
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(f.sb.keys.CertSerial) {
		t.Fatalf("serial %q", f.sb.keys.CertSerial)
	}
	a := f.do(t, call{method: "GET", uri: "/v3/certificates"})
	f.verifyAnswer(t, a)
	var resp struct {
		Data []struct {
			SerialNo string `json:"serial_no"`
			Enc      struct {
				Algorithm, Nonce, Ciphertext string
				AD                           string `json:"associated_data"`
			} `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.body, &resp); err != nil || len(resp.Data) != 1 {
		t.Fatalf("%s %v", a.body, err)
	}
	d := resp.Data[0]
	blk, _ := aes.NewCipher([]byte(f.creds.APIv3Key))
	g, _ := cipher.NewGCM(blk)
	ct, _ := base64.StdEncoding.DecodeString(d.Enc.Ciphertext)
	plain, err := g.Open(nil, []byte(d.Enc.Nonce), ct, []byte(d.Enc.AD))
	if err != nil || !bytes.Equal(plain, f.sb.keys.CertPEM) || d.SerialNo != f.sb.keys.CertSerial || d.Enc.AD != "certificate" {
		t.Fatalf("certificate: %v", err)
	}
	pk := newFixture(t, Config{Mode: ModePublicKey}, Merchant{})
	if a := pk.do(t, call{method: "GET", uri: "/v3/certificates"}); a.status != 404 {
		t.Fatalf("public-key mode certificates: %d", a.status)
	}
}

func TestPayHook(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	var hits atomic.Int32
	ns := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(500)
	}))
	defer ns.Close()
	f := newFixture(t, Config{
		Mode: ModePublicKey, Now: func() time.Time { return time.Unix(0, now.Load()) },
		RetrySchedule: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond},
	}, Merchant{})
	body := orderBody(f.creds, "Hook000001", func(m map[string]any) {
		m["notify_url"] = ns.URL + "/n"
		m["time_expire"] = time.Now().In(beijing).Add(10 * time.Minute).Format(time.RFC3339)
	})
	if a := f.do(t, call{method: "POST", uri: "/v3/pay/transactions/native", body: body}); a.status != 200 {
		t.Fatalf("order: %d %s", a.status, a.body)
	}
	post := func(path string) int {
		resp, err := http.Post(f.url+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post("/sandbox/pay/Nope000001"); s != 404 {
		t.Fatalf("pay unknown: %d", s)
	}
	resp, _ := http.Get(f.url + "/sandbox/pay/Hook000001")
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("GET pay: %d", resp.StatusCode)
	}
	// Past time_expire the customer can no longer pay.
	now.Store(time.Now().Add(11 * time.Minute).UnixNano())
	if s := post("/sandbox/pay/Hook000001"); s != 409 {
		t.Fatalf("pay expired: %d", s)
	}
	now.Store(time.Now().UnixNano())
	if s := post("/sandbox/pay/Hook000001"); s != 200 {
		t.Fatalf("pay: %d", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.sb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Never acked: the first delivery plus one per schedule step.
	if n := hits.Load(); n != 4 {
		t.Fatalf("%d deliveries, want 4", n)
	}
	ds := f.sb.Deliveries()
	if len(ds) != 4 || ds[0].ID != ds[3].ID || ds[3].Attempt != 4 || ds[0].Status != 500 {
		t.Fatalf("deliveries %+v", ds)
	}
	if s := post("/sandbox/pay/Hook000001"); s != 409 {
		t.Fatalf("pay twice: %d", s)
	}
	// Once paid, the order is also found by its transaction_id.
	var paid struct {
		TransactionID string `json:"transaction_id"`
		TradeState    string `json:"trade_state"`
		SuccessTime   string `json:"success_time"`
	}
	byNo := f.do(t, call{method: "GET", uri: "/v3/pay/transactions/out-trade-no/Hook000001?mchid=" + f.creds.MchID})
	if err := json.Unmarshal(byNo.body, &paid); err != nil || paid.TradeState != "SUCCESS" || !strings.HasSuffix(paid.SuccessTime, "+08:00") {
		t.Fatalf("query: %s %v", byNo.body, err)
	}
	byID := f.do(t, call{method: "GET", uri: "/v3/pay/transactions/id/" + paid.TransactionID + "?mchid=" + f.creds.MchID})
	if byID.status != 200 || !bytes.Equal(byID.body, byNo.body) {
		t.Fatalf("query by id: %d %s", byID.status, byID.body)
	}
	if a := f.do(t, call{method: "GET", uri: "/v3/pay/transactions/id/4200000000000000000000000000?mchid=" + f.creds.MchID}); a.status != 404 {
		t.Fatalf("unknown transaction id: %d", a.status)
	}
}

func TestWriteFiles(t *testing.T) {
	f := newFixture(t, Config{Mode: ModeMigrating}, Merchant{})
	dir := t.TempDir()
	if err := f.creds.WriteFiles(dir, "127.0.0.1:9290"); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	blk, _ := pem.Decode(read(FilePrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil || !k.(*rsa.PrivateKey).Equal(f.creds.PrivateKey) {
		t.Fatalf("private key: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, FilePrivateKey)); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode())
	}
	if strings.TrimSpace(string(read(FileAPIv3Key))) != f.creds.APIv3Key || strings.TrimSpace(string(read(FilePublicKeyID))) != f.creds.PublicKeyID {
		t.Fatal("apiv3 key or public key id")
	}
	blk, _ = pem.Decode(read(FilePublicKey))
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil || !pub.(*rsa.PublicKey).Equal(f.creds.PublicKey) {
		t.Fatalf("public key: %v", err)
	}
	if !bytes.Equal(read(FilePlatformCert), f.sb.keys.CertPEM) {
		t.Fatal("platform certificate")
	}
	toml := string(read(FileMerchantTOML))
	for _, want := range []string{`sandbox = "127.0.0.1:9290"`, `mchid = "` + f.creds.MchID + `"`, `serial = "` + f.creds.Serial + `"`,
		`wechatpay_public_key_id = "` + f.creds.PublicKeyID + `"`, "platform_certs = true", filepath.Join(dir, FilePrivateKey)} {
		if !strings.Contains(toml, want) {
			t.Errorf("merchant.toml lacks %q:\n%s", want, toml)
		}
	}
}

func TestScaledRetrySchedule(t *testing.T) {
	s := ScaledRetrySchedule(1000)
	if len(s) != 15 || s[0] != 15*time.Millisecond || s[14] != 6*time.Hour/1000 {
		t.Fatalf("%v", s)
	}
	var total time.Duration
	for _, d := range RealRetrySchedule {
		total += d
	}
	if total != 24*time.Hour+4*time.Minute {
		t.Fatalf("real schedule totals %s, want 24h4m", total)
	}
}

// TestNonceWindow: a nonce is refused again within 10 minutes and
// forgotten after.
func TestNonceWindow(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	f := newFixture(t, Config{Mode: ModePublicKey, Now: func() time.Time { return time.Unix(0, now.Load()) }}, Merchant{})
	uri := "/v3/pay/transactions/out-trade-no/Nonce00001?mchid=" + f.creds.MchID
	nonce := randAlnum(32)
	at := func() int64 { return time.Unix(0, now.Load()).Unix() }
	if a := f.do(t, call{method: "GET", uri: uri, nonce: nonce, ts: at()}); a.status != 404 {
		t.Fatalf("first: %d %s", a.status, a.code)
	}
	now.Add(int64(9 * time.Minute))
	if a := f.do(t, call{method: "GET", uri: uri, nonce: nonce, ts: at()}); a.status != 401 {
		t.Fatalf("reused after 9m: %d", a.status)
	}
	now.Add(int64(2 * time.Minute))
	if a := f.do(t, call{method: "GET", uri: uri, nonce: nonce, ts: at()}); a.status != 404 {
		t.Fatalf("reused after 11m: %d %s", a.status, a.code)
	}
}
