package serial

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/fakeprinter"
)

func setup(t testing.TB, cfg drivers.Config) (drivers.Printer, *fakeprinter.Printer, *os.File) {
	t.Helper()
	master, slave := openPTY(t)
	cfg.Device = slave
	if cfg.Cache == nil {
		cfg.Cache = new(drivers.StatusCache)
	}
	p, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	fp := fakeprinter.New(master)
	go fp.Serve()
	return p, fp, master
}

func waitLen(t *testing.T, fp *fakeprinter.Printer, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !fp.WaitLen(ctx, n) {
		t.Fatalf("printer got %d bytes, want %d", len(fp.Bytes()), n)
	}
}

func waitState(t *testing.T, c *drivers.StatusCache, want drivers.PrinterState) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		ch := c.Changed()
		if c.Get().State == want {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("state %v, want %v", c.Get().State, want)
		}
	}
}

func allBytes(repeat int) []byte {
	var b []byte
	for r := 0; r < repeat; r++ {
		for i := 0; i < 256; i++ {
			b = append(b, byte(i))
		}
	}
	return b
}

func TestAllByteValuesArriveExactly(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  drivers.Config
	}{
		{"115200 8N1", drivers.Config{Baud: 115200}},
		{"9600 8E2", drivers.Config{Baud: 9600, DataBits: 8, Parity: "even", StopBits: 2}},
		{"rtscts", drivers.Config{Baud: 19200, Flow: "rtscts"}},
		{"chunked", drivers.Config{Baud: 115200, ChunkSize: 100, ChunkDelay: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, fp, _ := setup(t, tc.cfg)
			job := allBytes(8)
			if n, err := p.Write(job); n != len(job) || err != nil {
				t.Fatalf("write %d %v", n, err)
			}
			waitLen(t, fp, len(job))
			if got := fp.Bytes(); !bytes.Equal(got, job) {
				t.Fatalf("received %d bytes, differing from the %d sent", len(got), len(job))
			}
		})
	}
}

func TestThrottleRate(t *testing.T) {
	// 2000 bytes at 10000 B/s in 500-byte chunks: at least ~150 ms.
	p, fp, _ := setup(t, drivers.Config{Throttle: 10000, ChunkSize: 500})
	job := bytes.Repeat([]byte("x"), 2000)
	start := time.Now()
	if _, err := p.Write(job); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 140*time.Millisecond {
		t.Fatalf("throttled write took only %v", el)
	}
	waitLen(t, fp, len(job))
}

func TestForwardedQueryFeedsCache(t *testing.T) {
	cache := new(drivers.StatusCache)
	p, _, _ := setup(t, drivers.Config{Cache: cache})
	cache.Expect(drivers.QueryPrinter)
	if _, err := p.Write([]byte("text\n\x10\x04\x01")); err != nil {
		t.Fatal(err)
	}
	waitState(t, cache, drivers.StateOnline)
	if b, ok := cache.Reply(drivers.QueryPrinter); !ok || b != 0x16 {
		t.Fatalf("reply %#x %v", b, ok)
	}
}

func TestStatusPollAndPaperOut(t *testing.T) {
	cache := new(drivers.StatusCache)
	p, fp, _ := setup(t, drivers.Config{Cache: cache, StatusPoll: true, PollInterval: 30 * time.Millisecond})
	waitState(t, cache, drivers.StateOnline)
	fp.SetMode(fakeprinter.PaperOut)
	waitState(t, cache, drivers.StatePaperOut)
	if s, err := p.Status(context.Background()); err != nil || s.State != drivers.StatePaperOut {
		t.Fatalf("Status %v %v", s, err)
	}
	// What went to the printer is only polls: DLE EOT 1, 2, 4 repeated. The
	// poller may be in the middle of a round when the bytes are read, so the
	// last round may be incomplete.
	got := fp.Bytes()
	round := []byte{0x10, 4, 1, 0x10, 4, 2, 0x10, 4, 4}
	if len(got) < len(round) || !bytes.HasPrefix(bytes.Repeat(round, len(got)/len(round)+1), got) {
		t.Fatalf("unexpected bytes at the printer: % x", got[:min(len(got), 30)])
	}
}

