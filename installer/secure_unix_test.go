//go:build !windows

package installer

import (
	"os"
	"testing"
)

func checkModes(t *testing.T, dir, file string) {
	for path, want := range map[string]os.FileMode{dir: 0o700, file: 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
}
