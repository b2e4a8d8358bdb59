//go:build !windows

package installer

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/internal/cupsd"
	"printpay.dev/printpay/internal/testenv"
)

// The queue AddQueue makes in a real (private) CUPS scheduler delivers a job
// byte-exact to the agent's raw port; RemoveQueue removes it, twice without
// error.
func TestCUPSQueue(t *testing.T) {
	testenv.Tool(t, "/usr/sbin/cupsd")
	testenv.Tool(t, "lpadmin")
	testenv.Tool(t, "lp")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := cupsd.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("CUPS_SERVER", srv.Socket)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
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

	if err := AddQueue(Queue{Port: port}); err != nil {
		t.Fatal(err)
	}
	if err := AddQueue(Queue{Port: port}); err != nil { // install twice
		t.Fatalf("second AddQueue: %v", err)
	}
	out, err := srv.Command("lpstat", "-v", QueueName).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "socket://127.0.0.1:") {
		t.Fatalf("lpstat -v: %v: %s", err, out)
	}
	job := []byte("\x1b@printpay queue test\n\x1dVA\x00")
	f := t.TempDir() + "/job.bin"
	if err := os.WriteFile(f, job, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := srv.LP(QueueName, f); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, job) {
			t.Errorf("received %q, want %q", b, job)
		}
	case <-ctx.Done():
		t.Fatalf("no job arrived on the raw port; cupsd: %s", srv.ErrorLog())
	}

	for i := 0; i < 2; i++ {
		if err := RemoveQueue(Queue{Port: port}); err != nil {
			t.Fatalf("RemoveQueue #%d: %v", i+1, err)
		}
	}
	if out, err := srv.Command("lpstat", "-v", QueueName).CombinedOutput(); err == nil {
		t.Errorf("queue still there: %s", out)
	}
}
