package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/server/apiv1"
)

func TestHelloWelcomeRulesSavedAndReloaded(t *testing.T) {
	fs := newFakeServer(t)
	rules := json.RawMessage(`{"version":"2026-11-20","currency":"CNY"}`)
	fs.welcome = func(h *apiv1.Hello) apiv1.Message {
		w := &apiv1.Welcome{Re: h.ID, ServerTime: time.Now(), DeviceID: "dev_1", MerchantName: "老王面馆", MinAgentVersion: "0.1.0"}
		if h.RulesVersion == "" {
			w.Rules = rules
		}
		return w
	}
	dir := t.TempDir()
	cfg, logs := testConfig(t, fs, dir)
	var got []string
	var mu sync.Mutex
	cfg.OnRules = func(v string, r json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, v+" "+string(r))
		if v == "bad" {
			return errors.New("rules: no currency markers")
		}
		return nil
	}
	h := start(t, cfg, logs)
	fc := fs.next(t)
	if fc.hello.Protocol != apiv1.ProtocolVersion || fc.hello.AgentVersion != "0.1.0" || fc.hello.RulesVersion != "" ||
		len(fc.hello.Printers) != 1 || fc.hello.Printers[0].Name != "front" {
		t.Errorf("hello = %+v", fc.hello)
	}
	select {
	case <-h.c.Welcomed():
	case <-time.After(5 * time.Second):
		t.Fatal("not welcomed")
	}
	if !h.c.Ready() {
		t.Error("welcomed but not ready")
	}
	if d, m := h.c.Device(); d != "dev_1" || m != "老王面馆" {
		t.Errorf("Device() = %q, %q", d, m)
	}
	if v := h.c.RulesVersion(); v != "2026-11-20" {
		t.Fatalf("RulesVersion = %q", v)
	}
	if string(h.c.Rules()) != string(rules) {
		t.Errorf("Rules = %s", h.c.Rules())
	}
	saved, err := os.ReadFile(filepath.Join(dir, "rules.json"))
	if err != nil || !strings.Contains(string(saved), `"version":"2026-11-20"`) {
		t.Fatalf("rules.json = %s, %v", saved, err)
	}

	// A push: saved, handed over, acked.
	fc.send(&apiv1.Rules{ID: "R1", Version: "2026-11-21", Rules: json.RawMessage(`{"version":"2026-11-21"}`)})
	if a := recvAs[*apiv1.Ack](t, fc); a.Re != "R1" {
		t.Errorf("ack re %q", a.Re)
	}
	if v := h.c.RulesVersion(); v != "2026-11-21" {
		t.Errorf("after push RulesVersion = %q", v)
	}
	// A push the caller refuses: error frame, nothing changes.
	fc.send(&apiv1.Rules{ID: "R2", Version: "bad", Rules: json.RawMessage(`{}`)})
	if e := recvAs[*apiv1.Error](t, fc); e.Re != "R2" || e.Code != apiv1.CodeBadRequest {
		t.Errorf("refused push answered %+v", e)
	}
	// A push without a version.
	fc.send(&apiv1.Rules{ID: "R3", Rules: json.RawMessage(`{}`)})
	if e := recvAs[*apiv1.Error](t, fc); e.Re != "R3" {
		t.Errorf("versionless push answered %+v", e)
	}
	if v := h.c.RulesVersion(); v != "2026-11-21" {
		t.Errorf("after refused push RulesVersion = %q", v)
	}
	h.stop()

	// Offline restart: the rules are there before any connection.
	c2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c2.RulesVersion() != "2026-11-21" || string(c2.Rules()) != `{"version":"2026-11-21"}` {
		t.Fatalf("reloaded %q %s", c2.RulesVersion(), c2.Rules())
	}
	if st := c2.Status(); st.RulesVersion != "2026-11-21" || st.Connected {
		t.Errorf("offline status %+v", st)
	}
	// Online again: hello names the saved version.
	h2 := start(t, cfg, logs)
	fc2 := fs.next(t)
	if fc2.hello.RulesVersion != "2026-11-21" {
		t.Errorf("hello rules_version %q", fc2.hello.RulesVersion)
	}
	waitReady(t, h2.c)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || !strings.HasPrefix(got[0], "2026-11-20 ") || !strings.HasPrefix(got[1], "2026-11-21 ") || got[2] != "bad {}" {
		t.Errorf("OnRules calls %q", got)
	}
}

