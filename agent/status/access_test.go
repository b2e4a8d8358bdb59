package status

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/spool"
)

func TestActionsNeedOriginAndToken(t *testing.T) {
	f := newFixture(t, "")
	tok := csrfOf(t, f.ts.URL)
	id := f.ids["gbk"]
	type req struct {
		name           string
		path           string
		origin, site   string
		token          string
		want           int
		wantCall       string
		wantReprintInc bool
	}
	for _, c := range []req{
		{name: "reprint without token", path: "/api/jobs/" + id + "/reprint", want: 403},
		{name: "reprint wrong token", path: "/api/jobs/" + id + "/reprint", token: "0000", want: 403},
		{name: "reprint other origin", path: "/api/jobs/" + id + "/reprint", origin: "http://evil.example", token: tok, want: 403},
		{name: "reprint same host other scheme", path: "/api/jobs/" + id + "/reprint", origin: "file://" + strings.TrimPrefix(f.ts.URL, "http://"), token: tok, want: 403},
		{name: "reprint cross-site fetch", path: "/api/jobs/" + id + "/reprint", site: "cross-site", token: tok, want: 403},
		{name: "pause other origin", path: "/api/printers/front/pause", origin: "http://127.0.0.1:1", token: tok, want: 403},
		{name: "pause without token", path: "/api/printers/front/pause", origin: f.ts.URL, want: 403},
		{name: "demo pay without token", path: "/api/jobs/" + id + "/demo-pay", origin: f.ts.URL, want: 403},
		{name: "test print", path: "/api/printers/kitchen/test", origin: f.ts.URL, token: tok, want: 200, wantCall: "test kitchen"},
		{name: "pause", path: "/api/printers/front/pause", origin: f.ts.URL, site: "same-origin", token: tok, want: 200, wantCall: "pause front on"},
		{name: "unknown printer", path: "/api/printers/nope/pause", origin: f.ts.URL, token: tok, want: 404},
		{name: "demo pay", path: "/api/jobs/" + id + "/demo-pay", origin: f.ts.URL, token: tok, want: 200, wantCall: "pay PP20261126001"},
		{name: "reprint", path: "/api/jobs/" + id + "/reprint", origin: f.ts.URL, token: tok, want: 200, wantReprintInc: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.called())
			r, _ := http.NewRequest("POST", f.ts.URL+c.path, nil)
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			if c.site != "" {
				r.Header.Set("Sec-Fetch-Site", c.site)
			}
			if c.token != "" {
				r.Header.Set(CSRFHeader, c.token)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			calls := f.called()[before:]
			switch {
			case c.wantCall == "" && len(calls) > 0:
				t.Fatalf("hook called: %v", calls)
			case c.wantCall != "" && (len(calls) != 1 || calls[0] != c.wantCall):
				t.Fatalf("calls %v, want %q", calls, c.wantCall)
			}
			j, _ := f.sp.Get(id)
			if got := j.Reprint == 1 && j.State == spool.Pending; got != c.wantReprintInc {
				t.Fatalf("job after: state %s reprint %d", j.State, j.Reprint)
			}
		})
	}
}

func TestTruncatedReprintNeedsConfirmation(t *testing.T) {
	f := newFixture(t, "")
	tok := csrfOf(t, f.ts.URL)
	post := func(q string) int {
		r, _ := http.NewRequest("POST", f.ts.URL+"/api/jobs/"+f.ids["truncated"]+"/reprint"+q, nil)
		r.Header.Set(CSRFHeader, tok)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusPreconditionRequired {
		t.Fatalf("unconfirmed: %d", code)
	}
	if j, _ := f.sp.Get(f.ids["truncated"]); !j.Held {
		t.Fatal("released without confirmation")
	}
	if code := post("?confirm=1"); code != 200 {
		t.Fatalf("confirmed: %d", code)
	}
	if j, _ := f.sp.Get(f.ids["truncated"]); j.Held || j.State != spool.Pending {
		t.Fatalf("after confirmed reprint: %+v", j)
	}
	if next, ok := f.sp.Next("front"); !ok || next.ID != f.ids["truncated"] {
		t.Fatalf("the released job is not next for the printer: %v %v", next.ID, ok)
	}
}

func TestNonLoopbackAccess(t *testing.T) {
	open := New(Options{Spool: mustSpool(t)}).Handler()
	locked := New(Options{Spool: mustSpool(t), Password: "s3cret"}).Handler()
	for _, c := range []struct {
		name     string
		h        http.Handler
		peer     string
		host     string
		password string
		want     int
	}{
		{"loopback peer", open, "127.0.0.1:4000", "127.0.0.1:9180", "", 200},
		{"loopback v6 peer localhost", open, "[::1]:4000", "localhost:9180", "", 200},
		{"lan peer, no password set", open, "192.168.1.7:4000", "192.168.1.2:9180", "", 403},
		{"rebinding host name", open, "127.0.0.1:4000", "evil.example:9180", "", 403},
		{"lan peer without password", locked, "192.168.1.7:4000", "192.168.1.2:9180", "", 401},
		{"lan peer wrong password", locked, "192.168.1.7:4000", "192.168.1.2:9180", "guess", 401},
		{"lan peer with password", locked, "192.168.1.7:4000", "till.local:9180", "s3cret", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/status", nil)
			r.RemoteAddr, r.Host = c.peer, c.host
			if c.password != "" {
				r.SetBasicAuth("owner", c.password)
			}
			w := httptest.NewRecorder()
			c.h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
		})
	}
}

func TestServeRefusesExposedListenerWithoutPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip("cannot listen on all addresses:", err)
	}
	err = New(Options{Spool: mustSpool(t)}).Serve(context.Background(), ln)
	if !errors.Is(err, ErrExposed) {
		t.Fatalf("Serve on %s without password: %v", ln.Addr(), err)
	}
	// The listener was closed: nothing is left listening.
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("listener still accepting")
	}

	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(Options{Spool: mustSpool(t)}).Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil || resp.StatusCode != 200 {
		t.Fatalf("loopback serve: %v, %s", err, resp.Status)
	}
}

func mustSpool(t *testing.T) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr string
		pw   bool
		ok   bool
	}{
		{"127.0.0.1:9180", false, true},
		{"[::1]:9180", false, true},
		{"localhost:9180", false, true},
		{"", false, true},
		{":9180", false, false},
		{"0.0.0.0:9180", false, false},
		{"192.168.1.2:9180", false, false},
		{"till.local:9180", false, false},
		{"0.0.0.0:9180", true, true},
	} {
		err := CheckListen(c.addr, c.pw)
		if (err == nil) != c.ok || (err != nil && c.addr != "" && !errors.Is(err, ErrExposed)) {
			t.Errorf("CheckListen(%q, %v) = %v", c.addr, c.pw, err)
		}
	}
}

// Serve owns the log tail connections: stopping it closes them and waits
// for their handlers.
func TestServeEndsLogStreams(t *testing.T) {
	hub := NewLogHub(nil, 10)
	hctx, hcancel := context.WithCancel(context.Background())
	defer hcancel()
	go hub.Run(hctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(Options{Spool: mustSpool(t), Logs: hub}).Serve(ctx, ln) }()
	c := dialLogs(t, "http://"+ln.Addr().String(), true) // never reads
	waitFor(t, func() bool { return hub.Stats().Clients == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The handler unsubscribed before Serve returned; the hub counts it
	// when it takes the request.
	waitFor(t, func() bool { return hub.Stats().Clients == 0 })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.NextReader(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the log stream is still open after Serve returned")
			}
			break
		}
	}
}
