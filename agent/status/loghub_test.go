package status

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/internal/receiptgen"
)

func TestLogHubLines(t *testing.T) {
	var next strings.Builder
	h := NewLogHub(slog.NewTextHandler(&next, nil), 3)
	log := slog.New(h).With("printer", "front").WithGroup("job")
	log.Info("printed", "id", "01J", "bytes", 12)
	log.Warn("odd bytes", "text", "a\x1b[31mred\n<b>x</b>", "bad", string([]byte{0xff, 'z'}))
	slog.New(h).Debug("not enabled")
	slog.New(h).Error("three")
	slog.New(h).Info("four", slog.Group("g", "k", "v"))
	got := h.Lines()
	var texts []string
	for _, l := range got {
		texts = append(texts, l.Level+" "+l.Text)
	}
	want := []string{
		`WARN odd bytes printer=front job.text="a\x1b[31mred\n<b>x</b>" job.bad="\xffz"`,
		"ERROR three",
		"INFO four g.k=v",
	}
	if !slices.Equal(texts, want) {
		t.Fatalf("lines:\n%q\nwant\n%q", texts, want)
	}
	if got[0].Seq != 2 || got[2].Seq != 4 || got[0].Lvl != int(slog.LevelWarn) {
		t.Fatalf("seq/lvl %+v", got)
	}
	if !strings.Contains(next.String(), "msg=printed printer=front job.id=01J") {
		t.Fatalf("next handler did not get the records:\n%s", next.String())
	}
	// A logger that writes nowhere still feeds the tail, and is not
	// handed records it does not want.
	quiet := NewLogHub(slog.NewTextHandler(&next, &slog.HandlerOptions{Level: slog.LevelError}), 5)
	next.Reset()
	slog.New(quiet).Info("tail only")
	slog.New(quiet).Debug("nowhere")
	if l := quiet.Lines(); len(l) != 1 || l[0].Text != "tail only" || next.Len() != 0 {
		t.Fatalf("quiet next: %v, next got %q", l, next.String())
	}
	if long := clean(strings.Repeat("é", maxLineBytes)); len(long) > maxLineBytes+8 || !strings.HasSuffix(long, "…") {
		t.Fatalf("long line not capped: %d", len(long))
	}
}

// A hub client that never reads is dropped once its queue is full; the
// others keep receiving, and logging never waits.
func TestLogHubDropsStalledSubscriber(t *testing.T) {
	h := NewLogHub(nil, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.Run(ctx) }()
	stalled, _, ok := h.subscribe(ctx)
	fast, _, ok2 := h.subscribe(ctx)
	if !ok || !ok2 {
		t.Fatal("subscribe failed")
	}
	var got []uint64
	var received atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for msg := range fast.send {
			var l LogLine
			if err := json.Unmarshal(msg, &l); err != nil {
				t.Error(err)
			}
			got = append(got, l.Seq)
			received.Add(1)
		}
	}()
	log := slog.New(h)
	for i := range 2 * clientBuffer {
		log.Info("line", "i", i)
		if i%64 == 0 {
			time.Sleep(time.Millisecond) // let the hub keep up, as at a real rate
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.Stats().DroppedClients == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := h.Stats(); st.DroppedClients != 1 || st.Clients != 1 {
		t.Fatalf("stats %+v", st)
	}
	n := 0
	for range stalled.send { // closed by the hub after what fitted
		n++
	}
	if n != clientBuffer {
		t.Fatalf("stalled client got %d lines before being dropped", n)
	}
	waitFor(t, func() bool { return received.Load() == 2*clientBuffer })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(got) != 2*clientBuffer || got[len(got)-1] != 2*clientBuffer {
		t.Fatalf("fast client got %d lines, last %v", len(got), got[len(got)-1:])
	}
	if err := h.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
}

// dialLogs opens the log tail websocket; a stalled client gets a tiny
// receive buffer so that the server's writes back up quickly.
func dialLogs(t *testing.T, base string, stalled bool) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil && stalled {
			c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/logs/ws"
	c, resp, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLogWebsocketOrigin(t *testing.T) {
	f := newFixture(t, "")
	u := "ws" + strings.TrimPrefix(f.ts.URL, "http") + "/api/logs/ws"
	_, resp, err := websocket.DefaultDialer.Dial(u, map[string][]string{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin websocket: %v %v", err, resp)
	}
	c, resp, err := websocket.DefaultDialer.Dial(u, map[string][]string{"Origin": {f.ts.URL}})
	if err != nil {
		t.Fatalf("same-origin websocket: %v %v", err, resp)
	}
	c.Close()
}

// The case: 1 000 lines/s, one browser tab that stopped reading and
// one that reads. The stalled one is dropped; the reading one sees the
// latest line.
func TestLogTailDropsStalledWebsocket(t *testing.T) {
	f := newFixture(t, "")
	stalled := dialLogs(t, f.ts.URL, true)
	reader := dialLogs(t, f.ts.URL, false)
	var backlog []LogLine
	if err := reader.ReadJSON(&backlog); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return f.hub.Stats().Clients == 2 })

	lines := make(chan LogLine, 1<<16)
	go func() {
		defer close(lines)
		for {
			var l LogLine
			if err := reader.ReadJSON(&l); err != nil {
				return
			}
			lines <- l
		}
	}()
	pad := strings.Repeat("x", 3000) // fills the stalled socket's buffers sooner
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	sent := 0
	for f.hub.Stats().DroppedClients == 0 {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("stalled client not dropped after %d lines: %+v", sent, f.hub.Stats())
		}
		<-tick.C
		f.log.Info("busy", "n", sent, "pad", pad)
		sent++
	}
	t.Logf("stalled client dropped after %d lines (%v)", sent, time.Since(start))
	f.log.Info("after the drop")
	for l := range lines {
		if l.Text == "after the drop" {
			break
		}
	}
	if st := f.hub.Stats(); st.Clients != 1 || st.DroppedClients != 1 {
		t.Fatalf("stats %+v", st)
	}
	stalled.Close()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 15s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// printOp is a representative piece of a worker's work on one receipt:
// analyse it, write it to a printer connection, log what happened.
type printOp struct {
	data    []byte
	printer net.Conn
	log     *slog.Logger
}

func (p printOp) run() {
	rep := receipt.Analyze(p.data, receipt.Options{})
	p.printer.Write(p.data)
	p.log.Info("worker: job printed", "job", "01JTEST", "bytes", len(p.data), "payable", rep.Payable, "reason", rep.Reason)
}

func p99(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)*99/100]
}

