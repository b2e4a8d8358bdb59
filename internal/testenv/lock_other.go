//go:build !unix

package testenv

import "testing"

// Lock is a no-op where the suites that need it do not run.
func Lock(t testing.TB, name string) {}
