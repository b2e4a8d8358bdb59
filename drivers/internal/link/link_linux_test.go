package link

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"printpay.dev/printpay/drivers"
)

// gate is a device writer that blocks until released.
type gate struct {
	release chan struct{}
	buf     bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.release
	return g.buf.Write(p)
}

func TestWriterTimeoutThenBusyThenRecovers(t *testing.T) {
	g := &gate{release: make(chan struct{})}
	var flushed atomic.Bool
	w := &Writer{W: g, Timeout: 50 * time.Millisecond, OnTimeout: func() { flushed.Store(true) }}
	if _, err := w.Write([]byte("a")); !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("stalled: %v", err)
	}
	if !flushed.Load() {
		t.Fatal("OnTimeout not called")
	}
	if _, err := w.Write([]byte("b")); !errors.Is(err, drivers.ErrBusy) || !errors.Is(err, ErrStuck) {
		t.Fatalf("while stuck: %v", err)
	}
	close(g.release)
	for w.Stuck() {
		time.Sleep(time.Millisecond)
	}
	if n, err := w.Write([]byte("c")); n != 1 || err != nil {
		t.Fatalf("after release: %d %v", n, err)
	}
	if g.buf.String() != "ac" {
		t.Fatalf("device got %q", g.buf.String())
	}
}

type failAfter struct {
	n   int
	buf bytes.Buffer
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.n {
		k := f.n - f.buf.Len()
		f.buf.Write(p[:k])
		return k, unix.EIO
	}
	return f.buf.Write(p)
}

func TestWriterReportsAcceptedBytesAndMapsErrors(t *testing.T) {
	f := &failAfter{n: 250}
	w := &Writer{W: f, ChunkSize: 100, Errorf: func(err error) error { return MapOSError("test: write", err) }}
	n, err := w.Write(bytes.Repeat([]byte("x"), 1000))
	if n != 250 || !errors.Is(err, drivers.ErrOffline) || !errors.Is(err, unix.EIO) {
		t.Fatalf("%d %v", n, err)
	}
}

func TestMapOSError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{fs.ErrNotExist, drivers.ErrNotFound},
		{&fs.PathError{Op: "open", Path: "/dev/usb/lp0", Err: unix.ENOENT}, drivers.ErrNotFound},
		{&fs.PathError{Op: "open", Path: "/dev/usb/lp0", Err: unix.EBUSY}, drivers.ErrBusy},
		{unix.ENODEV, drivers.ErrOffline},
		{unix.ENOTTY, drivers.ErrUnsupported},
		{os.ErrDeadlineExceeded, drivers.ErrOffline},
		{drivers.ErrPaperOut, drivers.ErrPaperOut},
	} {
		got := MapOSError("x: op", tc.err)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.err) || !strings.HasPrefix(got.Error(), "x: op: ") {
			t.Errorf("MapOSError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if MapOSError("x", nil) != nil {
		t.Fatal("nil")
	}
}

// flood is a reader that returns junk forever, then an error.
type flood struct{ left int }

func (f *flood) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, unix.EIO
	}
	f.left--
	for i := range p {
		p[i] = byte(i*31 + 7)
	}
	return len(p), nil
}

func TestReadBackFloodAndError(t *testing.T) {
	var c drivers.StatusCache
	err := ReadBack(&flood{left: 4000}, &c)
	if !errors.Is(err, unix.EIO) {
		t.Fatalf("%v", err)
	}
	if c.Ignored() == 0 {
		t.Fatal("flood not counted")
	}
}

func TestPollOnlyWhenIdle(t *testing.T) {
	var c drivers.StatusCache
	var idle atomic.Bool
	var buf bytes.Buffer
	writes := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Poll(ctx, 5*time.Millisecond, idle.Load, func(b []byte) error {
			buf.Write(b)
			writes <- struct{}{}
			return nil
		}, &c)
	}()
	time.Sleep(30 * time.Millisecond)
	if len(writes) != 0 {
		t.Fatal("polled during a job")
	}
	idle.Store(true)
	<-writes
	cancel()
	<-done
	if !bytes.HasPrefix(buf.Bytes(), []byte{0x10, 4, 1}) {
		t.Fatalf("% x", buf.Bytes())
	}
}
