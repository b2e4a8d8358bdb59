package tcp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/fakeprinter"
)

// server is a network printer on loopback: every connection gets a fake
// printer, and all bytes received over all connections are kept in order.
type server struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	fps   []*fakeprinter.Printer
	mode  fakeprinter.Mode
	hold  bool // accept but never read
}

func newServer(t testing.TB) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fp := fakeprinter.New(c)
			s.mu.Lock()
			fp.SetMode(s.mode)
			s.conns = append(s.conns, c)
			s.fps = append(s.fps, fp)
			hold := s.hold
			s.mu.Unlock()
			if !hold {
				go fp.Serve()
			}
		}
	}()
	return s
}

// first returns the printer on the first connection.
func (s *server) first() *fakeprinter.Printer {
	for {
		s.mu.Lock()
		if len(s.fps) > 0 {
			fp := s.fps[0]
			s.mu.Unlock()
			return fp
		}
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []byte
	for _, fp := range s.fps {
		b = append(b, fp.Bytes()...)
	}
	return b
}

func (s *server) waitLen(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.received()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("printer got %d bytes, want %d", len(s.received()), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *server) kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *server) setMode(m fakeprinter.Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
	for _, fp := range s.fps {
		fp.SetMode(m)
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

func allBytes() []byte {
	b := make([]byte, 0, 4096)
	for r := 0; r < 16; r++ {
		for i := 0; i < 256; i++ {
			b = append(b, byte(i))
		}
	}
	return b
}

func TestByteExact(t *testing.T) {
	s := newServer(t)
	p, err := Open(drivers.Config{Device: s.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	job := allBytes()
	if n, err := p.Write(job); n != len(job) || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	s.waitLen(t, len(job))
	if !bytes.Equal(s.received(), job) {
		t.Fatal("bytes differ")
	}
}

func TestBackChannelAndPolls(t *testing.T) {
	s := newServer(t)
	cache := new(drivers.StatusCache)
	p, err := Open(drivers.Config{Device: s.addr(), Cache: cache, StatusPoll: true, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitState(t, cache, drivers.StateOnline)
	s.setMode(fakeprinter.PaperOut)
	waitState(t, cache, drivers.StatePaperOut)
	st, _ := p.Status(context.Background())
	if st.State != drivers.StatePaperOut {
		t.Fatalf("%v", st.State)
	}
}

func TestReconnectAfterPrinterClosesConnection(t *testing.T) {
	s := newServer(t)
	cache := new(drivers.StatusCache)
	p, err := Open(drivers.Config{Device: s.addr(), Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Write([]byte("one "))
	s.waitLen(t, 4)
	s.kick()
	waitState(t, cache, drivers.StateOffline)
	if _, err := p.Write([]byte("two")); err != nil {
		t.Fatalf("write after reconnect: %v", err)
	}
	s.waitLen(t, 7)
	if got := string(s.received()); got != "one two" {
		t.Fatalf("%q", got)
	}
}

func TestStalledPrinterBoundsWrite(t *testing.T) {
	s := newServer(t)
	s.mu.Lock()
	s.hold = true
	s.mu.Unlock()
	p, err := Open(drivers.Config{Device: s.addr(), WriteTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := make([]byte, 64<<20) // far more than the socket buffers hold
	start := time.Now()
	n, err := p.Write(big)
	if !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("stalled write: %d %v", n, err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("write took %v", el)
	}
	if n >= len(big) {
		t.Fatalf("n = %d", n)
	}
}

func TestRefusedAndUnknownHost(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := Open(drivers.Config{Device: addr})
	if !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("refused: %v", err)
	}
	_, err = Open(drivers.Config{Device: "printer.invalid:9100", DialTimeout: 2 * time.Second})
	if !errors.Is(err, drivers.ErrNotFound) && !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("unknown host: %v", err)
	}
	_, err = Open(drivers.Config{})
	if !errors.Is(err, drivers.ErrNotFound) {
		t.Fatalf("no address: %v", err)
	}
}

func TestDefaultPort(t *testing.T) {
	if a, _ := address("10.0.0.5"); a != "10.0.0.5:9100" {
		t.Fatal(a)
	}
	if a, _ := address("[::1]:9101"); a != "[::1]:9101" {
		t.Fatal(a)
	}
	if a, _ := address("::1"); a != "[::1]:9100" {
		t.Fatal(a)
	}
}

func TestGarbageFloodDoesNotDisturb(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		go func() {
			junk := bytes.Repeat([]byte{0xff, 0x10, 0x93}, 4096)
			for {
				if _, err := c.Write(junk); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 4096)
		for got.Len() < 4096 {
			n, err := c.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				break
			}
		}
		close(done)
	}()
	cache := new(drivers.StatusCache)
	p, err := Open(drivers.Config{Device: ln.Addr().String(), Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	job := allBytes()
	if _, err := p.Write(job); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("job not received")
	}
	if !bytes.Equal(got.Bytes(), job) {
		t.Fatal("job corrupted")
	}
	if cache.Get().State == drivers.StatePaperOut {
		t.Fatal("garbage read as a status")
	}
}
