package wechatpay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/wechatpay"
)

// RSA 2048 key generation is slow-ish: one set per test binary.
var (
	keysOnce sync.Once
	sbKeys   *sandbox.Keys
	mchKey   *rsa.PrivateKey
	keysErr  error
)

func testKeys(t testing.TB) (*sandbox.Keys, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		if sbKeys, keysErr = sandbox.GenerateKeys(); keysErr != nil {
			return
		}
		mchKey, keysErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return sbKeys, mchKey
}

// fakeStore is the server's order store as the handler and poller see it.
type fakeStore struct {
	mu        sync.Mutex
	orders    map[string]*wechatpay.OrderRecord
	paid      map[string]wechatpay.Transaction
	markCalls map[string]int
	closed    map[string]bool
	paidCh    chan string
	refunds   []wechatpay.RefundNotice
	refundCh  chan string
	failPaid  error // MarkPaid answers this when set
}

func newStore() *fakeStore {
	return &fakeStore{
		orders: map[string]*wechatpay.OrderRecord{}, paid: map[string]wechatpay.Transaction{},
		markCalls: map[string]int{}, closed: map[string]bool{},
		paidCh: make(chan string, 64), refundCh: make(chan string, 64),
	}
}

func (s *fakeStore) add(rec wechatpay.OrderRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[rec.OutTradeNo] = &rec
}

func (s *fakeStore) Lookup(_ context.Context, no string) (wechatpay.OrderRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.orders[no]
	if !ok {
		return wechatpay.OrderRecord{}, fmt.Errorf("store: %s: %w", no, wechatpay.ErrOrderNotExist)
	}
	return *r, nil
}

func (s *fakeStore) MarkPaid(_ context.Context, t wechatpay.Transaction) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPaid != nil {
		return s.failPaid
	}
	s.markCalls[t.OutTradeNo]++
	r, ok := s.orders[t.OutTradeNo]
	if !ok {
		return wechatpay.ErrOrderNotExist
	}
	if r.Paid {
		return nil
	}
	r.Paid = true
	s.paid[t.OutTradeNo] = t
	s.paidCh <- t.OutTradeNo
	return nil
}

func (s *fakeStore) MarkClosed(_ context.Context, no string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed[no] = true
	return nil
}

func (s *fakeStore) OpenOrders(context.Context) ([]wechatpay.OrderRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []wechatpay.OrderRecord
	for _, r := range s.orders {
		if !r.Paid && !s.closed[r.OutTradeNo] {
			out = append(out, *r)
		}
	}
	return out, nil
}

func (s *fakeStore) calls(no string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.markCalls[no]
}

func (s *fakeStore) isPaid(no string) (wechatpay.Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.paid[no]
	return t, ok
}

// env is a sandbox, a merchant registered in it, a client for that merchant
// and the merchant's notify_url served by the client's NotifyHandler.
type env struct {
	sb      *sandbox.Sandbox
	sbURL   string
	creds   sandbox.Credentials
	cfg     wechatpay.Config
	client  *wechatpay.Client
	store   *fakeStore
	handler *wechatpay.NotifyHandler
	notify  string
}

type envOpts struct {
	mode    sandbox.Mode
	partner bool
	// client verification keys; default by mode (public key, certificates, both)
	pubKey, certs *bool
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	keys, mk := testKeys(t)
	sb, err := sandbox.New(sandbox.Config{
		Mode: o.mode, Keys: keys,
		RetrySchedule: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond},
		RefundDelay:   5 * time.Millisecond, NotifyTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { srv.Close(); sb.Close() })
	m := sandbox.Merchant{PrivateKey: mk}
	if o.partner {
		m.SubMchID = "1900000999"
	}
	creds, err := sb.AddMerchant(m)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sb: sb, sbURL: srv.URL, creds: creds, store: newStore()}
	var mu sync.RWMutex
	var h http.Handler = http.NotFoundHandler()
	nsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		hh := h
		mu.RUnlock()
		hh.ServeHTTP(w, r)
	}))
	t.Cleanup(nsrv.Close)
	e.notify = nsrv.URL + "/v1/wechatpay/notify/m1"
	e.cfg = configFor(creds, o, e.notify, srv.Listener.Addr().String())
	e.client, err = wechatpay.New(context.Background(), e.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = wechatpay.NewNotifyHandler(e.client, e.store)
	e.handler.OnRefund = func(_ context.Context, n wechatpay.RefundNotice) error {
		e.store.mu.Lock()
		e.store.refunds = append(e.store.refunds, n)
		e.store.mu.Unlock()
		e.store.refundCh <- n.OutRefundNo
		return nil
	}
	mu.Lock()
	h = e.handler
	mu.Unlock()
	return e
}

func configFor(c sandbox.Credentials, o envOpts, notifyURL, sandboxAddr string) wechatpay.Config {
	usePub, useCerts := o.mode != sandbox.ModeCertificate, o.mode != sandbox.ModePublicKey
	if o.pubKey != nil {
		usePub = *o.pubKey
	}
	if o.certs != nil {
		useCerts = *o.certs
	}
	cfg := wechatpay.Config{
		ID: "m1", Mode: wechatpay.Mode(c.Mode), AppID: c.AppID, MchID: c.MchID, SubMchID: c.SubMchID, SubAppID: c.SubAppID,
		Serial: c.Serial, PrivateKey: c.PrivateKey, APIv3Key: []byte(c.APIv3Key),
		PlatformCerts: useCerts, NotifyURL: notifyURL, Sandbox: sandboxAddr,
		RetryBackoff: 2 * time.Millisecond, Timeout: 5 * time.Second,
	}
	if usePub {
		cfg.PublicKey, cfg.PublicKeyID = c.PublicKey, c.PublicKeyID
	}
	return cfg
}

// order creates an order in WeChat and records it in the store.
func (e *env) order(t *testing.T, no string, fen int64, expire time.Time) string {
	t.Helper()
	code, err := e.client.CreateNative(context.Background(), wechatpay.Order{
		OutTradeNo: no, Description: "测试商店-POS1-" + no, AmountFen: fen, TimeExpire: expire, Attach: "dev1",
	})
	if err != nil {
		t.Fatalf("create %s: %v", no, err)
	}
	e.store.add(wechatpay.OrderRecord{OutTradeNo: no, AmountFen: fen, CreatedAt: time.Now(), ExpiresAt: expire})
	return code
}

func (e *env) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, ch chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", want)
		}
	}
}

var modes = []struct {
	name    string
	mode    sandbox.Mode
	partner bool
}{
	{"public-key/direct", sandbox.ModePublicKey, false},
	{"public-key/partner", sandbox.ModePublicKey, true},
	{"certificate/direct", sandbox.ModeCertificate, false},
	{"certificate/partner", sandbox.ModeCertificate, true},
	{"migrating/direct", sandbox.ModeMigrating, false},
	{"migrating/partner", sandbox.ModeMigrating, true},
}
