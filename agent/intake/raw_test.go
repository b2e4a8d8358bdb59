package intake

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

func newIntake(t testing.TB, opt Options) (*Intake, *spool.Spool) {
	t.Helper()
	return newIntakeSpool(t, opt, spool.Options{})
}

func newIntakeSpool(t testing.TB, opt Options, so spool.Options) (*Intake, *spool.Spool) {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	if opt.Printers == nil {
		opt.Printers = []string{"front", "kitchen"}
	}
	if testing.Verbose() && opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return New(sp, opt), sp
}

// pipeRaw starts ServeConn on one end of a pipe and returns the other end
// and a channel closed when ServeConn returns.
func pipeRaw(in *Intake, printer string) (net.Conn, chan struct{}) {
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		in.Raw(printer).ServeConn(context.Background(), server)
		close(done)
	}()
	return client, done
}

func jobBytes(t testing.TB, sp *spool.Spool, id string) []byte {
	t.Helper()
	r, err := sp.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil && err != spool.ErrTruncated {
		t.Fatal(err)
	}
	return b
}

// query writes q and reads exactly one reply byte.
func query(t *testing.T, c net.Conn, q []byte) byte {
	t.Helper()
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatalf("reply to % x: %v", q, err)
	}
	return b[0]
}

var (
	dleEOT = func(n byte) []byte { return []byte{0x10, 0x04, n} }
	gsR1   = []byte{0x1D, 'r', 1}
)

func TestStatusOnlyConnectionsMakeNoJobs(t *testing.T) {
	in, sp := newIntake(t, Options{})
	// A port probe: connect and close.
	c, done := pipeRaw(in, "front")
	c.Close()
	<-done
	// A POS polling status the way OPOS does, several times.
	for range 5 {
		c, done = pipeRaw(in, "front")
		want := []byte{0x16, 0x12, 0x12, 0x12, 0x00}
		for i, q := range [][]byte{dleEOT(1), dleEOT(2), dleEOT(3), dleEOT(4), gsR1} {
			if got := query(t, c, q); got != want[i] {
				t.Fatalf("reply to % x = %#02x, want %#02x", q, got, want[i])
			}
		}
		c.Write([]byte{0x10, 0x05, 0x01}) // DLE ENQ: never answered
		c.Close()
		<-done
	}
	if jobs := sp.List(0); len(jobs) != 0 {
		t.Fatalf("status-only connections made %d jobs", len(jobs))
	}
	if st := in.Stats(); st.StatusOnly != 5 || st.Empty != 1 || st.StatusQueries != 25 {
		t.Fatalf("stats = %+v", st)
	}
}

