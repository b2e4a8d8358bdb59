package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The end-to-end print tests run the real binary; it is built once per
// test binary, on first use, into a folder removed after the tests.
var (
	e2eBinDir  string
	e2eBinOnce sync.Once
	e2eBinPath string
	e2eBinErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "printpay-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e2eBinDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// e2eBinary returns the path of the printpay binary built from this
// package.
func e2eBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the printpay binary")
	}
	e2eBinOnce.Do(func() {
		e2eBinPath = filepath.Join(e2eBinDir, "printpay")
		out, err := exec.Command("go", "build", "-o", e2eBinPath, ".").CombinedOutput()
		if err != nil {
			e2eBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if e2eBinErr != nil {
		t.Fatal(e2eBinErr)
	}
	return e2eBinPath
}
