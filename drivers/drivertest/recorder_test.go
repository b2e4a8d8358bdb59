package drivertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"printpay.dev/printpay/drivers"
)

func TestRecorderRecords(t *testing.T) {
	r := New()
	r.BeginJob("01A")
	r.Write([]byte("hello "))
	r.Write([]byte("world"))
	r.EndJob()
	r.Write([]byte("!"))
	if got := r.Bytes(); string(got) != "hello world!" {
		t.Fatalf("bytes %q", got)
	}
	jobs := r.Jobs()
	if len(jobs) != 1 || jobs[0].ID != "01A" || string(jobs[0].Data) != "hello world" || !jobs[0].Ended {
		t.Fatalf("jobs %+v", jobs)
	}
	if err := r.EndJob(); err == nil {
		t.Fatal("EndJob without BeginJob")
	}
}

func TestRecorderFailAfter(t *testing.T) {
	r := New()
	r.Write([]byte("abc"))
	r.FailAfter(4, nil)
	if n, err := r.Write([]byte("defg")); n != 4 || err != nil {
		t.Fatalf("exactly at the limit: %d %v", n, err)
	}
	n, err := r.Write([]byte("h"))
	if n != 0 || !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("after the limit: %d %v", n, err)
	}
	if s, _ := r.Status(context.Background()); s.State != drivers.StateOffline {
		t.Fatalf("status %v", s.State)
	}
	r.Reconnect()
	if _, err := r.Write([]byte("h")); err != nil {
		t.Fatal(err)
	}
	if string(r.Bytes()) != "abcdefgh" {
		t.Fatalf("%q", r.Bytes())
	}
}

func TestRecorderPaperOutMidWrite(t *testing.T) {
	r := New()
	r.FailAfter(3, fmt.Errorf("paper: %w", drivers.ErrPaperOut))
	n, err := r.Write([]byte("12345"))
	if n != 3 || !errors.Is(err, drivers.ErrPaperOut) {
		t.Fatalf("%d %v", n, err)
	}
	if s, _ := r.Status(context.Background()); s.State != drivers.StatePaperOut {
		t.Fatalf("status %v", s.State)
	}
	if !bytes.Equal(r.Bytes(), []byte("123")) {
		t.Fatalf("%q", r.Bytes())
	}
}

func TestRecorderStall(t *testing.T) {
	r := New()
	r.Stall(50 * time.Millisecond)
	start := time.Now()
	_, err := r.Write([]byte("x"))
	if !errors.Is(err, drivers.ErrOffline) || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("stall timeout: %v after %v", err, time.Since(start))
	}
	r.Stall(0)
	done := make(chan error, 1)
	go func() { _, err := r.Write([]byte("y")); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("stalled write returned %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	r.Resume()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if !r.WaitLen(ctx, 1) || string(r.Bytes()) != "y" {
		t.Fatalf("%q", r.Bytes())
	}
}

func TestRecorderCloseReleasesStall(t *testing.T) {
	r := New()
	r.Stall(0)
	done := make(chan error, 1)
	go func() { _, err := r.Write([]byte("x")); done <- err }()
	time.Sleep(10 * time.Millisecond)
	r.Close()
	if err := <-done; !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("%v", err)
	}
}
