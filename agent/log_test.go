package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"printpay.dev/printpay/agent/config"
)

func TestLoggerWritesFileAndConsole(t *testing.T) {
	lc := config.Log{File: filepath.Join(t.TempDir(), "logs", "printpay.log"), MaxSize: 1 << 20, MaxFiles: 2}
	var console bytes.Buffer
	logger, closer, err := NewLogger(lc, &console, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	logger.With("job", "01J0", "printer", "front").Info("intake: job received", "bytes", 42)
	logger.Debug("not at info level")
	closer.Close()
	b, err := os.ReadFile(lc.File)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil {
		t.Fatalf("log file is not one JSON line: %q", b)
	}
	if rec["job"] != "01J0" || rec["printer"] != "front" || rec["bytes"] != 42.0 || rec["msg"] != "intake: job received" {
		t.Fatalf("log record %v", rec)
	}
	if !strings.Contains(console.String(), "job=01J0 printer=front") || strings.Contains(console.String(), "not at info") {
		t.Fatalf("console %q", console.String())
	}
}

func TestLPDFallback(t *testing.T) {
	perm := &os.SyscallError{Syscall: "bind", Err: syscall.EACCES}
	for _, tc := range []struct {
		addr string
		err  error
		want string
	}{
		{"127.0.0.1:515", perm, "127.0.0.1:1515"},
		{"127.0.0.1:515", nil, ""},
		{"127.0.0.1:516", perm, ""},
		{"127.0.0.1:515", errors.New("address in use"), ""},
	} {
		got, _ := lpdFallback(tc.addr, tc.err)
		if got != tc.want {
			t.Errorf("lpdFallback(%s, %v) = %q, want %q", tc.addr, tc.err, got, tc.want)
		}
	}
}
