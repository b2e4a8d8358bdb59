package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/internal/testenv"
)

const spliceTestURL = "weixin://wxpay/bizpayurl?pr=T3stC0de"

// spliceRun runs printpay in-process with the given stdin.
func spliceRun(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr []byte) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), stdio{bytes.NewReader(stdin), &out, &errb}, args)
	return code, out.Bytes(), errb.Bytes()
}

func spliceCorpus(t *testing.T, name string) (path string, data []byte) {
	t.Helper()
	path = filepath.Join("..", "..", "..", "testdata", "corpus", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// insertedBlocks checks that out is in plus blocks inserted at the given
// offsets and returns the blocks.
func insertedBlocks(t *testing.T, in, out []byte, offsets []int) [][]byte {
	t.Helper()
	var blocks [][]byte
	rest := out
	prev := 0
	for i, off := range offsets {
		if !bytes.HasPrefix(rest, in[prev:off]) {
			t.Fatalf("output differs from the input before offset %d", off)
		}
		rest = rest[off-prev:]
		// The block ends where the input resumes; find the shortest block
		// after which the rest of the output still ends with the rest of the input.
		next := len(in)
		if i+1 < len(offsets) {
			next = offsets[i+1]
		}
		n := -1
		for k := 1; k <= len(rest); k++ {
			if bytes.HasPrefix(rest[k:], in[off:next]) && (i+1 < len(offsets) || len(rest)-k == len(in)-off) {
				n = k
				break
			}
		}
		if n < 0 {
			t.Fatalf("no block at offset %d", off)
		}
		blocks = append(blocks, rest[:n])
		rest = rest[n:]
		prev = off
	}
	if !bytes.Equal(rest, in[prev:]) {
		t.Fatal("output differs from the input after the last block")
	}
	return blocks
}

// TestSpliceCommand runs printpay splice on corpus jobs.
func TestSpliceCommand(t *testing.T) {
	logo, logoData := spliceCorpus(t, "mike42__escpos-php/receipt-with-logo.bin")
	logoOff := escpos.Scan(logoData, escpos.Options{}).Receipts[0].SpliceOffset
	native := append([]byte{0x1D, 0x28, 0x6B, byte(len(spliceTestURL) + 3), 0x00, 0x31, 0x50, 0x30}, spliceTestURL...)

	t.Run("raster by default", func(t *testing.T) {
		code, out, stderr := spliceRun(t, nil, "splice", "--code-url", spliceTestURL, logo)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b := insertedBlocks(t, logoData, out, []int{logoOff})[0]
		if !bytes.Contains(b, []byte{0x1D, 0x76, 0x30}) || bytes.Contains(b, []byte{0x1D, 0x28, 0x6B}) {
			t.Error("default block is not a raster QR")
		}
		// generic-80mm: the image fits 576 dots.
		if xb := int(b[bytes.Index(b, []byte{0x1D, 0x76, 0x30})+4]); xb > 72 {
			t.Errorf("raster is %d bytes wide", xb)
		}
	})
	t.Run("native on request", func(t *testing.T) {
		code, out, stderr := spliceRun(t, nil, "splice", "--qr", "native", "--code-url", spliceTestURL, logo)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b := insertedBlocks(t, logoData, out, []int{logoOff})[0]
		if !bytes.Contains(b, native) || bytes.Contains(b, []byte{0x1D, 0x76, 0x30}) {
			t.Errorf("block lacks the native store command % X", native)
		}
	})
	t.Run("58 mm profile from stdin", func(t *testing.T) {
		code, out, stderr := spliceRun(t, logoData, "splice", "--profile", "generic-58mm", "--code-url", spliceTestURL, "-")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b := insertedBlocks(t, logoData, out, []int{logoOff})[0]
		if xb := int(b[bytes.Index(b, []byte{0x1D, 0x76, 0x30})+4]); xb > 48 {
			t.Errorf("raster is %d bytes wide on 58 mm paper", xb)
		}
	})
	t.Run("all receipts", func(t *testing.T) {
		demo, demoData := spliceCorpus(t, "mike42__escpos-php/demo.bin")
		var offs []int
		for _, r := range escpos.Scan(demoData, escpos.Options{}).Receipts {
			if r.SpliceOffset >= 0 {
				offs = append(offs, r.SpliceOffset)
			}
		}
		code, out, stderr := spliceRun(t, nil, "splice", "--receipt", "all", "--qr", "native", "--code-url", spliceTestURL, demo)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got := bytes.Count(out, native) - bytes.Count(demoData, native); got != len(offs) {
			t.Fatalf("%d blocks, want %d", got, len(offs))
		}
		for i, b := range insertedBlocks(t, demoData, out, offs) {
			if !bytes.Contains(b, native) {
				t.Errorf("block %d at %d lacks the QR", i, offs[i])
			}
		}
	})
	t.Run("payable receipt with its amount", func(t *testing.T) {
		// 应收金额 68.00: the rules find the GBK bill payable.
		bill, billData := spliceCorpus(t, "SnailDev__SnailDev.EscPosParser/receipt-text.bin")
		off := escpos.Scan(billData, escpos.Options{}).Receipts[0].SpliceOffset
		code, out, stderr := spliceRun(t, nil, "splice", "--code-url", spliceTestURL, bill)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b := insertedBlocks(t, billData, out, []int{off})[0]
		caption := []byte{0xCE, 0xA2, 0xD0, 0xC5, 0xC9, 0xA8, 0xC2, 0xEB, 0xD6, 0xA7, 0xB8, 0xB6} // 微信扫码支付
		amount := []byte("\xa3\xa468.00")                                                         // ￥68.00
		if !bytes.Contains(b, caption) || !bytes.Contains(b, amount) {
			t.Errorf("block lacks the GB2312 caption or amount")
		}
	})
	t.Run("none payable: the last receipt", func(t *testing.T) {
		// Receipt 0 is paid by card, 1 is a voucher, 2 the text after the
		// last cut: none is payable, so the last one gets the QR.
		cafe, cafeData := spliceCorpus(t, "receiptful__escpost/cafe-order-voucher.bin")
		off := escpos.Scan(cafeData, escpos.Options{}).Receipts[2].SpliceOffset
		code, out, stderr := spliceRun(t, nil, "splice", "--code-url", spliceTestURL, cafe)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b := insertedBlocks(t, cafeData, out, []int{off})[0]
		if bytes.Contains(b, []byte("CNY")) {
			t.Error("a receipt the rules do not find payable got an amount line")
		}
	})
	t.Run("receipt by number", func(t *testing.T) {
		cafe, cafeData := spliceCorpus(t, "receiptful__escpost/cafe-order-voucher.bin")
		off := escpos.Scan(cafeData, escpos.Options{}).Receipts[1].SpliceOffset
		code, out, stderr := spliceRun(t, nil, "splice", "--receipt", "1", "--code-url", spliceTestURL, cafe)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		insertedBlocks(t, cafeData, out, []int{off})
	})

	// Jobs that cannot take a QR come back unchanged, with the reason.
	for _, tc := range []struct{ file, reason string }{
		{"zachzurn__thermal/page_mode_demo.bin", "page mode"},
		{"lukevp__ESC-POS-.NET/output-juliogamasso.bin", "raster-only"},
		{"zachzurn__thermal/image_with_transmit.bin", "raster-only"},
	} {
		t.Run("unchanged "+filepath.Base(tc.file), func(t *testing.T) {
			path, data := spliceCorpus(t, tc.file)
			code, out, stderr := spliceRun(t, nil, "splice", "--code-url", spliceTestURL, path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !bytes.Equal(out, data) {
				t.Error("output differs from the input")
			}
			if !strings.Contains(string(stderr), tc.reason) {
				t.Errorf("stderr %q lacks %q", stderr, tc.reason)
			}
		})
	}

	t.Run("unchanged star line mode", func(t *testing.T) {
		star := []byte("\x1b\x1da\x01Hello\n\x1b\x1da\x00Total 1.00\n\x1bd\x02")
		code, out, stderr := spliceRun(t, star, "splice", "--code-url", spliceTestURL, "-")
		if code != 0 || !bytes.Equal(out, star) || !strings.Contains(string(stderr), "Star") {
			t.Errorf("exit %d, changed %v, stderr %q", code, !bytes.Equal(out, star), stderr)
		}
	})

	// Usage errors.
	for _, args := range [][]string{
		{"splice", logo},
		{"splice", "--code-url", spliceTestURL},
		{"splice", "--code-url", spliceTestURL, "--qr", "laser", logo},
		{"splice", "--code-url", spliceTestURL, "--profile", "no-such-printer", logo},
		{"splice", "--code-url", spliceTestURL, "--receipt", "7", logo},
		{"splice", "--code-url", spliceTestURL, "--receipt", "first", logo},
	} {
		if code, _, _ := spliceRun(t, nil, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := spliceRun(t, nil, "splice", "--code-url", spliceTestURL, "/nonexistent/job.bin"); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}

// TestSpliceRenderScan is the whole path through the command line: splice
// a QR into a receipt, render the result, and read the QR back with
// zbarimg, for raster and native QR.
func TestSpliceRenderScan(t *testing.T) {
	zbarimg := testenv.Tool(t, "zbarimg")
	logo, _ := spliceCorpus(t, "mike42__escpos-php/receipt-with-logo.bin")
	for _, mode := range []string{"raster", "native"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			code, spliced, stderr := spliceRun(t, nil, "splice", "--qr", mode, "--code-url", spliceTestURL, logo)
			if code != 0 {
				t.Fatalf("splice: exit %d: %s", code, stderr)
			}
			job := filepath.Join(dir, "spliced.bin")
			if err := os.WriteFile(job, spliced, 0o644); err != nil {
				t.Fatal(err)
			}
			png := filepath.Join(dir, "spliced.png")
			if code, _, stderr := spliceRun(t, nil, "render", "-o", png, job); code != 0 {
				t.Fatalf("render: exit %d: %s", code, stderr)
			}
			out, err := exec.Command(zbarimg, "-q", "--raw", "-Sdisable", "-Sqrcode.enable", png).Output()
			if err != nil {
				t.Fatalf("zbarimg: %v", err)
			}
			if got := strings.TrimSpace(string(out)); got != spliceTestURL {
				t.Fatalf("zbarimg read %q, want %q", got, spliceTestURL)
			}
		})
	}
}