// An hour of a driver polling every 2 s, one connection per poll.
func TestAnHourOfStatusPolls(t *testing.T) {
	in, sp := newIntake(t, Options{})
	for range 1800 {
		c, done := pipeRaw(in, "front")
		if got := query(t, c, dleEOT(1)); got != 0x16 {
			t.Fatalf("DLE EOT 1 = %#x", got)
		}
		c.Close()
		<-done
	}
	entries, _ := os.ReadDir(filepath.Join(sp.Dir(), "jobs"))
	if n := len(sp.List(0)); n != 0 || len(entries) != 0 {
		t.Fatalf("%d jobs, %d printer directories after status polls", n, len(entries))
	}
	if st := in.Stats(); st.StatusOnly != 1800 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLongPollingConnectionMakesNoJob(t *testing.T) {
	in, sp := newIntake(t, Options{})
	c, done := pipeRaw(in, "front")
	asbOff := bytes.Repeat([]byte{0x1D, 'a', 0}, 30000) // 90 KB of status commands, no replies
	if _, err := c.Write(asbOff); err != nil {
		t.Fatal(err)
	}
	if got := query(t, c, dleEOT(1)); got != 0x16 {
		t.Fatalf("DLE EOT 1 = %#x", got)
	}
	c.Close()
	<-done
	if n := len(sp.List(0)); n != 0 {
		t.Fatalf("a polling connection made %d jobs", n)
	}
}

func TestAutomaticStatusBack(t *testing.T) {
	cache := &drivers.StatusCache{}
	cache.Set(drivers.Status{State: drivers.StateOnline})
	in, _ := newIntake(t, Options{Status: func(string) *drivers.StatusCache { return cache }})
	c, done := pipeRaw(in, "front")
	defer func() { c.Close(); <-done }()
	block := func() []byte {
		t.Helper()
		b := make([]byte, 4)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	c.Write([]byte{0x1D, 'a', 0xFF})
	if b := block(); !bytes.Equal(b, []byte{0x10, 0, 0, 0}) {
		t.Fatalf("first ASB block % x", b)
	}
	cache.Set(drivers.Status{State: drivers.StatePaperOut})
	if b := block(); !bytes.Equal(b, []byte{0x18, 0, 0x0C, 0}) {
		t.Fatalf("ASB block after paper out % x", b)
	}
}

func TestStatusRepliesFollowTheCache(t *testing.T) {
	cache := &drivers.StatusCache{}
	in, _ := newIntake(t, Options{Status: func(p string) *drivers.StatusCache {
		if p == "front" {
			return cache
		}
		return nil
	}})
	ask := func() []byte {
		c, done := pipeRaw(in, "front")
		defer func() { c.Close(); <-done }()
		var got []byte
		for _, q := range [][]byte{dleEOT(1), dleEOT(2), dleEOT(3), dleEOT(4), gsR1} {
			got = append(got, query(t, c, q))
		}
		return got
	}
	for _, tc := range []struct {
		name string
		st   drivers.Status
		want []byte
	}{
		// Unknown: the configured status_reply (online).
		{"unknown", drivers.Status{}, []byte{0x16, 0x12, 0x12, 0x12, 0x00}},
		{"online", drivers.Status{State: drivers.StateOnline}, []byte{0x16, 0x12, 0x12, 0x12, 0x00}},
		{"near end", drivers.Status{State: drivers.StateOnline, PaperNearEnd: true}, []byte{0x16, 0x12, 0x12, 0x1E, 0x03}},
		{"paper out", drivers.Status{State: drivers.StatePaperOut}, []byte{0x1E, 0x32, 0x12, 0x72, 0x0C}},
		{"cover open", drivers.Status{State: drivers.StateCoverOpen}, []byte{0x1E, 0x16, 0x12, 0x12, 0x00}},
		{"error", drivers.Status{State: drivers.StateError}, []byte{0x1E, 0x52, 0x32, 0x12, 0x00}},
		{"offline", drivers.Status{State: drivers.StateOffline}, []byte{0x1E, 0x12, 0x12, 0x12, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache.Set(tc.st)
			if got := ask(); !bytes.Equal(got, tc.want) {
				t.Fatalf("replies % x, want % x", got, tc.want)
			}
		})
	}
}

func TestConfiguredReplyForUnknownStatus(t *testing.T) {
	in, _ := newIntake(t, Options{StatusReply: drivers.StatePaperOut})
	c, done := pipeRaw(in, "front")
	defer func() { c.Close(); <-done }()
	if got := query(t, c, dleEOT(1)); got != 0x1E {
		t.Fatalf("DLE EOT 1 with status_reply paper-out = %#x", got)
	}
	if got := query(t, c, dleEOT(4)); got != 0x72 {
		t.Fatalf("DLE EOT 4 with status_reply paper-out = %#x", got)
	}
}

func TestStatusReplyTable(t *testing.T) {
	online := drivers.Status{State: drivers.StateOnline}
	for _, tc := range []struct {
		name string
		cmd  []byte
		want []byte
	}{
		{"GS r 49", []byte{0x1D, 'r', '1'}, []byte{0x00}},
		{"GS r 2 drawer", []byte{0x1D, 'r', 2}, []byte{0x00}},
		{"GS I 1 model", []byte{0x1D, 'I', 1}, []byte{idModel}},
		{"GS I 66 maker", []byte{0x1D, 'I', 66}, []byte("_printpay\x00")},
		{"GS a on", []byte{0x1D, 'a', 0xFF}, []byte{0x10, 0, 0, 0}},
		{"GS a off", []byte{0x1D, 'a', 0}, nil},
		{"GS ( H process ID", []byte{0x1D, '(', 'H', 6, 0, 0x30, 0x30, '1', '2', '3', '4'}, []byte{0x37, 0x22, '1', '2', '3', '4', 0}},
		{"DLE EOT 7 extended", []byte{0x10, 0x04, 7, 1}, nil},
		{"DLE DC4 fn 8", []byte{0x10, 0x14, 8, 1, 3, 20, 1, 6, 2, 8}, nil},
	} {
		got, _, _ := statusReply(tc.cmd, online)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, got, tc.want)
		}
	}
	if b := asbBlock(drivers.Status{State: drivers.StatePaperOut}); !bytes.Equal(b, []byte{0x18, 0, 0x0C, 0}) {
		t.Errorf("ASB paper out % x", b)
	}
}

func TestJobWithStatusPrefixIsByteExact(t *testing.T) {
	in, sp := newIntake(t, Options{})
	c, done := pipeRaw(in, "kitchen")
	if got := query(t, c, dleEOT(1)); got != 0x16 {
		t.Fatalf("DLE EOT 1 = %#x", got)
	}
	body := []byte("\x1b@Table 5\n2 x noodles\n\x1dV\x41\x03")
	c.Write(body)
	c.Close()
	<-done
	jobs := sp.List(0)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs))
	}
	j := jobs[0]
	want := append(dleEOT(1), body...)
	if got := jobBytes(t, sp, j.ID); !bytes.Equal(got, want) || j.Printer != "kitchen" || j.Intake != spool.Complete || j.State != spool.Pending {
		t.Fatalf("job %+v bytes % x, want % x", j, got, want)
	}
}

