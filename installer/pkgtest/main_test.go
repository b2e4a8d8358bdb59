package pkgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/internal/testenv"
)

// Two builds, so the tests can upgrade one to the other (MSI upgrades
// compare three numbers, so the versions are plain).
const (
	version1 = "0.1.1"
	version2 = "0.1.2"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// enabled skips the test unless the package tests were asked for (as root).
func enabled(t *testing.T) {
	t.Helper()
	if os.Getenv("PRINTPAY_PKG_TESTS") != "1" {
		t.Skip("package tests change the machine: run them with `make test-installers` (PRINTPAY_PKG_TESTS=1)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("package tests need root (dpkg, system users)")
	}
}

// artefacts builds both versions with installer/build.sh once and returns
// the folder holding v1/ and v2/.
func artefacts(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "printpay-pkgtest-")
		if buildErr != nil {
			return
		}
		root, err := filepath.Abs("../..")
		if err != nil {
			buildErr = err
			return
		}
		server := exec.Command("go", "build", "-o", filepath.Join(buildDir, "printpay-server"), "./server/cmd/printpay-server")
		server.Dir = root
		if b, err := server.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building printpay-server: %v\n%s", err, b)
			return
		}
		for i, v := range []string{version1, version2} {
			out := filepath.Join(buildDir, fmt.Sprintf("v%d", i+1))
			cmd := exec.Command("bash", filepath.Join(root, "installer", "build.sh"), out)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "VERSION="+v, "RELEASE_CERT=", "RELEASE_KEY=")
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build.sh %s: %v\n%s", v, err, b)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// run runs a command with output to a file (never a pipe: Wine's server
// processes would hold a pipe open) and returns its output and error.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	b, _ := os.ReadFile(f.Name())
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s: timed out after %s", name, strings.Join(args, " "), timeout)
	}
	return string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))), err
}

func tools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		testenv.Tool(t, n)
	}
}
