package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/server/bus"
)

func collect(b bus.Bus) (chan string, func()) {
	ch := make(chan string, 16)
	cancel := b.Subscribe(func(id string) {
		select {
		case ch <- id:
		default:
		}
	})
	return ch, cancel
}

func expect(t *testing.T, ch chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("got %q want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no announcement for %q", want)
	}
}

func TestLocal(t *testing.T) {
	b := bus.NewLocal()
	ch1, cancel1 := collect(b)
	ch2, _ := collect(b)
	if err := b.Publish(context.Background(), "dev_A"); err != nil {
		t.Fatal(err)
	}
	expect(t, ch1, "dev_A")
	expect(t, ch2, "dev_A")
	cancel1()
	b.Publish(context.Background(), "dev_B")
	expect(t, ch2, "dev_B")
	if len(ch1) != 0 {
		t.Fatal("cancelled subscriber called")
	}
	b.Close()
	if err := b.Publish(context.Background(), "x"); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestNATS: a publish on node A reaches the subscribers of node B once.
func TestNATS(t *testing.T) {
	url := testenv.NATS(t)
	r := make([]byte, 6)
	rand.Read(r)
	subject := "printpay.test." + hex.EncodeToString(r)
	a, err := bus.DialNATS(url, subject)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := bus.DialNATS(url, subject)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	chA, _ := collect(a)
	chB, _ := collect(b)
	if err := a.Publish(context.Background(), "dev_X"); err != nil {
		t.Fatal(err)
	}
	expect(t, chB, "dev_X")
	expect(t, chA, "dev_X")
	select {
	case extra := <-chB:
		t.Fatalf("second announcement %q", extra)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := bus.DialNATS(url, "bad subject"); err == nil {
		t.Fatal("bad subject accepted")
	}
}
