package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/oklog/ulid/v2"

	"printpay.dev/printpay/server/api"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/bus"
	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/store/storetest"
	"printpay.dev/printpay/server/wechatpay"
)

// fakePay is a WeChat Pay stand-in that behaves: orders are created,
// queried, paid and closed as WeChat would, and it can fail on purpose.
type fakePay struct {
	mu         sync.Mutex
	orders     map[string]*fakeOrder
	failCreate error // returned by the next CreateNative calls while set
	creates    int
	closes     int
}

type fakeOrder struct {
	o     wechatpay.Order
	state string
	txid  string
}

var _ api.PaymentClient = (*fakePay)(nil)

func newFakePay() *fakePay { return &fakePay{orders: map[string]*fakeOrder{}} }

func (f *fakePay) CreateNative(_ context.Context, o wechatpay.Order) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCreate != nil {
		return "", f.failCreate
	}
	if old, ok := f.orders[o.OutTradeNo]; ok {
		if old.o != o {
			return "", wechatpay.ErrOutTradeNoUsed
		}
	} else {
		f.orders[o.OutTradeNo] = &fakeOrder{o: o, state: wechatpay.StateNotPay}
	}
	f.creates++
	return "weixin://wxpay/bizpayurl?pr=" + o.OutTradeNo[:7], nil
}

func (f *fakePay) Query(_ context.Context, no string) (wechatpay.Transaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[no]
	if !ok {
		return wechatpay.Transaction{}, wechatpay.ErrOrderNotExist
	}
	return wechatpay.Transaction{OutTradeNo: no, TradeState: o.state, TransactionID: o.txid, AmountFen: o.o.AmountFen,
		Currency: "CNY", SuccessTime: time.Now()}, nil
}

func (f *fakePay) Close(_ context.Context, no string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[no]
	if !ok {
		return wechatpay.ErrOrderNotExist
	}
	if o.state == wechatpay.StateSuccess {
		return wechatpay.ErrOrderPaid
	}
	o.state = wechatpay.StateClosed
	f.closes++
	return nil
}

// pay marks an order paid at "WeChat" (no notification: the server learns
// it through Query).
func (f *fakePay) pay(no string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[no].state = wechatpay.StateSuccess
	f.orders[no].txid = "42000000" + no
}

func (f *fakePay) state(no string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.orders[no]; ok {
		return o.state
	}
	return ""
}