func TestNoPollsWithoutStatusPoll(t *testing.T) {
	cache := new(drivers.StatusCache)
	p, fp, _ := setup(t, drivers.Config{Cache: cache, PollInterval: 10 * time.Millisecond})
	time.Sleep(60 * time.Millisecond)
	p.Write([]byte("A"))
	waitLen(t, fp, 1)
	if got := fp.Bytes(); string(got) != "A" {
		t.Fatalf("driver wrote % x", got)
	}
}

func TestSilentAndGarbagePrinters(t *testing.T) {
	cache := new(drivers.StatusCache)
	p, fp, _ := setup(t, drivers.Config{Cache: cache})
	fp.SetMode(fakeprinter.Silent)
	cache.Expect(drivers.QueryPrinter)
	p.Write([]byte{0x10, 0x04, 0x01})
	waitLen(t, fp, 3)
	fp.SetMode(fakeprinter.Garbage)
	cache.Expect(drivers.QueryPrinter)
	p.Write([]byte{0x10, 0x04, 0x01})
	waitLen(t, fp, 6)
	deadline := time.Now().Add(2 * time.Second)
	for cache.Ignored() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if cache.Ignored() == 0 {
		t.Fatal("garbage not seen")
	}
	if s := cache.Get(); s.State != drivers.StateUnknown {
		t.Fatalf("garbage changed the state to %v", s.State)
	}
}

func TestFloodedBackChannel(t *testing.T) {
	cache := new(drivers.StatusCache)
	p, fp, master := setup(t, drivers.Config{Cache: cache})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		junk := bytes.Repeat([]byte{0xff, 0x00, 0x41}, 1000)
		for {
			select {
			case <-stop:
				return
			default:
			}
			master.Write(junk)
		}
	}()
	job := allBytes(4)
	if _, err := p.Write(job); err != nil {
		t.Fatal(err)
	}
	waitLen(t, fp, len(job))
	close(stop)
	<-done
	if !bytes.Equal(fp.Bytes(), job) {
		t.Fatal("job corrupted while the back channel flooded")
	}
}

func TestXOFFStallsThenResumes(t *testing.T) {
	p, fp, master := setup(t, drivers.Config{Flow: "xonxoff", WriteTimeout: 150 * time.Millisecond})
	if _, err := p.Write([]byte("before")); err != nil {
		t.Fatal(err)
	}
	waitLen(t, fp, 6)
	master.Write([]byte{0x13}) // XOFF
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	_, err := p.Write([]byte("stalled"))
	if !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("write under XOFF: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("bounded write took %v", el)
	}
	if _, err := p.Write([]byte("more")); !errors.Is(err, drivers.ErrBusy) {
		t.Fatalf("write while the first is stuck: %v", err)
	}
	master.Write([]byte{0x11}) // XON
	waitLen(t, fp, 13)
	var werr error
	for i := 0; i < 100; i++ {
		if _, werr = p.Write([]byte("after")); werr == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if werr != nil {
		t.Fatal(werr)
	}
	waitLen(t, fp, 18)
	if got := string(fp.Bytes()); got != "beforestalledafter" {
		t.Fatalf("printer got %q", got)
	}
}

func TestUnplugMidJob(t *testing.T) {
	cache := new(drivers.StatusCache)
	p, fp, master := setup(t, drivers.Config{Cache: cache, WriteTimeout: 500 * time.Millisecond})
	p.Write([]byte("first"))
	waitLen(t, fp, 5)
	master.Close() // the adapter is gone: the pty slave hangs up
	waitState(t, cache, drivers.StateOffline)
	_, err := p.Write([]byte("second"))
	if !errors.Is(err, drivers.ErrOffline) && !errors.Is(err, drivers.ErrNotFound) {
		t.Fatalf("write after unplug: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Logf("close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(drivers.Config{Device: "/dev/nonexistent-tty"})
	if !errors.Is(err, drivers.ErrNotFound) {
		t.Fatalf("missing device: %v", err)
	}
	_, err = Open(drivers.Config{Device: "/dev/null", Parity: "purple"})
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("bad parity: %v", err)
	}
	_, err = Open(drivers.Config{Device: "/dev/null", Flow: "smoke"})
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("bad flow: %v", err)
	}
	_, err = Open(drivers.Config{Device: "/dev/null"})
	if !errors.Is(err, drivers.ErrNotFound) {
		t.Fatalf("not a tty: %v", err)
	}
}
