package cloud

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/server/apiv1"
)

const framesDir = "../../server/apiv1/testdata/frames"

func sharedFrames(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(framesDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no frames in %s: %v", framesDir, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = []byte(strings.TrimSpace(string(b)))
	}
	return out
}

// offline is a client with a session that has no socket: frames go to
// handleFrame directly and the answers pile up in s.out.
func offline(t testing.TB, onPaid func(apiv1.OrderPaid) error) (*Client, *session) {
	t.Helper()
	cfg, _ := testConfig(t, nil, "")
	cfg.OnPaid = onPaid
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(c, nil)
	s.out = make(chan []byte, 4096)
	t.Cleanup(func() { s.fail(ErrDisconnected); c.handlers.Wait() })
	return c, s
}

// TestSharedFrames feeds the example of every frame to the client, as if
// the server had sent it, and checks what the client does with it.
func TestSharedFrames(t *testing.T) {
	frames := sharedFrames(t)
	want := []string{"ack", "error", "hello", "order.paid", "qr.cancel", "qr.request", "qr.response",
		"qr.response-paid", "receipt.upload", "rules", "welcome"}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range frames {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(got, want) {
		t.Fatalf("frames %v, want %v", got, want)
	}

	paid := make(chan apiv1.OrderPaid, 1)
	c, s := offline(t, func(p apiv1.OrderPaid) error { paid <- p; return nil })
	// Waiting calls with the ids the example answers carry.
	waiting := map[string]string{
		"01JDQ3Z8M6A0000000000000Q1": apiv1.TypeQRResponse,
		"01JDQ3Z8M6A0000000000000Q2": apiv1.TypeQRResponse,
		"01JDQ3Z8M6A0000000000000H1": apiv1.TypeWelcome,
		"01JDQ3Z8M6A0000000000000P1": apiv1.TypeAck,
	}
	chans := map[string]chan result{}
	for id, typ := range waiting {
		chans[id] = make(chan result, 1)
		s.pending[id] = waiter{want: typ, ch: chans[id]}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range frames {
			yield(k)
		}
	})
	sort.Strings(names)
	for _, name := range names {
		c.handleFrame(s, frames[name])
	}

	// Frames only agents send are answered with error, re = their id.
	answers := map[string]apiv1.Message{}
	for len(s.out) > 0 {
		m, err := apiv1.Decode(<-s.out)
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *apiv1.Error:
			answers[m.Re] = m
		case *apiv1.Ack:
			answers[m.Re] = m
		}
	}
	select {
	case p := <-paid:
		if p.OutTradeNo != "P7fK2mQ9xZ3bW8nR4tY6" || p.AmountFen != 15300 || !p.PaidAt.Equal(time.Date(2026, 11, 26, 12, 3, 12, 0, time.UTC)) {
			t.Errorf("OnPaid got %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("order.paid not handed to OnPaid")
	}
	c.handlers.Wait()
	for len(s.out) > 0 {
		if m, _ := apiv1.Decode(<-s.out); m != nil {
			if a, ok := m.(*apiv1.Ack); ok {
				answers[a.Re] = a
			}
		}
	}
	for _, id := range []string{"01JDQ3Z8M6A0000000000000H1", "01JDQ3Z8M6A0000000000000C1", "01JDQ3Z8M6A0000000000000U1"} {
		if e, ok := answers[id].(*apiv1.Error); !ok || e.Code != apiv1.CodeBadRequest {
			t.Errorf("agent-only frame %s answered %+v", id, answers[id])
		}
	}
	if _, ok := answers["01JDQ3Z8M6A0000000000000R1"].(*apiv1.Ack); !ok {
		t.Errorf("rules push answered %+v", answers["01JDQ3Z8M6A0000000000000R1"])
	}
	if c.RulesVersion() != "2026-11-21" {
		t.Errorf("rules version %q after the push", c.RulesVersion())
	}

	// Each waiting call got the answer carrying its id, of its type.
	check := func(id string, ok func(result) bool) {
		t.Helper()
		select {
		case r := <-chans[id]:
			if !ok(r) {
				t.Errorf("%s got %+v", id, r)
			}
		default:
			t.Errorf("%s got no answer", id)
		}
	}
	check("01JDQ3Z8M6A0000000000000Q1", func(r result) bool {
		// qr.response and error both carry Q1; the first one wins.
		e, isErr := r.err.(apiv1.Error)
		q, isResp := r.msg.(*apiv1.QRResponse)
		return (isErr && e.Code == apiv1.CodeAmountCap) || (isResp && q.CodeURL == "weixin://wxpay/bizpayurl?pr=Ab3dEf9")
	})
	check("01JDQ3Z8M6A0000000000000Q2", func(r result) bool {
		q, ok := r.msg.(*apiv1.QRResponse)
		return ok && q.State == apiv1.StatePaid
	})
	check("01JDQ3Z8M6A0000000000000H1", func(r result) bool {
		w, ok := r.msg.(*apiv1.Welcome)
		return ok && w.DeviceID == "dev_7Q2M9K4C1X" && w.MerchantName == "老王面馆"
	})
	check("01JDQ3Z8M6A0000000000000P1", func(r result) bool {
		_, ok := r.msg.(*apiv1.Ack)
		return ok
	})
}

// FuzzHandleFrame feeds anything to the inbound frame handling: it must not
// panic, must answer only with valid frames within the size limit, and
// must never hand a waiting call an answer that carries another id.
func FuzzHandleFrame(f *testing.F) {
	for _, b := range sharedFrames(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"type":"qr.response","re":"A","out_trade_no":"T","code_url":"weixin://a","state":"open"}`))
	f.Add([]byte(`{"type":"error","re":"B","code":"amount_cap","message":"m","retryable":false}`))
	f.Add([]byte(`{"type":"x","id":"A"}`))
	f.Add([]byte(`{"type":"qr.response","re":"B","out_trade_no":1}`))
	f.Add([]byte(`not json`))
	c, _ := offline(f, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSession(c, nil)
		s.out = make(chan []byte, 4096)
		defer s.fail(ErrDisconnected)
		a, b := make(chan result, 1), make(chan result, 1)
		s.pending["A"] = waiter{want: apiv1.TypeQRResponse, ch: a}
		s.pending["B"] = waiter{want: apiv1.TypeAck, ch: b}
		c.handleFrame(s, data)
		c.handlers.Wait()
		for len(s.out) > 0 {
			out := <-s.out
			if len(out) > apiv1.MaxFrameBytes {
				t.Fatalf("answer of %d bytes", len(out))
			}
			if _, err := apiv1.Decode(out); err != nil {
				t.Fatalf("invalid answer %s: %v", out, err)
			}
		}
		for id, ch := range map[string]chan result{"A": a, "B": b} {
			select {
			case r := <-ch:
				var re string
				switch m := r.msg.(type) {
				case *apiv1.QRResponse:
					re = m.Re
				case *apiv1.Ack:
					re = m.Re
				case nil:
					re = id // an error for this call
				default:
					t.Fatalf("%s got %T", id, m)
				}
				if re != id {
					t.Fatalf("call %s got the answer for %s", id, re)
				}
			default:
			}
		}
	})
}

// BenchmarkQRRoundTrip times qr.request → qr.response over loopback with a
// server that answers at once.
func BenchmarkQRRoundTrip(b *testing.B) {
	fs := newFakeServer(b)
	cfg, logs := testConfig(b, fs, "")
	cfg.Logger = nil
	h := start(b, cfg, logs)
	fc := fs.next(b)
	waitReady(b, h.c)
	go func() {
		for data := range fc.in {
			m, err := apiv1.Decode(data)
			if q, ok := m.(*apiv1.QRRequest); ok && err == nil {
				answerQR(fc, q)
			}
		}
	}()
	r := sampleReceipt()
	req := apiv1.QRRequest{JobID: "JOB", Printer: "front", AmountFen: 15300, OrderNo: "A1024", Receipt: &r}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := h.c.QR(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
