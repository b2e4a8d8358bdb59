package cupsd_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"printpay.dev/printpay/internal/cupsd"
	"printpay.dev/printpay/internal/testenv"
)

// lp through the private scheduler reaches a socket:// device byte-exact.
func TestLPReachesSocket(t *testing.T) {
	testenv.Tool(t, "/usr/sbin/cupsd")
	testenv.Tool(t, "lp")
	s, err := cupsd.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	}()
	if err := s.AddQueue("q", "socket://"+l.Addr().String()); err != nil {
		t.Fatal(err)
	}
	job := make([]byte, 256*4)
	for i := range job {
		job[i] = byte(i)
	}
	f := filepath.Join(t.TempDir(), "job.bin")
	os.WriteFile(f, job, 0o644)
	if err := s.LP("q", f); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, job) {
			t.Fatalf("device got %d bytes, want the %d sent, byte-exact", len(b), len(job))
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("nothing arrived; %s", s.ErrorLog())
	}
}
