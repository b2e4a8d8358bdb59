package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/internal/receiptgen"
)

func TestRegenerate(t *testing.T) {
	dir := t.TempDir()
	src := []byte("encoding: gbk\n\n合计：68.00\n@cut\n")
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	written, same, err := regenerate(dir)
	if err != nil || written != 1 || same != 0 {
		t.Fatalf("first run: written %d same %d err %v; want 1 0 nil", written, same, err)
	}
	bin := filepath.Join(dir, "a.bin")
	got, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := receiptgen.Encode(src)
	if !bytes.Equal(got, want) {
		t.Fatalf("a.bin = % X, want % X", got, want)
	}

	// Unchanged: the file is not rewritten (its time stays).
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(bin, old, old); err != nil {
		t.Fatal(err)
	}
	written, same, err = regenerate(dir)
	if err != nil || written != 0 || same != 1 {
		t.Fatalf("second run: written %d same %d err %v; want 0 1 nil", written, same, err)
	}
	if fi, err := os.Stat(bin); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("a.bin rewritten although unchanged")
	}

	// A bad source is reported with its name; the good one still counts.
	if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte("@blink\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, same, err = regenerate(dir)
	if err == nil || !strings.Contains(err.Error(), "b.txt") || same != 1 {
		t.Errorf("bad source: same %d err %v", same, err)
	}
}

func TestRegenerateEmptyDir(t *testing.T) {
	if _, _, err := regenerate(t.TempDir()); err == nil {
		t.Error("no error for a folder without .txt files")
	}
}
