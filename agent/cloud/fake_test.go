package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/server/apiv1"
)

const testToken = "tok_SECRET_5f1e9c0a7b3d"

// fakeServer is a scripted printpay-server: it checks the bearer token and
// the subprotocol, answers hello with welcome (or whatever welcome says),
// and hands every later frame to the test, which answers as it likes.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server
	url string

	// welcome answers a hello; nil answer = say nothing.
	welcome func(h *apiv1.Hello) apiv1.Message
	refuse  atomic.Int32 // HTTP status to refuse upgrades with (0 = accept)
	noPong  atomic.Bool  // ignore the client's pings

	dials  atomic.Int32
	hellos atomic.Int32
	conns  chan *fakeConn

	mu  sync.Mutex
	all []*fakeConn
}

type fakeConn struct {
	ws     *websocket.Conn
	hello  *apiv1.Hello
	in     chan []byte // frames after hello; closed when the connection ends
	wmu    sync.Mutex
	closed chan struct{}
	close  *websocket.CloseError // the client's close frame, if any
}

func newFakeServer(t testing.TB) *fakeServer {
	fs := &fakeServer{t: t, conns: make(chan *fakeConn, 64)}
	fs.welcome = func(h *apiv1.Hello) apiv1.Message {
		return &apiv1.Welcome{Re: h.ID, ServerTime: time.Now(), DeviceID: "dev_1", MerchantName: "老王面馆", MinAgentVersion: "0.1.0"}
	}
	up := websocket.Upgrader{Subprotocols: []string{apiv1.Subprotocol}}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.dials.Add(1)
		if r.URL.Path != "/v1/agent" {
			http.NotFound(w, r)
			return
		}
		if code := fs.refuse.Load(); code != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(int(code))
			json.NewEncoder(w).Encode(apiv1.Error{Code: apiv1.CodeUnauthorized, Message: "unknown device token"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if ws.Subprotocol() != apiv1.Subprotocol {
			t.Errorf("subprotocol %q", ws.Subprotocol())
		}
		fc := &fakeConn{ws: ws, in: make(chan []byte, 1024), closed: make(chan struct{})}
		if fs.noPong.Load() {
			ws.SetPingHandler(func(string) error { return nil })
		}
		fs.mu.Lock()
		fs.all = append(fs.all, fc)
		fs.mu.Unlock()
		defer close(fc.closed)
		defer ws.Close()
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := apiv1.Decode(data)
		h, ok := m.(*apiv1.Hello)
		if err != nil || !ok {
			t.Errorf("first frame is not hello: %s (%v)", data, err)
			return
		}
		fs.hellos.Add(1)
		fc.hello = h
		if ans := fs.welcome(h); ans != nil {
			fc.send(ans)
		}
		fs.conns <- fc
		defer close(fc.in)
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					fc.close = ce
				}
				return
			}
			if typ == websocket.TextMessage {
				fc.in <- data
			}
		}
	}))
	fs.url = "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/v1/agent"
	t.Cleanup(func() {
		fs.mu.Lock()
		for _, fc := range fs.all {
			fc.ws.Close()
		}
		fs.mu.Unlock()
		fs.srv.Close()
	})
	return fs
}

// next waits for the next connection that said hello.
func (fs *fakeServer) next(t testing.TB) *fakeConn {
	t.Helper()
	select {
	case fc := <-fs.conns:
		return fc
	case <-time.After(5 * time.Second):
		t.Fatal("no connection from the client")
		return nil
	}
}

func (fc *fakeConn) send(m apiv1.Message) {
	b, err := apiv1.Encode(m)
	if err != nil {
		panic(err)
	}
	fc.sendRaw(b)
}

func (fc *fakeConn) sendRaw(b []byte) {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	fc.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fc.ws.WriteMessage(websocket.TextMessage, b)
}

// recv returns the next frame from the client, decoded.
func (fc *fakeConn) recv(t testing.TB) apiv1.Message {
	t.Helper()
	select {
	case b, ok := <-fc.in:
		if !ok {
			t.Fatal("connection ended while a frame was awaited")
		}
		m, err := apiv1.Decode(b)
		if err != nil {
			t.Fatalf("client sent a bad frame %s: %v", b, err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no frame from the client")
		return nil
	}
}

func recvAs[T apiv1.Message](t testing.TB, fc *fakeConn) T {
	t.Helper()
	m := fc.recv(t)
	v, ok := m.(T)
	if !ok {
		t.Fatalf("got %T %+v, want %T", m, m, v)
	}
	return v
}

// syncBuffer collects log output from several goroutines.
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

// harness is one client under test, with its log.
type harness struct {
	c    *Client
	logs *syncBuffer
	stop func()
}

// testConfig is a Config for fs with fast timings and a captured log.
func testConfig(t testing.TB, fs *fakeServer, dir string) (Config, *syncBuffer) {
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("the token appears in the log:\n%s", logs.String())
		}
	})
	url := "ws://127.0.0.1:1/v1/agent"
	if fs != nil {
		url = fs.url
	}
	if dir == "" {
		dir = t.TempDir()
	}
	return Config{
		URL: url, Token: testToken, AgentVersion: "0.1.0", StateDir: dir,
		Printers: func() []apiv1.Printer {
			return []apiv1.Printer{{Name: "front", Driver: "file", Profile: "generic-80mm", Status: "online"}}
		},
		Logger:           slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BackoffMin:       10 * time.Millisecond,
		BackoffMax:       80 * time.Millisecond,
		HandshakeTimeout: 2 * time.Second,
	}, logs
}

// start runs a client made from cfg until the test ends (or stop).
func start(t testing.TB, cfg Config, logs *syncBuffer) *harness {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run did not return after its ctx ended")
			}
		})
	}
	t.Cleanup(stop)
	return &harness{c: c, logs: logs, stop: stop}
}

// waitReady waits until the client is welcomed.
func waitReady(t testing.TB, c *Client) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !c.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("client not ready")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// eventually polls cond until it holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
