package escpos_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"printpay.dev/printpay/agent/escpos"
)

// unhex decodes hex with spaces and "·" separators, as escpos.md writes it.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "·", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// qrURL26 is a 26-byte URL, the size of escpos.md §8's worked example.
const qrURL26 = "weixin://wxpay/bizpayurl?p"

// TestNativeQRReference checks the native sequence against the one written
// out by hand in escpos.md §8 (URL of 26 bytes, centred, module 6, ECC M,
// then the alignment that was active restored).
func TestNativeQRReference(t *testing.T) {
	if len(qrURL26) != 26 {
		t.Fatalf("test URL has %d bytes", len(qrURL26))
	}
	ref := unhex(t, `
		1B 61 01
		1D 28 6B 04 00 31 41 32 00
		1D 28 6B 03 00 31 43 06
		1D 28 6B 03 00 31 45 31
		1D 28 6B 1D 00 31 50 30`+hex.EncodeToString([]byte(qrURL26))+`
		1D 28 6B 03 00 31 51 30
		0A`)
	got := escpos.AppendNativeQR([]byte{0x1B, 0x61, 0x01}, []byte(qrURL26), 6, 0x31)
	if !bytes.Equal(got, ref) {
		t.Fatalf("AppendNativeQR:\n got % X\nwant % X", got, ref)
	}

	// The whole block: neutral state and centring, caption, the reference
	// sequence from the model command on, amount, restored alignment.
	block, err := escpos.QRBlock(escpos.QROptions{URL: qrURL26, Mode: escpos.QRNative, ModuleSize: 6,
		PaperDots: escpos.Paper80mm, State: escpos.State{Width: 1, Height: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(block, ref[3:]) {
		t.Errorf("native block lacks the reference GS ( k sequence:\n% X", block)
	}
	if !bytes.HasPrefix(block, unhex(t, "1B 21 00 1D 21 00 1B 45 00 1B 2D 00 1D 42 00 1B 61 01")) {
		t.Errorf("block does not start by setting a neutral, centred state: % X", block[:18])
	}
	if !bytes.HasSuffix(block, unhex(t, "1B 61 00")) {
		t.Errorf("block does not end by restoring left alignment: % X", block[len(block)-3:])
	}
	if bytes.Contains(block, []byte{0x1D, 0x76, 0x30}) {
		t.Error("native block contains a raster image")
	}
}

// TestNativeQRStoreLength checks pL pH of the store command, including
// lengths above 255 (pL + 256·pH = k + 3).
func TestNativeQRStoreLength(t *testing.T) {
	for _, k := range []int{1, 26, 252, 253, 300, 1000} {
		data := bytes.Repeat([]byte("A"), k)
		b := escpos.AppendNativeQR(nil, data, 4, 0x31)
		store := b[25:]
		if !bytes.HasPrefix(store, []byte{0x1D, 0x28, 0x6B}) || store[5] != 0x31 || store[6] != 0x50 || store[7] != 0x30 {
			t.Fatalf("k=%d: store command not where expected: % X", k, store[:8])
		}
		if n := int(store[3]) + 256*int(store[4]); n != k+3 {
			t.Errorf("k=%d: pL pH = %02X %02X (%d), want %d", k, store[3], store[4], n, k+3)
		}
		if !bytes.Equal(store[8:8+k], data) {
			t.Errorf("k=%d: stored data differs", k)
		}
	}
}

// rasterImage decodes the GS v 0 bands of a block into one picture.
func rasterImage(t *testing.T, block []byte) (rows [][]bool, bands []int) {
	t.Helper()
	for off := 0; off < len(block); {
		n, tok := escpos.Split(block[off:], true)
		c := block[off : off+n]
		if tok.Op == escpos.OpRaster {
			if c[0] != 0x1D || c[1] != 0x76 || c[2] != 0x30 || c[3] != 0 {
				t.Fatalf("raster command % X is not GS v 0 normal", c[:4])
			}
			xb := int(c[4]) | int(c[5])<<8
			h := int(c[6]) | int(c[7])<<8
			if len(c) != 8+xb*h {
				t.Fatalf("band of %d bytes declares %dx%d", len(c), xb, h)
			}
			bands = append(bands, h)
			for y := 0; y < h; y++ {
				row := make([]bool, xb*8)
				for x := range row {
					row[x] = c[8+y*xb+x/8]&(0x80>>(x%8)) != 0
				}
				rows = append(rows, row)
			}
		}
		off += n
	}
	return rows, bands
}

// TestRasterQR checks the default raster QR: GS v 0 bands of at most 255
// rows whose picture is the QR matrix at the module size, centred on the
// paper, and no native command.
func TestRasterQR(t *testing.T) {
	url := "weixin://wxpay/bizpayurl?pr=AbCdEfG"
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap()
	for _, paper := range []int{escpos.Paper58mm, escpos.Paper80mm} {
		for _, size := range []int{0, 3, 8} {
			block, err := escpos.QRBlock(escpos.QROptions{URL: url, PaperDots: paper, ModuleSize: size,
				State: escpos.State{Width: 1, Height: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(block, []byte{0x1D, 0x28, 0x6B}) {
				t.Fatal("raster block contains GS ( k")
			}
			rows, bands := rasterImage(t, block)
			for _, h := range bands {
				if h > 255 || h == 0 {
					t.Errorf("band of %d rows", h)
				}
			}
			n := len(bm)
			if len(rows)%n != 0 {
				t.Fatalf("paper %d: %d rows is not a multiple of %d modules", paper, len(rows), n)
			}
			m := len(rows) / n
			if size > 0 && m != size {
				t.Errorf("module size %d, want %d", m, size)
			}
			if w := len(rows[0]); w > paper {
				t.Errorf("paper %d: image %d dots wide", paper, w)
			}
			left := (paper - n*m) / 2
			for y, row := range rows {
				for x, on := range row {
					want := x >= left && x < left+n*m && bm[y/m][(x-left)/m]
					if on != want {
						t.Fatalf("paper %d size %d: dot (%d,%d) = %v, want %v", paper, m, x, y, on, want)
					}
				}
			}
		}
	}
}

// TestQRBlockCaptions checks the caption and amount texts per encoding by
// decoding the block's text runs.
func TestQRBlockCaptions(t *testing.T) {
	gb := func(b []byte) string {
		s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		if err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	b5 := func(b []byte) string {
		s, err := traditionalchinese.Big5.NewDecoder().Bytes(b)
		if err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	ascii := func(b []byte) string { return string(b) }
	tests := []struct {
		name   string
		enc    string
		st     escpos.State
		decode func([]byte) string
		want   []string // the block's text runs, in order
	}{
		{"gbk", "gbk", escpos.State{}, gb, []string{"微信扫码支付", "￥153.00"}},
		{"gb18030 after FS &", "gb18030", escpos.State{Chinese: true}, gb, []string{"微信扫码支付", "￥153.00"}},
		{"big5", "big5", escpos.State{}, b5, []string{"微信掃碼支付", "￥153.00"}},
		{"cp437", "cp437", escpos.State{}, ascii, []string{"WeChat Pay", "CNY 153.00"}},
		{"unknown", "", escpos.State{}, ascii, []string{"WeChat Pay", "CNY 153.00"}},
		// Under FS ( C UTF-8 GB bytes would print as garbage: ASCII instead.
		{"gbk under utf-8", "gbk", escpos.State{UTF8: true}, ascii, []string{"WeChat Pay", "CNY 153.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			block, err := escpos.QRBlock(escpos.QROptions{URL: "https://example.com/p/1", AmountFen: 15300,
				Encoding: tc.enc, State: tc.st})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, run := range textRuns(block) {
				got = append(got, tc.decode(run))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("texts = %q, want %q", got, tc.want)
			}
		})
	}
}

// textRuns returns the block's text tokens.
func textRuns(block []byte) [][]byte {
	var runs [][]byte
	for off := 0; off < len(block); {
		n, tok := escpos.Split(block[off:], true)
		if tok.Kind == escpos.KindText {
			runs = append(runs, block[off:off+n])
		}
		off += n
	}
	return runs
}

// TestQRBlockState checks the block's start (LF only mid-line) and that it
// restores every tracked setting.
func TestQRBlockState(t *testing.T) {
	states := []escpos.State{
		{Width: 1, Height: 1},
		{Align: escpos.AlignRight, Mode: 0xB9, Width: 2, Height: 2, Bold: true, Underline: 1, MidLine: true},
		{Align: escpos.AlignCenter, Width: 3, Height: 5, Underline: 2, Reverse: true, CodePage: 19},
		{Mode: 0x08, Bold: false, Width: 1, Height: 1, Chinese: true}, // ESC ! 8 then ESC E 0
	}
	for _, st := range states {
		for _, mode := range []string{escpos.QRRaster, escpos.QRNative} {
			block, err := escpos.QRBlock(escpos.QROptions{URL: "https://example.com/", Mode: mode,
				AmountFen: 1, State: st})
			if err != nil {
				t.Fatal(err)
			}
			if st.MidLine != (block[0] == '\n') {
				t.Errorf("%+v: block starts with %#x", st, block[0])
			}
			checkRestores(t, block, st)
		}
		checkRestores(t, escpos.PaidBlock(100, "gbk", st), st)
	}
}

// TestPaidBlock checks the reprint variant: one line "已支付 ￥153.00", no QR.
func TestPaidBlock(t *testing.T) {
	b := escpos.PaidBlock(15300, "gb18030", escpos.State{Width: 1, Height: 1})
	runs := textRuns(b)
	if len(runs) != 1 {
		t.Fatalf("paid block has %d text runs", len(runs))
	}
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(runs[0])
	if err != nil || string(s) != "已支付 ￥153.00" {
		t.Errorf("paid text = %q (%v)", s, err)
	}
	if bytes.Contains(b, []byte{0x1D, 0x76, 0x30}) || bytes.Contains(b, []byte{0x1D, 0x28, 0x6B}) {
		t.Error("paid block contains a QR")
	}
	s, err = traditionalchinese.Big5.NewDecoder().Bytes(textRuns(escpos.PaidBlock(15300, "big5", escpos.State{}))[0])
	if err != nil || string(s) != "已支付 ￥153.00" {
		t.Errorf("Big5 paid text = %q (%v)", s, err)
	}
	if got := string(textRuns(escpos.PaidBlock(5, "", escpos.State{}))[0]); got != "PAID CNY 0.05" {
		t.Errorf("ASCII paid text = %q", got)
	}
}

// TestQRBlockAmounts checks the amount line's formatting from fen, with no
// floating point anywhere.
func TestQRBlockAmounts(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		{1, "CNY 0.01"},
		{10, "CNY 0.10"},
		{15300, "CNY 153.00"},
		{123456789, "CNY 1234567.89"},
		{9007199254740993, "CNY 90071992547409.93"}, // 2^53+1: would round as a float64
	}
	for _, tc := range tests {
		block, err := escpos.QRBlock(escpos.QROptions{URL: "x", AmountFen: tc.fen})
		if err != nil {
			t.Fatal(err)
		}
		runs := textRuns(block)
		if got := string(runs[len(runs)-1]); got != tc.want {
			t.Errorf("%d fen: amount line %q, want %q", tc.fen, got, tc.want)
		}
	}
	// No amount, no amount line.
	block, _ := escpos.QRBlock(escpos.QROptions{URL: "x"})
	if runs := textRuns(block); len(runs) != 1 {
		t.Errorf("without an amount the block has %d text runs", len(runs))
	}
}

// TestQRBlockErrors checks the refusals.
func TestQRBlockErrors(t *testing.T) {
	if _, err := escpos.QRBlock(escpos.QROptions{URL: "x", Mode: "laser"}); !errors.Is(err, escpos.ErrQRMode) {
		t.Errorf("unknown mode: err = %v", err)
	}
	long := "https://example.com/" + strings.Repeat("a", 2000)
	if _, err := escpos.QRBlock(escpos.QROptions{URL: long, PaperDots: escpos.Paper58mm}); err != nil {
		t.Errorf("2 KB URL at one dot per module: %v", err)
	}
	if _, err := escpos.QRBlock(escpos.QROptions{URL: long, PaperDots: 128}); !errors.Is(err, escpos.ErrQRTooLarge) {
		t.Errorf("2 KB URL on 128 dots: err = %v", err)
	}
}

// ExampleQRBlock splices a raster QR block into a one-receipt job at the
// point Scan finds.
func ExampleQRBlock() {
	job := []byte("\x1b@Total 12.50\n\n\n\x1dVA\x03")
	r := escpos.Scan(job, escpos.Options{}).Receipts[0]
	block, err := escpos.QRBlock(escpos.QROptions{
		URL: "weixin://wxpay/bizpayurl?pr=abc", AmountFen: 1250, State: r.State,
	})
	if err != nil {
		panic(err)
	}
	out := escpos.Splice(job, []escpos.Insertion{{Offset: r.SpliceOffset, Block: block}})
	fmt.Println(len(out) == len(job)+len(block))
	fmt.Println(bytes.Equal(out[:r.SpliceOffset], job[:r.SpliceOffset]))
	fmt.Println(bytes.HasSuffix(out, job[r.SpliceOffset:]))
	// Output:
	// true
	// true
	// true
}

// BenchmarkQRBlock builds a raster QR block for 80 mm paper.
func BenchmarkQRBlock(b *testing.B) {
	b.ReportAllocs()
	o := escpos.QROptions{URL: "weixin://wxpay/bizpayurl?pr=AbCdEfG", AmountFen: 15300,
		PaperDots: escpos.Paper80mm, Encoding: "gbk", State: escpos.State{Width: 1, Height: 1}}
	for b.Loop() {
		if _, err := escpos.QRBlock(o); err != nil {
			b.Fatal(err)
		}
	}
}