// Printing latency with the log tail busy: 1 000 lines/s through the hub
// with a stalled websocket client (re-dialled whenever it is dropped) and a
// reading one, against the same work while no lines flow. The issue asks
// for p99 within 1 ms of the baseline. The two conditions alternate in
// short blocks so that the machine's other load falls on both alike.
func TestLogTailDoesNotSlowPrinting(t *testing.T) {
	// The machine runs other suites at the same time; a measurement spoilt
	// by them is taken again, up to three times.
	for try := 1; ; try++ {
		base, loaded := measureLogLoad(t)
		if loaded-base <= time.Millisecond {
			return
		}
		if raceEnabled {
			t.Skipf("race detector on: p99 %v vs %v is not a latency figure", loaded, base)
		}
		if try == 3 {
			t.Fatalf("p99 %v with the log tail busy vs %v baseline: more than 1ms worse", loaded, base)
		}
	}
}

func measureLogLoad(t *testing.T) (base, loaded time.Duration) {
	f := newFixture(t, "")
	data, err := receiptgen.Encode([]byte(gbkReceipt))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
		}
	}()
	pc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	op := printOp{data, pc, f.log.With("printer", "front")}
	for range 200 {
		op.run() // warm up
	}

	var producing atomic.Bool
	var produced atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		other := f.log.With("component", "intake")
		pad := strings.Repeat("y", 4000) // big lines fill the stalled client's buffers within the test
		var on time.Duration             // time spent producing
		last := time.Now()
		for ctx.Err() == nil {
			<-tick.C
			now := time.Now()
			if !producing.Load() {
				last = now
				continue
			}
			on += now.Sub(last)
			last = now
			// Catch up when a tick came late: 1 000 lines per second on average.
			for produced.Load() < on.Milliseconds() {
				n := produced.Add(1)
				other.Info("status poll answered", "peer", "127.0.0.1:50123", "n", n, "pad", pad)
			}
		}
	}()
	reader := dialLogs(t, f.ts.URL, false)
	go func() {
		defer wg.Done()
		for {
			if _, _, err := reader.NextReader(); err != nil {
				return
			}
		}
	}()
	dialLogs(t, f.ts.URL, true)
	dropped := f.hub.Stats().DroppedClients

	const blocks, per = 24, 100
	var bases, loads []time.Duration
	var loadedTime time.Duration
	for blk := range 2 * blocks {
		load := blk%2 == 1
		producing.Store(load)
		start := time.Now()
		for range per {
			if got := f.hub.Stats().DroppedClients; got != dropped {
				dropped = got
				dialLogs(t, f.ts.URL, true)
			}
			s := time.Now()
			op.run()
			d := time.Since(s)
			if load {
				loads = append(loads, d)
			} else {
				bases = append(bases, d)
			}
			time.Sleep(200 * time.Microsecond) // jobs come one after another, not in a spin
		}
		if load {
			loadedTime += time.Since(start)
		}
	}
	producing.Store(false)
	cancel()
	reader.Close()
	wg.Wait()
	st := f.hub.Stats()
	pb, pl := p99(bases), p99(loads)
	rate := float64(produced.Load()) / loadedTime.Seconds()
	t.Logf("print op p99: baseline %v, with %.0f log lines/s and a stalled client %v (diff %v); medians %v / %v; stalled clients dropped: %d",
		pb, rate, pl, pl-pb, bases[len(bases)/2], loads[len(loads)/2], st.DroppedClients)
	if rate < 700 {
		t.Logf("the producer fell behind (%.0f lines/s): the machine is busy", rate)
	}
	if st.DroppedClients == 0 {
		t.Errorf("the stalled client was never dropped")
	}
	return pb, pl
}

// BenchmarkLogThroughHub is the cost a log call pays for the hub, with a
// stalled client connected.
func BenchmarkLogThroughHub(b *testing.B) {
	h := NewLogHub(slog.NewJSONHandler(io.Discard, nil), 500)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Run(ctx)
	h.subscribe(ctx) // never read
	log := slog.New(h).With("printer", "front")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		log.Info("worker: job printed", "job", "01JTEST", "bytes", 1234, "i", i)
	}
}