// node is one running server.
type node struct {
	srv  *api.Server
	st   *store.Store
	url  string // http://127.0.0.1:port
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type nodeOpts struct {
	st        *store.Store
	bus       bus.Bus
	ln        net.Listener
	publicURL string
	rate      float64
	burst     int
	hello     time.Duration
	ping      time.Duration
	now       func() time.Time
}

func startNode(t testing.TB, o nodeOpts) *node {
	t.Helper()
	if o.st == nil {
		o.st = storetest.SQLite(t)
	}
	if o.ln == nil {
		var err error
		o.ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	url := "http://" + o.ln.Addr().String()
	if o.publicURL == "" {
		o.publicURL = url
	}
	logs := &syncBuffer{}
	srv, err := api.New(api.Options{Store: o.st, Bus: o.bus, PublicURL: o.publicURL, RateLimit: o.rate, RateBurst: o.burst,
		HelloTimeout: o.hello, PingInterval: o.ping, Now: o.now, Logger: slogTo(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, o.ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &node{srv: srv, st: o.st, url: url, logs: logs}
}

// addFake registers a merchant paid through fakePay.
func (n *node) addFake(t testing.TB, id string, pay *fakePay, capFen int64) store.Merchant {
	t.Helper()
	m, err := n.st.PutMerchant(context.Background(), store.Merchant{ID: id, Name: "Shop " + id, AmountCapFen: capFen})
	if err != nil {
		t.Fatal(err)
	}
	n.srv.AddMerchant(m, pay, nil)
	return m
}

// enroll mints a pairing code and enrolls a device over HTTP.
func (n *node) enroll(t testing.TB, merchantID string) (apiv1.EnrollResponse, string) {
	t.Helper()
	code, _, err := n.st.NewPairingCode(context.Background(), merchantID)
	if err != nil {
		t.Fatal(err)
	}
	status, body := postJSON(t, n.url+"/v1/enroll", apiv1.EnrollRequest{Code: code, AgentVersion: "0.1.0", Hostname: "till"})
	if status != 200 {
		t.Fatalf("enroll: %d %s", status, body)
	}
	var er apiv1.EnrollResponse
	if err := json.Unmarshal(body, &er); err != nil {
		t.Fatal(err)
	}
	return er, code
}

func postJSON(t testing.TB, url string, v any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// agent is a scripted agent.
type agent struct {
	t      testing.TB
	ws     *websocket.Conn
	device string
	frames chan []byte
	closed chan error
}

func dial(t testing.TB, baseURL, token string) (*agent, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	d := websocket.Dialer{Subprotocols: []string{apiv1.Subprotocol}, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(baseURL, "http")+"/v1/agent", h)
	if err != nil {
		return nil, resp, err
	}
	a := &agent{t: t, ws: ws, frames: make(chan []byte, 1024), closed: make(chan error, 1)}
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				a.closed <- err
				close(a.frames)
				return
			}
			a.frames <- b
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return a, resp, nil
}

// connect dials and says hello.
func connect(t testing.TB, baseURL, token string) *agent {
	t.Helper()
	a, resp, err := dial(t, baseURL, token)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	id := ulid.Make().String()
	a.send(&apiv1.Hello{ID: id, AgentVersion: "0.1.0", Protocol: 1, Printers: []apiv1.Printer{{Name: "front", Driver: "file", Profile: "generic-80mm", Status: "online"}}})
	w := a.expect(apiv1.TypeWelcome).(*apiv1.Welcome)
	if w.Re != id {
		t.Fatalf("welcome re %q want %q", w.Re, id)
	}
	a.device = w.DeviceID
	return a
}

func (a *agent) send(m apiv1.Message) {
	a.t.Helper()
	b, err := apiv1.Encode(m)
	if err != nil {
		a.t.Fatal(err)
	}
	a.sendRaw(b)
}

func (a *agent) sendRaw(b []byte) {
	a.t.Helper()
	if err := a.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		a.t.Fatalf("send: %v", err)
	}
}

// recv returns the next frame.
func (a *agent) recv() apiv1.Message {
	a.t.Helper()
	select {
	case b, ok := <-a.frames:
		if !ok {
			a.t.Fatalf("connection closed: %v", <-a.closed)
		}
		m, err := apiv1.Decode(b)
		if err != nil {
			a.t.Fatalf("server sent an undecodable frame %s: %v", b, err)
		}
		return m
	case <-time.After(10 * time.Second):
		a.t.Fatal("no frame from the server")
	}
	return nil
}

func (a *agent) expect(typ string) apiv1.Message {
	a.t.Helper()
	m := a.recv()
	if m.Type() != typ {
		b, _ := apiv1.Encode(m)
		a.t.Fatalf("got %s, want %s", b, typ)
	}
	return m
}

// quiet asserts that no frame arrives for d.
func (a *agent) quiet(d time.Duration) {
	a.t.Helper()
	select {
	case b, ok := <-a.frames:
		if ok {
			a.t.Fatalf("unexpected frame %s", b)
		}
	case <-time.After(d):
	}
}

// request sends a frame with an id and returns the answer carrying re.
func (a *agent) request(m apiv1.Message) apiv1.Message {
	a.t.Helper()
	a.send(m)
	return a.recv()
}

func qr(job string, idx int, orderNo string, amount int64) *apiv1.QRRequest {
	return &apiv1.QRRequest{ID: ulid.Make().String(), JobID: job, ReceiptIndex: idx, Printer: "front", AmountFen: amount,
		Currency: "CNY", OrderNo: orderNo, Receipt: &apiv1.Receipt{AmountFen: amount, OrderNo: orderNo, Lines: []string{}}}
}

func mustQR(t testing.TB, m apiv1.Message) *apiv1.QRResponse {
	t.Helper()
	r, ok := m.(*apiv1.QRResponse)
	if !ok {
		b, _ := apiv1.Encode(m)
		t.Fatalf("want qr.response, got %s", b)
	}
	return r
}

func mustErr(t testing.TB, m apiv1.Message, code string) *apiv1.Error {
	t.Helper()
	e, ok := m.(*apiv1.Error)
	if !ok || e.Code != code {
		b, _ := apiv1.Encode(m)
		t.Fatalf("want error %s, got %s", code, b)
	}
	return e
}

// eventually polls cond until it holds or the test's patience ends.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The sandbox: one key set and one merchant key for the whole run, since
// RSA key generation is slow.
var (
	keysOnce     sync.Once
	sharedKeys   *sandbox.Keys
	merchantKey  *rsa.PrivateKey
	sharedKeyErr error
)

func keys(t testing.TB) (*sandbox.Keys, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		sharedKeys, sharedKeyErr = sandbox.GenerateKeys()
		if sharedKeyErr == nil {
			merchantKey, sharedKeyErr = rsa.GenerateKey(rand.Reader, 2048)
		}
	})
	if sharedKeyErr != nil {
		t.Fatal(sharedKeyErr)
	}
	return sharedKeys, merchantKey
}

type sandboxEnv struct {
	sb   *sandbox.Sandbox
	addr string
}

func startSandbox(t testing.TB) *sandboxEnv {
	t.Helper()
	k, _ := keys(t)
	sb, err := sandbox.New(sandbox.Config{Keys: k, RetrySchedule: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sb.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &sandboxEnv{sb: sb, addr: ln.Addr().String()}
}

// merchant registers a sandbox merchant and returns its client config.
func (e *sandboxEnv) merchant(t testing.TB, mchid string) wechatpay.Config {
	t.Helper()
	_, mk := keys(t)
	cr, err := e.sb.AddMerchant(sandbox.Merchant{MchID: mchid, AppID: "wx" + mchid, PrivateKey: mk, APIv3Key: "0123456789abcdef0123456789ABCDEF"})
	if err != nil {
		t.Fatal(err)
	}
	return wechatpay.Config{Mode: wechatpay.ModeDirect, AppID: cr.AppID, MchID: cr.MchID, Serial: cr.Serial,
		PrivateKey: cr.PrivateKey, APIv3Key: []byte(cr.APIv3Key), PublicKey: cr.PublicKey, PublicKeyID: cr.PublicKeyID,
		Sandbox: e.addr, Retries: -1}
}

// addSandboxMerchant wires a merchant through the real client to the sandbox.
func (n *node) addSandboxMerchant(t testing.TB, e *sandboxEnv, id, mchid string) {
	t.Helper()
	if err := n.srv.AddWechatMerchant(context.Background(), store.Merchant{ID: id, Name: "Shop " + id}, e.merchant(t, mchid)); err != nil {
		t.Fatal(err)
	}
}

var errBoom = errors.New("boom")

var _ = fmt.Sprint

var apiDescription = api.Description

const handlersPerConn = 8 // as in agent.go

// metricValue reads one unlabelled metric from /metrics.
func metricValue(t testing.TB, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
