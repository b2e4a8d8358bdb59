package all

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"printpay.dev/printpay/drivers"
)

func TestOpenByName(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(drivers.Config{Name: "preview", Driver: "file", Device: dir})
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("x"))
	p.Close()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%v", ents)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			c.Read(make([]byte, 1))
		}
	}()
	p, err = Open(drivers.Config{Driver: "TCP", Device: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(drivers.Config{Name: "front", Driver: "laser"})
	if !errors.Is(err, ErrUnknownDriver) || !errors.Is(err, drivers.ErrUnsupported) ||
		!strings.Contains(err.Error(), `"laser"`) || !strings.Contains(err.Error(), "serial") {
		t.Fatalf("%v", err)
	}
	if _, err := Open(drivers.Config{Driver: "serial", Device: filepath.Join(t.TempDir(), "ttyX")}); !errors.Is(err, drivers.ErrNotFound) {
		t.Fatalf("%v", err)
	}
	if _, err := Open(drivers.Config{Driver: ""}); !errors.Is(err, ErrUnknownDriver) {
		t.Fatalf("%v", err)
	}
}

func TestList(t *testing.T) {
	// Whatever this machine has, List must not fail for drivers this
	// build cannot list.
	if _, err := List(); err != nil {
		t.Fatalf("%v", err)
	}
}
