package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderCommand runs printpay render in-process.
func TestRenderCommand(t *testing.T) {
	logo, _ := spliceCorpus(t, "mike42__escpos-php/receipt-with-logo.bin")
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		args  []string
		width int
	}{
		{"80 mm by default", nil, 576},
		{"58 mm profile", []string{"--profile", "generic-58mm"}, 384},
		{"paper override", []string{"--profile", "generic-58mm", "--paper", "512"}, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".png")
			args := append(append([]string{"render", "-o", out}, tc.args...), logo)
			if code, _, stderr := spliceRun(t, nil, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if w := img.Bounds().Dx(); w != tc.width {
				t.Errorf("width %d, want %d", w, tc.width)
			}
			if h := img.Bounds().Dy(); h < 500 {
				t.Errorf("height %d: the receipt is missing", h)
			}
		})
	}

	// Warnings go to stderr and the picture is still written.
	out := filepath.Join(dir, "page.png")
	page, _ := spliceCorpus(t, "zachzurn__thermal/page_mode_demo.bin")
	code, _, stderr := spliceRun(t, nil, "render", "-o", out, page)
	if code != 0 || !strings.Contains(string(stderr), "warning: page mode") {
		t.Errorf("page mode job: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}

	for _, args := range [][]string{
		{"render", logo},            // no -o
		{"render", "-o", out},       // no file
		{"render", logo, "-o", out}, // flags come before the file
		{"render", "-o", out, "--profile", "x", logo},
	} {
		if code, _, _ := spliceRun(t, nil, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := spliceRun(t, nil, "render", "-o", out, "/nonexistent/job.bin"); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
	if code, _, _ := spliceRun(t, nil, "render", "-o", filepath.Join(dir, "no", "such", "dir.png"), logo); code != 1 {
		t.Errorf("unwritable output: exit %d, want 1", code)
	}
}
