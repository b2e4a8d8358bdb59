package wechatpay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"printpay.dev/printpay/server/wechatpay"
)

const fuzzAPIv3Key = "0123456789abcdefghijABCDEFGHIJ01"

// fuzzKey is a fixed test-only RSA key (testdata/fuzz_key.pem): fuzzing
// instruments math/big, which makes generating keys far too slow. It stands
// for both the merchant's key and WeChat's.
func fuzzKey(t testing.TB) *rsa.PrivateKey {
	b, err := os.ReadFile("testdata/fuzz_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	k, err := wechatpay.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const fuzzPubKeyID = "PUB_KEY_ID_0110000000000000000000000000000001"

func fuzzClient(t testing.TB) *wechatpay.Client {
	k := fuzzKey(t)
	c, err := wechatpay.New(context.Background(), wechatpay.Config{
		ID: "fuzz", AppID: "wx0000000000000001", MchID: "1900000001", Serial: "3775B6A45ACD588826D15E583A95F5DD00000001",
		PrivateKey: k, APIv3Key: []byte(fuzzAPIv3Key), PublicKey: &k.PublicKey, PublicKeyID: fuzzPubKeyID,
		NotifyURL: "https://pay.example.com/v1/wechatpay/notify/fuzz",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signedRequest builds a notification request signed by the WeChat Pay
// public key's private half.
func signedRequest(t testing.TB, key *rsa.PrivateKey, body []byte) *http.Request {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := "fuzznonce0123456789abcdefghijkl"
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/wechatpay/notify/fuzz", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Wechatpay-Serial", fuzzPubKeyID)
	r.Header.Set("Wechatpay-Timestamp", ts)
	r.Header.Set("Wechatpay-Nonce", nonce)
	r.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	r.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	return r
}

// envelope encrypts plain as WeChat does and wraps it in a notification.
func envelope(t testing.TB, event, origType string, plain []byte) []byte {
	b, _ := aes.NewCipher([]byte(fuzzAPIv3Key))
	g, _ := cipher.NewGCM(b)
	nonce := "abcdefghijkl"
	ct := base64.StdEncoding.EncodeToString(g.Seal(nil, []byte(nonce), plain, []byte(origType)))
	out, err := json.Marshal(map[string]any{
		"id": "EV-fuzz", "create_time": "2026-11-26T10:00:00+08:00", "resource_type": "encrypt-resource",
		"event_type": event, "summary": "支付成功",
		"resource": map[string]string{"original_type": origType, "algorithm": "AEAD_AES_256_GCM", "ciphertext": ct, "associated_data": origType, "nonce": nonce},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fuzzTxn(no string, total int64, mchid string) []byte {
	return []byte(fmt.Sprintf(`{"appid":"wx0000000000000001","mchid":%q,"out_trade_no":%q,"transaction_id":"4200000000000000000000000001","trade_type":"NATIVE","trade_state":"SUCCESS","success_time":"2026-11-26T10:00:00+08:00","amount":{"total":%d,"payer_total":%d,"currency":"CNY"}}`, mchid, no, total, total))
}

// TestNotifySignedSeeds sends FuzzNotify's kind of input through the whole
// signed path (signature, decryption, parsing): arbitrary bodies validly
// signed, and arbitrary resources validly encrypted and signed. Nothing may
// panic, and only the matching transaction may mark the order paid.
func TestNotifySignedSeeds(t *testing.T) {
	c, key := fuzzClient(t), fuzzKey(t)
	seeds := []struct{ body, plain []byte }{
		{[]byte(`{}`), fuzzTxn("FuzzOrder1", 100, "1900000001")},
		{[]byte(`{"resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","nonce":"abcdefghijkl"}}`), fuzzTxn("FuzzOrder1", 99, "1900000001")},
		{[]byte(`{"resource":null}`), fuzzTxn("FuzzOrder1", 100, "1900000002")},
		{[]byte(`not json`), []byte(`{"out_trade_no":"FuzzOrder1","trade_state":"SUCCESS","success_time":"yesterday"}`)},
		{[]byte(``), []byte(`{"out_trade_no":"FuzzOrder1","trade_state":"SUCCESS","amount":{"total":"100"}}`)},
		{[]byte(`[]`), []byte(`{"out_refund_no":"R1","refund_status":"SUCCESS","mchid":"1900000001"}`)},
	}
	for i, sd := range seeds {
		store := newStore()
		store.add(wechatpay.OrderRecord{OutTradeNo: "FuzzOrder1", AmountFen: 100})
		h := wechatpay.NewNotifyHandler(c, store)
		for _, b := range [][]byte{sd.body, envelope(t, "TRANSACTION.SUCCESS", "transaction", sd.plain), envelope(t, "REFUND.SUCCESS", "refund", sd.plain)} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, signedRequest(t, key, b))
			if w.Code != 204 && (w.Code < 400 || w.Code > 599) {
				t.Fatalf("seed %d: status %d", i, w.Code)
			}
		}
		tx, paid := store.isPaid("FuzzOrder1")
		if wantPaid := i == 0; paid != wantPaid || (paid && (tx.AmountFen != 100 || tx.MchID != "1900000001")) {
			t.Fatalf("seed %d: paid %t %+v", i, paid, tx)
		}
	}
}

// TestNotifyHandlerBasics covers what the fuzz seeds prove in passing, by
// name: the matching transaction pays, the others do not.
func TestNotifyHandlerBasics(t *testing.T) {
	c, key := fuzzClient(t), fuzzKey(t)
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		paid   bool
	}{
		{"valid", func() *http.Request {
			return signedRequest(t, key, envelope(t, "TRANSACTION.SUCCESS", "transaction", fuzzTxn("FuzzOrder1", 100, "1900000001")))
		}, 204, true},
		{"other amount", func() *http.Request {
			return signedRequest(t, key, envelope(t, "TRANSACTION.SUCCESS", "transaction", fuzzTxn("FuzzOrder1", 101, "1900000001")))
		}, 400, false},
		{"other mchid", func() *http.Request {
			return signedRequest(t, key, envelope(t, "TRANSACTION.SUCCESS", "transaction", fuzzTxn("FuzzOrder1", 100, "1900000009")))
		}, 400, false},
		{"unknown order", func() *http.Request {
			return signedRequest(t, key, envelope(t, "TRANSACTION.SUCCESS", "transaction", fuzzTxn("FuzzOrder2", 100, "1900000001")))
		}, 404, false},
		{"probe signature", func() *http.Request {
			r := signedRequest(t, key, envelope(t, "TRANSACTION.SUCCESS", "transaction", fuzzTxn("FuzzOrder1", 100, "1900000001")))
			s := r.Header.Get("Wechatpay-Signature")
			r.Header.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+s[19:])
			return r
		}, 401, false},
		{"no signature headers", func() *http.Request {
			r := signedRequest(t, key, envelope(t, "TRANSACTION.SUCCESS", "transaction", fuzzTxn("FuzzOrder1", 100, "1900000001")))
			r.Header.Del("Wechatpay-Signature")
			return r
		}, 401, false},
		{"GET", func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, 405, false},
		{"unhandled event acked", func() *http.Request {
			return signedRequest(t, key, envelope(t, "TRANSACTION.OTHER", "other", []byte(`{}`)))
		}, 204, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := newStore()
			store.add(wechatpay.OrderRecord{OutTradeNo: "FuzzOrder1", AmountFen: 100})
			w := httptest.NewRecorder()
			wechatpay.NewNotifyHandler(c, store).ServeHTTP(w, tc.req())
			_, paid := store.isPaid("FuzzOrder1")
			if w.Code != tc.status || paid != tc.paid {
				t.Fatalf("status %d paid %t, want %d %t (%s)", w.Code, paid, tc.status, tc.paid, w.Body)
			}
		})
	}
}
