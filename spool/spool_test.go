package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func openT(t testing.TB, fsys FS, opt Options) *Spool {
	t.Helper()
	opt.FS = fsys
	s, err := Open("/spool", opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func spoolJob(t testing.TB, s *Spool, printer string, data []byte) string {
	t.Helper()
	w, err := s.Create(printer, Origin{Proto: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return w.ID()
}

func readJob(t testing.TB, s *Spool, id string) ([]byte, error) {
	t.Helper()
	r, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestCommitReadList(t *testing.T) {
	s := openT(t, newCrashFS(1), Options{})
	defer s.Close()
	a := spoolJob(t, s, "front", []byte("first\x1dV\x00"))
	b := spoolJob(t, s, "front", []byte("second"))
	c := spoolJob(t, s, "back/kitchen", []byte("third"))
	if !(a < b && b < c) {
		t.Fatalf("ids not increasing: %s %s %s", a, b, c)
	}
	got, err := readJob(t, s, a)
	if err != nil || string(got) != "first\x1dV\x00" {
		t.Fatalf("read %q, %v", got, err)
	}
	list := s.List(0)
	if len(list) != 3 || list[0].ID != c || list[2].ID != a {
		t.Fatalf("list not newest first: %+v", list)
	}
	j := list[2]
	if j.Printer != "front" || j.Intake != Complete || j.State != Pending || j.Bytes != 8 || j.ReceivedAt.IsZero() {
		t.Fatalf("job a = %+v", j)
	}
	if l := s.List(1); len(l) != 1 || l[0].ID != c {
		t.Fatalf("List(1) = %+v", l)
	}
}

func TestReaderFollowsReceivingJob(t *testing.T) {
	for _, tc := range []struct {
		name    string
		end     func(w *Writer) error
		wantErr error
	}{
		{"complete", (*Writer).Commit, io.EOF},
		{"truncated", func(w *Writer) error { return w.Abort("connection reset") }, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openT(t, newCrashFS(2), Options{})
			defer s.Close()
			w, err := s.Create("front", Origin{})
			if err != nil {
				t.Fatal(err)
			}
			j, ok := s.Next("front")
			if !ok || j.ID != w.ID() || j.Intake != Receiving {
				t.Fatalf("Next = %+v, %v; want the receiving job", j, ok)
			}
			r, err := s.Open(context.Background(), w.ID())
			if err != nil {
				t.Fatal(err)
			}
			type res struct {
				data []byte
				err  error
			}
			done := make(chan res)
			go func() {
				var buf bytes.Buffer
				p := make([]byte, 3)
				for {
					n, err := r.Read(p)
					buf.Write(p[:n])
					if err != nil {
						done <- res{buf.Bytes(), err}
						return
					}
				}
			}()
			for _, part := range []string{"abc", "defg", "h"} {
				if _, err := w.Write([]byte(part)); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case r := <-done:
				t.Fatalf("reader ended before the job did: %q %v", r.data, r.err)
			case <-time.After(20 * time.Millisecond):
			}
			if err := tc.end(w); err != nil {
				t.Fatal(err)
			}
			got := <-done
			if string(got.data) != "abcdefgh" || got.err != tc.wantErr {
				t.Fatalf("read %q, %v; want abcdefgh, %v", got.data, got.err, tc.wantErr)
			}
		})
	}
}

func TestReaderContext(t *testing.T) {
	s := openT(t, newCrashFS(3), Options{})
	defer s.Close()
	w, _ := s.Create("front", Origin{})
	ctx, cancel := context.WithCancel(context.Background())
	r, err := s.Open(ctx, w.ID())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := r.Read(make([]byte, 8)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel: %v", err)
	}
}

func TestQueueStates(t *testing.T) {
	s := openT(t, newCrashFS(4), Options{})
	defer s.Close()
	a := spoolJob(t, s, "front", []byte("a"))
	wb, _ := s.Create("front", Origin{})
	wb.Write([]byte("partial"))
	wb.Abort("peer closed mid-job")
	c := spoolJob(t, s, "front", []byte("c"))

	step := func(want string) {
		t.Helper()
		j, ok := s.Next("front")
		if !ok || j.ID != want {
			t.Fatalf("Next = %s %v, want %s", j.ID, ok, want)
		}
	}
	step(a)
	if err := s.MarkDone(a); !errors.Is(err, ErrState) {
		t.Fatalf("MarkDone of pending: %v, want ErrState", err)
	}
	if err := s.MarkSending(a); err != nil {
		t.Fatal(err)
	}
	step(c) // the truncated job is held, so c is next
	s.MarkDone(a)
	s.MarkSending(c)
	s.MarkFailed(c, "printer offline")
	if _, ok := s.Next("front"); ok {
		t.Fatal("Next found a job; want none")
	}
	if err := s.Requeue(a); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Get(a); j.Reprint != 1 || j.State != Pending {
		t.Fatalf("requeued a = %+v", j)
	}
	if err := s.Requeue(wb.ID()); err != nil { // a person releases the truncated job
		t.Fatal(err)
	}
	if j, _ := s.Get(wb.ID()); j.Reprint != 0 || j.Held || j.Intake != Truncated {
		t.Fatalf("released b = %+v", j)
	}
	step(a)
}

func TestWaitAndNotify(t *testing.T) {
	s := openT(t, newCrashFS(5), Options{})
	defer s.Close()
	ch := s.Notify("front")
	got := make(chan Job)
	go func() {
		j, err := s.Wait(context.Background(), "front")
		if err != nil {
			t.Error(err)
		}
		got <- j
	}()
	id := spoolJob(t, s, "front", []byte("x"))
	<-ch
	if j := <-got; j.ID != id {
		t.Fatalf("Wait = %s, want %s", j.ID, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, "back"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on empty queue: %v", err)
	}
}

func TestRecoveryStates(t *testing.T) {
	fsys := newCrashFS(6)
	s := openT(t, fsys, Options{})
	done := spoolJob(t, s, "front", []byte("done"))
	sending := spoolJob(t, s, "front", []byte("sending"))
	pending := spoolJob(t, s, "front", []byte("pending"))
	s.MarkSending(done)
	s.UpdateResult(done, func(r *Result) { r.Analyzed, r.Payable, r.AmountFen, r.QR = true, true, 15300, "spliced" })
	s.MarkDone(done)
	s.MarkSending(sending)
	w, _ := s.Create("back", Origin{Proto: "lpd", Queue: "back"})
	w.Write([]byte("half a job"))
	w.f.Sync() // some of it reached the disk
	fsys.SyncDir(w.j.dir)
	fsys.Crash()

	s2 := openT(t, fsys, Options{})
	defer s2.Close()
	want := map[string]struct {
		intake  IntakeState
		state   PrintState
		reprint int
		held    bool
	}{
		done:    {Complete, Done, 0, false},
		sending: {Complete, Pending, 1, false},
		pending: {Complete, Pending, 0, false},
		w.ID():  {Truncated, Pending, 0, true},
	}
	for id, wj := range want {
		j, err := s2.Get(id)
		if err != nil {
			t.Fatalf("job %s lost: %v", id, err)
		}
		if j.Intake != wj.intake || j.State != wj.state || j.Reprint != wj.reprint || j.Held != wj.held {
			t.Errorf("job %s = %s/%s reprint %d held %v; want %+v", id, j.Intake, j.State, j.Reprint, j.Held, wj)
		}
	}
	if j, _ := s2.Get(done); !j.Result.Payable || j.Result.AmountFen != 15300 || j.Result.QR != "spliced" {
		t.Errorf("result not recovered: %+v", j.Result)
	}
	if j, _ := s2.Get(w.ID()); j.Printer != "back" || j.Bytes != int64(len("half a job")) {
		t.Errorf("truncated job = %+v", j)
	}
	// FIFO order survives: the resent job first, then the pending one.
	j, _ := s2.Next("front")
	if j.ID != sending {
		t.Fatalf("Next after recovery = %s, want %s", j.ID, sending)
	}
	if _, ok := s2.Next("back"); ok {
		t.Fatal("a truncated job was offered for printing after a crash")
	}
	// New IDs stay above recovered ones.
	if id := spoolJob(t, s2, "front", []byte("new")); id <= pending {
		t.Fatalf("new id %s not after %s", id, pending)
	}
}

// TestCrashAtEveryStep runs a workload of concurrent jobs, kills the file
// system after n operations for every n, crashes it, and checks the two
// promises: an acknowledged (committed) job is never lost, and no job comes
// back complete with missing or wrong bytes.
func TestCrashAtEveryStep(t *testing.T) {
	payload := func(i int) []byte {
		return bytes.Repeat([]byte{byte('A' + i)}, 100+i*37)
	}
	workload := func(s *Spool) (acked map[string][]byte, mu *sync.Mutex) {
		acked = map[string][]byte{}
		mu = &sync.Mutex{}
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := s.Create(fmt.Sprint("p", i%2), Origin{})
				if err != nil {
					return
				}
				data := payload(i)
				for off := 0; off < len(data); off += 64 {
					if _, err := w.Write(data[off:min(off+64, len(data))]); err != nil {
						w.Abort(err.Error())
						return
					}
				}
				if w.Commit() == nil {
					mu.Lock()
					acked[w.ID()] = data
					mu.Unlock()
					if i%3 == 0 {
						s.MarkSending(w.ID())
						s.MarkDone(w.ID())
					}
				}
			}()
		}
		wg.Wait()
		return acked, mu
	}
	// Count the operations of one clean run.
	probe := newCrashFS(0)
	sp := openT(t, probe, Options{})
	workload(sp)
	total := probe.ops
	sp.Close()
	for n := 1; n <= total+5; n++ {
		for seed := range uint64(3) {
			fsys := newCrashFS(seed*1000 + uint64(n))
			s, err := Open("/spool", Options{FS: fsys})
			if err != nil {
				t.Fatal(err)
			}
			fsys.mu.Lock()
			fsys.failAfter = fsys.ops + n
			fsys.mu.Unlock()
			acked, _ := workload(s)
			fsys.Crash()
			s2, err := Open("/spool", Options{FS: fsys})
			if err != nil {
				t.Fatalf("step %d: reopen after crash: %v", n, err)
			}
			for id, data := range acked {
				j, err := s2.Get(id)
				if err != nil {
					t.Fatalf("step %d seed %d: acknowledged job %s lost", n, seed, id)
				}
				if j.Intake != Complete {
					t.Fatalf("step %d: acknowledged job %s is %s", n, id, j.Intake)
				}
				if got, _ := readJob(t, s2, id); !bytes.Equal(got, data) {
					t.Fatalf("step %d: acknowledged job %s has %d bytes, want %d", n, id, len(got), len(data))
				}
			}
			for _, j := range s2.List(0) {
				if j.Intake != Complete {
					if j.State == Pending && !j.Held {
						t.Fatalf("step %d: %s job %s would print automatically", n, j.Intake, j.ID)
					}
					continue
				}
				got, err := readJob(t, s2, j.ID)
				if err != io.EOF && err != nil {
					t.Fatalf("step %d: read %s: %v", n, j.ID, err)
				}
				i := int(got[0] - 'A')
				if !bytes.Equal(got, payload(i)) {
					t.Fatalf("step %d: complete job %s has %d bytes, want %d", n, j.ID, len(got), len(payload(i)))
				}
			}
			s2.Close()
		}
	}
	t.Logf("crashed at each of %d steps", total+5)
}

func TestTornJournalTail(t *testing.T) {
	fsys := newCrashFS(7)
	s := openT(t, fsys, Options{})
	id := spoolJob(t, s, "front", []byte("kept"))
	s.Close()
	// Garbage after the last good record, as a torn write leaves it.
	f, _ := fsys.OpenFile("/spool/journal", 0x401 /* O_WRONLY|O_APPEND */, 0)
	f.Write([]byte("deadbeef {\"v\":9,\"job\":{\"id\":\"x"))
	s2 := openT(t, fsys, Options{})
	defer s2.Close()
	if j, err := s2.Get(id); err != nil || j.Intake != Complete {
		t.Fatalf("job after torn tail: %+v %v", j, err)
	}
}

func TestMinFreeAndRetention(t *testing.T) {
	fsys := newCrashFS(8)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openT(t, fsys, Options{MinFree: 1000, Retention: time.Hour, Now: clock})
	defer s.Close()
	old := spoolJob(t, s, "front", []byte("old"))
	s.MarkSending(old)
	s.MarkDone(old)
	now = now.Add(30 * time.Minute)
	recent := spoolJob(t, s, "front", []byte("recent"))
	s.MarkSending(recent)
	s.MarkDone(recent)
	waiting := spoolJob(t, s, "front", []byte("waiting"))

	now = now.Add(45 * time.Minute) // old finished 75 min ago, recent 45
	if n, err := s.Prune(); n != 1 || err != nil {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if _, err := s.Get(old); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old job still there: %v", err)
	}

	fsys.free = 10 // below MinFree: done jobs go first, then Create refuses
	if _, err := s.Create("front", Origin{}); !errors.Is(err, ErrFull) {
		t.Fatalf("Create on a full disk: %v, want ErrFull", err)
	}
	if _, err := s.Get(recent); !errors.Is(err, ErrNotFound) {
		t.Fatalf("done job not pruned for space: %v", err)
	}
	if _, err := s.Get(waiting); err != nil {
		t.Fatalf("a pending job was pruned: %v", err)
	}
	if st := s.Stats(); st.Refused != 1 || st.Pruned != 2 || st.Jobs[Pending] != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestEscapeName(t *testing.T) {
	for _, name := range []string{"front", "", "..", "a/b", "收银台", "x%y z"} {
		e := escapeName(name)
		if bytes.ContainsAny([]byte(e), "/.\\ ") {
			t.Errorf("escapeName(%q) = %q holds a path character", name, e)
		}
		if back, err := unescapeName(e); err != nil || back != name {
			t.Errorf("unescapeName(%q) = %q, %v; want %q", e, back, err, name)
		}
	}
}

func TestLockedSpool(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestOSRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 70000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	id := spoolJob(t, s, "front", data)
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := readJob(t, s, id)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
}

func BenchmarkCommit4K(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := bytes.Repeat([]byte("x"), 4096)
	b.SetBytes(4096)
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w, err := s.Create("front", Origin{})
			if err != nil {
				b.Fatal(err)
			}
			w.Write(data)
			if err := w.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

func BenchmarkRecover10000(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 512)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10000 / 16 {
				w, _ := s.Create(fmt.Sprint("p", (g+i)%3), Origin{})
				w.Write(data)
				w.Commit()
			}
		}()
	}
	wg.Wait()
	n := len(s.List(0))
	s.Close()
	b.ResetTimer()
	for range b.N {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if got := len(s.List(0)); got != n {
			b.Fatalf("recovered %d jobs, want %d", got, n)
		}
		s.Close()
	}
	b.ReportMetric(float64(n), "jobs")
}

func TestJournalCompaction(t *testing.T) {
	fsys := newCrashFS(9)
	s := openT(t, fsys, Options{})
	var ids []string
	for i := range 50 {
		id := spoolJob(t, s, "front", []byte(fmt.Sprint("job ", i)))
		ids = append(ids, id)
		for k := range 100 { // many journal lines per job
			s.UpdateResult(id, func(r *Result) { r.AmountFen = int64(k) })
		}
	}
	s.MarkSending(ids[0])
	s.MarkDone(ids[0])
	before := s.jlines
	if err := s.maybeCompact(); err != nil {
		t.Fatal(err)
	}
	if s.jlines >= before || s.jlines != 50 {
		t.Fatalf("journal lines %d → %d, want 50", before, s.jlines)
	}
	s.UpdateResult(ids[1], func(r *Result) { r.QR = "none" }) // appended after the swap
	s.MarkSending(ids[1])
	fsys.Crash()
	s2 := openT(t, fsys, Options{})
	defer s2.Close()
	if j, _ := s2.Get(ids[0]); j.State != Done || j.Result.AmountFen != 99 {
		t.Fatalf("job 0 after compaction and crash: %+v", j)
	}
	if j, _ := s2.Get(ids[1]); j.Result.QR != "none" || j.Reprint != 1 {
		t.Fatalf("job 1 after compaction and crash: %+v", j)
	}
	if n := len(s2.List(0)); n != 50 {
		t.Fatalf("%d jobs after compaction, want 50", n)
	}
}

// TestCrashDuringRecovery crashes the file system at every step of Open's
// recovery and journal compaction: committed jobs survive that too.
func TestCrashDuringRecovery(t *testing.T) {
	setup := func(seed uint64) (*crashFS, map[string][]byte) {
		fsys := newCrashFS(seed)
		s := openT(t, fsys, Options{})
		acked := map[string][]byte{}
		for i := range 5 {
			data := bytes.Repeat([]byte{byte('a' + i)}, 50+i)
			acked[spoolJob(t, s, fmt.Sprint("p", i%2), data)] = data
		}
		s.MarkSending(s.List(0)[0].ID)
		w, _ := s.Create("p0", Origin{})
		w.Write([]byte("unfinished"))
		fsys.Crash()
		return fsys, acked
	}
	probe, _ := setup(0)
	start := probe.ops
	s, err := Open("/spool", Options{FS: probe})
	if err != nil {
		t.Fatal(err)
	}
	steps := probe.ops - start
	s.Close()
	for k := 1; k <= steps+2; k++ {
		fsys, acked := setup(uint64(k))
		fsys.failAfter = fsys.ops + k
		if s, err := Open("/spool", Options{FS: fsys}); err == nil {
			s.Close()
		}
		fsys.Crash()
		s, err := Open("/spool", Options{FS: fsys})
		if err != nil {
			t.Fatalf("step %d: reopen: %v", k, err)
		}
		for id, data := range acked {
			if got, err := readJob(t, s, id); err != io.EOF && err != nil || !bytes.Equal(got, data) {
				t.Fatalf("step %d: job %s: %q, %v", k, id, got, err)
			}
		}
		s.Close()
	}
	t.Logf("crashed at each of %d recovery steps", steps+2)
}

func TestDiscard(t *testing.T) {
	fsys := newCrashFS(10)
	s := openT(t, fsys, Options{})
	w, _ := s.Create("front", Origin{})
	if err := w.Discard(); err != nil {
		t.Fatal(err)
	}
	if n := len(s.List(0)); n != 0 {
		t.Fatalf("%d jobs after Discard", n)
	}
	s.Close()
	s = openT(t, fsys, Options{})
	defer s.Close()
	if n := len(s.List(0)); n != 0 {
		t.Fatalf("%d jobs after Discard and reopen", n)
	}
}

// MarkResend counts a resend of a job being sent, durably, and only then.
func TestMarkResend(t *testing.T) {
	fs := newCrashFS(5)
	s := openT(t, fs, Options{})
	id := spoolJob(t, s, "front", []byte("job"))
	if err := s.MarkResend(id); !errors.Is(err, ErrState) {
		t.Fatalf("MarkResend of a pending job: %v, want ErrState", err)
	}
	s.MarkSending(id)
	if err := s.MarkResend(id); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Get(id); j.Reprint != 1 || j.State != Sending {
		t.Fatalf("after MarkResend: %+v", j)
	}
	// Synced: a crash now keeps the count (recovery adds its own resend).
	fs.Crash()
	s2 := openT(t, fs, Options{})
	defer s2.Close()
	if j, _ := s2.Get(id); j.Reprint != 2 || j.State != Pending {
		t.Fatalf("after a crash: %+v, want reprint 2 (one resend, one recovery), pending", j)
	}
}
