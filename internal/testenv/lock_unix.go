//go:build unix

package testenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Lock holds a machine-wide lock called name until the test ends, so tests
// in different packages (which go test runs in parallel processes) take
// turns at a shared resource, such as port 515 or rlpr's source ports.
func Lock(t testing.TB, name string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "printpay-test-"+name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("testenv: lock %s: %v", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("testenv: lock %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
}