func TestCorruptRulesFileIgnored(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.json"), []byte("{not json"), 0o600)
	cfg, _ := testConfig(t, nil, dir)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.RulesVersion() != "" || c.Rules() != nil {
		t.Errorf("corrupt rules loaded: %q %s", c.RulesVersion(), c.Rules())
	}
}

// qrServer answers qr.requests: each gets code_url weixin://<job_id>.
func answerQR(fc *fakeConn, q *apiv1.QRRequest) {
	fc.send(&apiv1.QRResponse{Re: q.ID, OutTradeNo: "T" + q.JobID, CodeURL: "weixin://" + q.JobID,
		ExpiresAt: time.Now().Add(15 * time.Minute), State: apiv1.StateOpen})
}

func TestQRConcurrentOutOfOrder(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)

	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := fmt.Sprintf("JOB%02d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := h.c.QR(ctx, apiv1.QRRequest{JobID: job, Printer: "front", AmountFen: int64(100 + i), OrderNo: job})
			switch {
			case err != nil:
				errs <- fmt.Errorf("%s: %w", job, err)
			case resp.CodeURL != "weixin://"+job || resp.OutTradeNo != "T"+job:
				errs <- fmt.Errorf("%s got another receipt's QR: %+v", job, resp)
			}
		}()
	}
	reqs := make([]*apiv1.QRRequest, 0, n)
	ids := map[string]bool{}
	for range n {
		q := recvAs[*apiv1.QRRequest](t, fc)
		if q.Currency != apiv1.CurrencyCNY || q.ID == "" || ids[q.ID] {
			t.Errorf("request %+v (duplicate id %v)", q, ids[q.ID])
		}
		ids[q.ID] = true
		reqs = append(reqs, q)
	}
	// Answer in reverse order, mixed with answers for nobody and garbage.
	for i := len(reqs) - 1; i >= 0; i-- {
		fc.send(&apiv1.QRResponse{Re: "01NOBODY" + reqs[i].ID[8:], OutTradeNo: "X", CodeURL: "weixin://wrong", State: apiv1.StateOpen})
		fc.sendRaw([]byte(`{"type":"qr.response","re":`))
		answerQR(fc, reqs[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if fs.hellos.Load() != 1 {
		t.Errorf("%d connections; garbage must not drop the link", fs.hellos.Load())
	}
}

func TestQRErrorFrame(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	go func() {
		q := recvAs[*apiv1.QRRequest](t, fc)
		fc.send(&apiv1.Error{Re: q.ID, Code: apiv1.CodeAmountCap, Message: "above the cap", Retryable: false})
	}()
	_, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "J", AmountFen: 600000})
	var e apiv1.Error
	if !errors.As(err, &e) || e.Code != apiv1.CodeAmountCap || e.Retryable || e.Message != "above the cap" {
		t.Fatalf("err = %v (%+v)", err, e)
	}
}