// Every byte in its own read: commands split across reads are still
// found once, and the job is still byte-exact.
func TestByteAtATime(t *testing.T) {
	in, sp := newIntake(t, Options{})
	c, done := pipeRaw(in, "front")
	replies := make(chan []byte)
	go func() { b, _ := io.ReadAll(c); replies <- b }()
	job := []byte("\x10\x04\x01\x1b@Table 9\n\x1dv0\x00\x03\x00\x01\x00\x10\x04\x02\x10\x04\x02\x1dr\x01\x1dV\x00") // the image's 3 data bytes look like DLE EOT 2
	for i := range job {
		if _, err := c.Write(job[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	c.Close()
	<-done
	if got := <-replies; !bytes.Equal(got, []byte{0x16, 0x12, 0x00}) {
		t.Fatalf("replies % x, want 16 12 00 (DLE EOT 1, DLE EOT 2, GS r 1; none for the image data)", got)
	}
	jobs := sp.List(0)
	if len(jobs) != 1 || !bytes.Equal(jobBytes(t, sp, jobs[0].ID), job) {
		t.Fatalf("jobs %+v", jobs)
	}
}

func TestQueryBytesInsideImageAreNotAnswered(t *testing.T) {
	in, sp := newIntake(t, Options{})
	c, done := pipeRaw(in, "front")
	// GS v 0: 2 bytes wide, 2 rows; the data holds DLE EOT 1 and GS r 1.
	img := []byte{0x1D, 'v', '0', 0, 2, 0, 2, 0, 0x10, 0x04, 0x01, 0x1D}
	job := append(append([]byte("logo\n"), img...), 'r', 1, '\n')
	c.Write(job)
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(c); got <- b }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	<-done
	if b := <-got; len(b) != 0 {
		t.Fatalf("answered bytes inside an image: % x", b)
	}
	if jobs := sp.List(0); len(jobs) != 1 || !bytes.Equal(jobBytes(t, sp, jobs[0].ID), job) {
		t.Fatalf("job not spooled byte-exact: %+v", jobs)
	}
}

func TestProcessIDEchoAfterSpooling(t *testing.T) {
	in, sp := newIntake(t, Options{})
	c, done := pipeRaw(in, "front")
	before := []byte("Total 153.00\n\x1dV\x00")
	c.Write(before)
	c.Write([]byte{0x1D, '(', 'H', 6, 0, 0x30, 0x30, 'A', 'B', 'C', 'D'})
	reply := make([]byte, 7)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reply, []byte{0x37, 0x22, 'A', 'B', 'C', 'D', 0}) {
		t.Fatalf("echo % x", reply)
	}
	jobs := sp.List(0)
	if len(jobs) != 1 || jobs[0].Bytes < int64(len(before)) {
		t.Fatalf("echo sent before the bytes ahead of it were spooled: %+v", jobs)
	}
	c.Close()
	<-done
}

func TestIdleSplitsJobsOnAnOpenConnection(t *testing.T) {
	in, sp := newIntake(t, Options{IdleTimeout: 60 * time.Millisecond, IdleTimeoutNoCut: 400 * time.Millisecond})
	c, done := pipeRaw(in, "front")
	first := []byte("receipt one\n\x1dV\x00\x1bp\x00\x19\xfa\x1b@\n") // cut, then kick, init, feed
	c.Write(first)
	waitJobs(t, sp, 1, spool.Complete, time.Second)
	second := []byte("receipt two, no cut yet\n")
	c.Write(second)
	time.Sleep(150 * time.Millisecond) // past IdleTimeout, well short of IdleTimeoutNoCut
	if jobs := sp.List(0); len(jobs) != 2 || jobs[0].Intake != spool.Receiving {
		t.Fatalf("a job without a cut ended after the short idle: %+v", jobs)
	}
	waitJobs(t, sp, 2, spool.Complete, 2*time.Second)
	c.Close()
	<-done
	jobs := sp.List(0)
	if !bytes.Equal(jobBytes(t, sp, jobs[1].ID), first) || !bytes.Equal(jobBytes(t, sp, jobs[0].ID), second) {
		t.Fatal("split jobs are not byte-exact")
	}
}

func waitJobs(t *testing.T, sp *spool.Spool, n int, st spool.IntakeState, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		jobs := sp.List(0)
		ok := len(jobs) == n
		for _, j := range jobs {
			ok = ok && j.Intake == st
		}
		if ok {
			return
		}
		select {
		case <-sp.Notify("front"):
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("want %d %s jobs, have %+v", n, st, sp.List(0))
}

func TestMaxJobBytes(t *testing.T) {
	in, sp := newIntake(t, Options{MaxJobBytes: 1000})
	c, done := pipeRaw(in, "front")
	go io.Copy(io.Discard, c)
	c.Write(bytes.Repeat([]byte("x"), 600))
	c.Write(bytes.Repeat([]byte("y"), 600)) // crosses the limit: the connection is closed
	<-done
	jobs := sp.List(0)
	if len(jobs) != 1 || jobs[0].Intake != spool.Truncated || !jobs[0].Held || jobs[0].Bytes != 1000 {
		t.Fatalf("oversized job = %+v", jobs)
	}
	if in.Stats().Refused != 1 {
		t.Fatalf("refusal not counted: %+v", in.Stats())
	}
}

func TestSpoolFullRefusesJobsButAnswersStatus(t *testing.T) {
	in, sp := newIntakeSpool(t, Options{}, spool.Options{MinFree: 1 << 62})
	c, done := pipeRaw(in, "front")
	if got := query(t, c, dleEOT(1)); got != 0x16 {
		t.Fatalf("DLE EOT 1 = %#x", got)
	}
	c.Write([]byte("a job\n"))
	<-done // closed by the agent
	if n := len(sp.List(0)); n != 0 {
		t.Fatalf("%d jobs on a full spool", n)
	}
	if in.Stats().Refused != 1 {
		t.Fatalf("refusal not counted")
	}
}

func TestOneByteASecond(t *testing.T) {
	in, sp := newIntake(t, Options{IdleTimeoutNoCut: time.Second, JobTimeout: 300 * time.Millisecond})
	c, done := pipeRaw(in, "front")
	go io.Copy(io.Discard, c)
	go func() {
		for range 50 {
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("a trickling connection was never cut off")
	}
	jobs := sp.List(0)
	if len(jobs) != 1 || jobs[0].Intake != spool.Truncated || jobs[0].Bytes == 0 {
		t.Fatalf("trickled job = %+v", jobs)
	}
}

func TestGarbageAndTruncatedCommands(t *testing.T) {
	in, sp := newIntake(t, Options{})
	garbage := []byte{0x1D, 'v', '0', 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3} // a raster that claims far more data
	c, done := pipeRaw(in, "front")
	c.Write(garbage)
	c.Close()
	<-done
	jobs := sp.List(0)
	if len(jobs) != 1 || jobs[0].Intake != spool.Complete || !bytes.Equal(jobBytes(t, sp, jobs[0].ID), garbage) {
		t.Fatalf("garbage job = %+v", jobs)
	}
}

func TestManyConnections(t *testing.T) {
	in, sp := newIntake(t, Options{MaxConnections: 64})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- in.Raw("front").Serve(ctx, ln) }()
	const n = 500
	var wg sync.WaitGroup
	conns := make([]net.Conn, n)
	for i := range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Write([]byte{'j', 'o', 'b', byte(i), byte(i >> 8), '\n'})
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c)
			c.Close()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := in.Stats()
		if st.Jobs+st.Refused == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	st := in.Stats()
	if st.Jobs+st.Refused != n || st.Jobs == 0 {
		t.Fatalf("%d jobs + %d refused, want %d in all", st.Jobs, st.Refused, n)
	}
	for _, j := range sp.List(0) {
		if b := jobBytes(t, sp, j.ID); len(b) != 6 || j.Intake != spool.Complete {
			t.Fatalf("job %s: % x %s", j.ID, b, j.Intake)
		}
	}
	t.Logf("%d accepted, %d refused at max_connections", st.Jobs, st.Refused)
}

func TestBigJobIsStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB job")
	}
	in, sp := newIntake(t, Options{MaxJobBytes: 200 << 20})
	c, done := pipeRaw(in, "front")
	go io.Copy(io.Discard, c)
	chunk := bytes.Repeat([]byte("0123456789 big receipt line\n\x1b!\x00"), 1024)
	const size = 100 << 20
	written := 0
	for written < size {
		n, err := c.Write(chunk[:min(len(chunk), size-written)])
		if err != nil {
			t.Fatal(err)
		}
		written += n
	}
	c.Close()
	<-done
	jobs := sp.List(0)
	if len(jobs) != 1 || jobs[0].Bytes != size || jobs[0].Intake != spool.Complete {
		t.Fatalf("big job = %+v", jobs)
	}
}

func BenchmarkRawJob4K(b *testing.B) {
	in, sp := newIntake(b, Options{})
	_ = sp
	job := append(bytes.Repeat([]byte("Item 1 x 12.00\n"), 272), 0x1D, 'V', 0)[:4096]
	b.SetBytes(int64(len(job)))
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, done := pipeRaw(in, "front")
			c.Write(job)
			c.Close()
			<-done
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}