func TestQRBadAnswers(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	tests := []struct {
		name   string
		answer func(id string) []byte
	}{
		{"ack instead of qr.response", func(id string) []byte { return []byte(`{"type":"ack","re":"` + id + `"}`) }},
		{"open without code_url", func(id string) []byte {
			return []byte(`{"type":"qr.response","re":"` + id + `","out_trade_no":"T1","state":"open"}`)
		}},
		{"unknown state", func(id string) []byte {
			return []byte(`{"type":"qr.response","re":"` + id + `","out_trade_no":"T1","code_url":"weixin://x","state":"weird"}`)
		}},
		{"wrong field type", func(id string) []byte {
			return []byte(`{"type":"qr.response","re":"` + id + `","out_trade_no":5,"state":"open"}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			go func() {
				q := recvAs[*apiv1.QRRequest](t, fc)
				fc.sendRaw(tt.answer(q.ID))
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := h.c.QR(ctx, apiv1.QRRequest{JobID: "J"})
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
		})
	}
	// A paid state needs no code_url.
	go func() {
		q := recvAs[*apiv1.QRRequest](t, fc)
		fc.send(&apiv1.QRResponse{Re: q.ID, OutTradeNo: "T1", State: apiv1.StatePaid, AmountFen: 15300})
	}()
	resp, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "J"})
	if err != nil || resp.State != apiv1.StatePaid {
		t.Fatalf("paid answer: %+v %v", resp, err)
	}
}

func TestQRNotConnectedFailsAtOnce(t *testing.T) {
	cfg, logs := testConfig(t, nil, "") // nothing listens on port 1
	h := start(t, cfg, logs)
	t0 := time.Now()
	_, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "J"})
	if !errors.Is(err, ErrNotConnected) {
		t.Fatalf("err = %v", err)
	}
	if err := h.c.Cancel(context.Background(), "T1", "cash"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Cancel err = %v", err)
	}
	if d := time.Since(t0); d > 250*time.Millisecond {
		t.Errorf("took %v without a link", d)
	}
	if h.c.Ready() {
		t.Error("Ready without a server")
	}
	eventually(t, "a dial error in the status", func() bool { return h.c.Status().LastError != "" })
}

func TestServerClosesMidRequestThenReconnect(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)

	errc := make(chan error, 1)
	go func() {
		_, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "J1"})
		errc <- err
	}()
	recvAs[*apiv1.QRRequest](t, fc)
	t0 := time.Now()
	fc.ws.Close() // no close frame: the socket just goes
	select {
	case err := <-errc:
		if !errors.Is(err, ErrDisconnected) {
			t.Errorf("err = %v, want ErrDisconnected", err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("failed after %v", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the pending call did not fail when the connection dropped")
	}

	fc2 := fs.next(t)
	waitReady(t, h.c)
	go func() { answerQR(fc2, recvAs[*apiv1.QRRequest](t, fc2)) }()
	resp, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "J2"})
	if err != nil || resp.CodeURL != "weixin://J2" {
		t.Fatalf("after reconnect: %+v %v", resp, err)
	}
	if st := h.c.Status(); !st.Connected || st.URL != fs.url {
		t.Errorf("status %+v", st)
	}
}

func TestReconnectBacksOff(t *testing.T) {
	fs := newFakeServer(t)
	fs.refuse.Store(503)
	cfg, logs := testConfig(t, fs, "")
	cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 80*time.Millisecond
	h := start(t, cfg, logs)
	eventually(t, "five refused dials", func() bool { return fs.dials.Load() >= 5 })
	st := h.c.Status()
	if st.Connected || !strings.Contains(st.LastError, "unknown device token") || !strings.Contains(st.LastError, "503") {
		t.Errorf("status while refused: %+v", st)
	}
	// 250 ms allows at most about 250/10 + a few dials with the floor of
	// half of 20 ms, and far fewer once the delay reaches 40..80 ms.
	before := fs.dials.Load()
	time.Sleep(250 * time.Millisecond)
	if n := fs.dials.Load() - before; n > 10 || n < 2 {
		t.Errorf("%d dials in 250ms with backoff 20..80ms", n)
	}
	fs.refuse.Store(0)
	fs.next(t)
	waitReady(t, h.c)
	if st := h.c.Status(); st.LastError != "" {
		t.Errorf("last_error kept after connecting: %q", st.LastError)
	}
}

func TestJitterBounds(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, 250 * time.Millisecond, 30 * time.Second} {
		for range 100 {
			if j := jitter(d); j < d/2 || j > d {
				t.Fatalf("jitter(%v) = %v", d, j)
			}
		}
	}
}

func TestSlowServerCtxDeadline(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)

	// The server takes its time (as if 10 s); the caller's budget wins.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := h.c.QR(ctx, apiv1.QRRequest{JobID: "SLOW"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(t0); d < 140*time.Millisecond || d > 2*time.Second {
		t.Errorf("returned after %v with a 150ms budget", d)
	}
	slow := recvAs[*apiv1.QRRequest](t, fc)

	// The late answer reaches nobody; the next call gets its own.
	go func() {
		q := recvAs[*apiv1.QRRequest](t, fc)
		answerQR(fc, slow)
		answerQR(fc, q)
	}()
	resp, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "NEXT"})
	if err != nil || resp.CodeURL != "weixin://NEXT" {
		t.Fatalf("next call got %+v %v", resp, err)
	}
	eventually(t, "the late answer logged", func() bool {
		return strings.Contains(h.logs.String(), "answer for no waiting request")
	})
}

func TestGarbageAndUnknownFrames(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)

	fc.sendRaw([]byte("not json at all"))
	fc.sendRaw([]byte(`{"type":"display.update","id":"U1","x":1}`))
	if e := recvAs[*apiv1.Error](t, fc); e.Re != "U1" || e.Code != apiv1.CodeBadRequest {
		t.Errorf("unknown type answered %+v", e)
	}
	fc.sendRaw([]byte(`{"type":"qr.request","id":"Q9","job_id":"x"}`))
	if e := recvAs[*apiv1.Error](t, fc); e.Re != "Q9" {
		t.Errorf("qr.request from the server answered %+v", e)
	}
	fc.sendRaw([]byte(`{"type":"order.paid","id":"P9","amount_fen":"lots"}`))
	if e := recvAs[*apiv1.Error](t, fc); e.Re != "P9" {
		t.Errorf("malformed order.paid answered %+v", e)
	}
	fc.send(&apiv1.Error{Code: apiv1.CodeRateLimited, Message: "slow down"})
	fc.send(&apiv1.Ack{Re: "01NOSUCHREQUEST"})
	fc.wmu.Lock()
	fc.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	fc.wmu.Unlock()
	if e := recvAs[*apiv1.Error](t, fc); e.Code != apiv1.CodeBadRequest || e.Re != "" {
		t.Errorf("binary frame answered %+v", e)
	}

	go func() { answerQR(fc, recvAs[*apiv1.QRRequest](t, fc)) }()
	resp, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "OK"})
	if err != nil || resp.CodeURL != "weixin://OK" {
		t.Fatalf("after garbage: %+v %v", resp, err)
	}
	if fs.hellos.Load() != 1 {
		t.Errorf("%d connections; the link must survive bad frames", fs.hellos.Load())
	}
}

func TestOversizedFrameDropsLink(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	big := `{"type":"ack","re":"` + strings.Repeat("x", apiv1.MaxFrameBytes) + `"}`
	fc.sendRaw([]byte(big))
	fs.next(t) // reconnected
	waitReady(t, h.c)
	if !strings.Contains(h.logs.String(), "frame too large") {
		t.Error("oversized frame not logged")
	}
}

func TestOrderPaidOnceThenAck(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	var calls atomic.Int32
	release := make(chan struct{})
	cfg.OnPaid = func(p apiv1.OrderPaid) error {
		calls.Add(1)
		if p.OutTradeNo != "P7fK2m" || p.AmountFen != 15300 {
			t.Errorf("OnPaid got %+v", p)
		}
		<-release
		return nil
	}
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)

	paid := func(id string) *apiv1.OrderPaid {
		return &apiv1.OrderPaid{ID: id, OutTradeNo: "P7fK2m", AmountFen: 15300, TransactionID: "42", PaidAt: time.Now()}
	}
	fc.send(paid("D1"))
	fc.send(paid("D2")) // resent while the first is being handled
	// The reader is not blocked by OnPaid: a QR goes through meanwhile.
	go func() { answerQR(fc, recvAs[*apiv1.QRRequest](t, fc)) }()
	if _, err := h.c.QR(context.Background(), apiv1.QRRequest{JobID: "J"}); err != nil {
		t.Fatal(err)
	}
	close(release)
	// Both frames are acked once OnPaid is done.
	for _, want := range []string{"D1", "D2"} {
		if a := recvAs[*apiv1.Ack](t, fc); a.Re != want {
			t.Fatalf("ack re %q, want %s", a.Re, want)
		}
	}
	// Sent again after the ack (say it was lost): acked, not handled again.
	fc.send(paid("D3"))
	if a := recvAs[*apiv1.Ack](t, fc); a.Re != "D3" {
		t.Fatalf("ack re %q, want D3", a.Re)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("OnPaid called %d times", n)
	}
	// Without out_trade_no: refused.
	fc.send(&apiv1.OrderPaid{ID: "D4"})
	if e := recvAs[*apiv1.Error](t, fc); e.Re != "D4" {
		t.Errorf("answered %+v", e)
	}
}

func TestOrderPaidErrorNoAck(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	var calls atomic.Int32
	failed := make(chan struct{})
	cfg.OnPaid = func(p apiv1.OrderPaid) error {
		if calls.Add(1) == 1 {
			defer close(failed)
			return errors.New("printer offline")
		}
		return nil
	}
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	fc.send(&apiv1.OrderPaid{ID: "D1", OutTradeNo: "T1", AmountFen: 100})
	<-failed
	fc.send(&apiv1.OrderPaid{ID: "D2", OutTradeNo: "T1", AmountFen: 100})
	// The first ack the server sees is for the resend: D1 was never acked.
	if a := recvAs[*apiv1.Ack](t, fc); a.Re != "D2" {
		t.Fatalf("ack re %q, want D2", a.Re)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("OnPaid called %d times", n)
	}
}

func TestCancel(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	go func() {
		c := recvAs[*apiv1.QRCancel](t, fc)
		if c.OutTradeNo != "T1" || c.Reason != "paid by cash" {
			t.Errorf("cancel %+v", c)
		}
		fc.send(&apiv1.Ack{Re: c.ID})
		c = recvAs[*apiv1.QRCancel](t, fc)
		fc.send(&apiv1.Error{Re: c.ID, Code: apiv1.CodeNotFound, Message: "no such order"})
	}()
	if err := h.c.Cancel(context.Background(), "T1", "paid by cash"); err != nil {
		t.Fatal(err)
	}
	err := h.c.Cancel(context.Background(), "T2", "paid by card")
	var e apiv1.Error
	if !errors.As(err, &e) || e.Code != apiv1.CodeNotFound {
		t.Fatalf("err = %v", err)
	}
}

func TestMinAgentVersionLogged(t *testing.T) {
	tests := []struct {
		agent, min string
		warn       bool
	}{
		{"0.1.0", "0.2.0", true},
		{"0.2.0-rc.1", "0.2.0", true},
		{"0.3.0", "0.2.0", false},
		{"0.2.0", "0.2.0", false},
		{"dev", "0.2.0", false}, // not comparable: nothing said
	}
	for _, tt := range tests {
		t.Run(tt.agent+"_vs_"+tt.min, func(t *testing.T) {
			fs := newFakeServer(t)
			fs.welcome = func(h *apiv1.Hello) apiv1.Message {
				return &apiv1.Welcome{Re: h.ID, ServerTime: time.Now(), DeviceID: "d", MinAgentVersion: tt.min}
			}
			cfg, logs := testConfig(t, fs, "")
			cfg.AgentVersion = tt.agent
			h := start(t, cfg, logs)
			fs.next(t).ws.Close() // welcomed twice: still one line
			fs.next(t)
			waitReady(t, h.c)
			h.stop()
			line := "the server requires agent version " + tt.min + " or newer; this agent is " + tt.agent
			if n := strings.Count(logs.String(), line); (n == 1) != tt.warn || n > 1 {
				t.Errorf("%d warnings, want warn=%v:\n%s", n, tt.warn, logs.String())
			}
		})
	}
}

func TestVersionLess(t *testing.T) {
	tests := []struct {
		a, b     string
		less, ok bool
	}{
		{"0.1.0", "0.2.0", true, true},
		{"v1.10.0", "1.9.9", false, true},
		{"1.2", "1.2.0", false, true},
		{"1.2.3-alpha", "1.2.3", true, true},
		{"1.2.3", "1.2.3-alpha", false, true},
		{"1.2.3-alpha.2", "1.2.3-alpha.10", true, true},
		{"1.2.3-alpha", "1.2.3-beta", true, true},
		{"1.2.3+build5", "1.2.3", false, true},
		{"dev", "1.0.0", false, false},
		{"", "1.0.0", false, false},
		{"1.0.0", "x.y", false, false},
	}
	for _, tt := range tests {
		less, ok := versionLess(tt.a, tt.b)
		if less != tt.less || ok != tt.ok {
			t.Errorf("versionLess(%q, %q) = %v, %v; want %v, %v", tt.a, tt.b, less, ok, tt.less, tt.ok)
		}
	}
}

func TestUnauthorizedNeverLogsToken(t *testing.T) {
	fs := newFakeServer(t)
	fs.refuse.Store(401)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	eventually(t, "a refusal", func() bool { return strings.Contains(h.c.Status().LastError, "401") })
	h.stop()
	st, _ := json.Marshal(h.c.Status())
	if strings.Contains(string(st), testToken) || strings.Contains(logs.String(), testToken) {
		t.Fatal("token leaked")
	}
	if !strings.Contains(logs.String(), "unknown device token") {
		t.Errorf("refusal reason not logged:\n%s", logs.String())
	}
}

func TestWelcomeTimeoutAndHelloRefused(t *testing.T) {
	fs := newFakeServer(t)
	var n atomic.Int32
	fs.welcome = func(h *apiv1.Hello) apiv1.Message {
		switch n.Add(1) {
		case 1:
			return nil // silence
		case 2:
			return &apiv1.Error{Re: h.ID, Code: apiv1.CodeBadRequest, Message: "protocol 1 not supported"}
		case 3:
			return &apiv1.Welcome{Re: "01SOMEONEELSE", DeviceID: "d"} // for another hello: ignored
		}
		return &apiv1.Welcome{Re: h.ID, ServerTime: time.Now(), DeviceID: "d"}
	}
	cfg, logs := testConfig(t, fs, "")
	cfg.HandshakeTimeout = 150 * time.Millisecond
	h := start(t, cfg, logs)
	for range 4 {
		fs.next(t)
	}
	waitReady(t, h.c)
	for _, want := range []string{"no welcome within", "protocol 1 not supported"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestKeepaliveDetectsDeadLink(t *testing.T) {
	fs := newFakeServer(t)
	fs.noPong.Store(true)
	cfg, logs := testConfig(t, fs, "")
	cfg.PingInterval = 40 * time.Millisecond
	h := start(t, cfg, logs)
	fs.next(t)
	// No pong and no frames: the read deadline (3 pings) ends the link.
	fs.next(t)
	_ = h
}

func TestCleanShutdownSendsCloseFrame(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	h.stop()
	select {
	case <-fc.closed:
	case <-time.After(3 * time.Second):
		t.Fatal("server side still open")
	}
	if fc.close == nil || fc.close.Code != websocket.CloseNormalClosure {
		t.Errorf("close = %v, want a normal close frame", fc.close)
	}
	if h.c.Ready() || h.c.Status().Connected {
		t.Error("still ready after Run returned")
	}
}

func TestNewChecksConfig(t *testing.T) {
	dir := t.TempDir()
	base := Config{URL: "wss://pay.example.com/v1/agent", Token: "t", StateDir: dir}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"ws to loopback", func(c *Config) { c.URL = "ws://127.0.0.1:9280/v1/agent" }, ""},
		{"ws to localhost", func(c *Config) { c.URL = "ws://localhost:9280/v1/agent" }, ""},
		{"ws to the network", func(c *Config) { c.URL = "ws://pay.example.com/v1/agent" }, "only to a loopback host"},
		{"http scheme", func(c *Config) { c.URL = "https://pay.example.com/v1/agent" }, "scheme must be wss"},
		{"no url", func(c *Config) { c.URL = "" }, "no server url"},
		{"no token", func(c *Config) { c.Token = "" }, "no device token"},
		{"no state dir", func(c *Config) { c.StateDir = "" }, "no state directory"},
		{"bad upload", func(c *Config) { c.Upload = "some" }, `upload "some"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mod(&cfg)
			_, err := New(cfg)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("New: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStatusJSON(t *testing.T) {
	cfg, _ := testConfig(t, nil, "")
	cfg.URL = "wss://user:pw@pay.example.com/v1/agent"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c.Status())
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"url", "connected", "since", "last_error", "rules_version", "queued_uploads"} {
		if _, ok := m[k]; !ok {
			t.Errorf("status lacks %q: %s", k, b)
		}
	}
	if strings.Contains(string(b), "pw@") {
		t.Errorf("password shown: %s", b)
	}
}

func TestOrderPaidAckLostWithLinkAckedOnResend(t *testing.T) {
	fs := newFakeServer(t)
	cfg, logs := testConfig(t, fs, "")
	var calls atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	cfg.OnPaid = func(p apiv1.OrderPaid) error {
		calls.Add(1)
		close(entered)
		<-release
		return nil
	}
	h := start(t, cfg, logs)
	fc := fs.next(t)
	waitReady(t, h.c)
	fc.send(&apiv1.OrderPaid{ID: "D1", OutTradeNo: "T1", AmountFen: 100})
	<-entered
	fc.ws.Close() // the link goes while the paid slip prints
	fc2 := fs.next(t)
	waitReady(t, h.c)
	// The server did not see an ack, so it sends the order again, while
	// the slip still prints: acked on the new link when OnPaid ends.
	fc2.send(&apiv1.OrderPaid{ID: "D1", OutTradeNo: "T1", AmountFen: 100})
	close(release)
	if a := recvAs[*apiv1.Ack](t, fc2); a.Re != "D1" {
		t.Fatalf("ack re %q", a.Re)
	}
	// And once more after that: acked at once.
	fc2.send(&apiv1.OrderPaid{ID: "D1", OutTradeNo: "T1", AmountFen: 100})
	if a := recvAs[*apiv1.Ack](t, fc2); a.Re != "D1" {
		t.Fatalf("ack re %q", a.Re)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("OnPaid called %d times", n)
	}
}

func TestRunTwice(t *testing.T) {
	cfg, logs := testConfig(t, nil, "")
	h := start(t, cfg, logs)
	eventually(t, "the first dial", func() bool { return h.c.Status().LastError != "" })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.c.Run(ctx); err == nil {
		t.Error("second Run accepted")
	}
}
