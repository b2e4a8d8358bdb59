package render_test

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/render"
	"printpay.dev/printpay/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/render/*.png from the current renderer")

const (
	corpusDir = "../../testdata/corpus"
	goldenDir = "../../testdata/render"
	// wqyFont is the font the golden pictures are drawn with (Debian
	// fonts-wqy-microhei, installed by make test).
	wqyFont = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
	payURL  = "weixin://wxpay/bizpayurl?pr=Xk9q2Lm"
)

// needFont returns the golden font's path, skipping (or failing when tools
// are required) when it is not installed.
func needFont(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(wqyFont); err != nil {
		if os.Getenv("PRINTPAY_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is missing (apt-get install fonts-wqy-microhei)", wqyFont)
		}
		t.Skipf("%s is missing (apt-get install fonts-wqy-microhei)", wqyFont)
	}
	return wqyFont
}

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// splice inserts a QR block at receipt i's splice point.
func splice(t *testing.T, data []byte, i int, o escpos.QROptions) []byte {
	t.Helper()
	job := escpos.Scan(data, escpos.Options{})
	r := job.Receipts[i]
	if r.SpliceOffset < 0 {
		t.Fatalf("receipt %d takes no QR: %s", i, r.SpliceReason)
	}
	o.State, o.Encoding = r.State, job.Encoding
	block, err := escpos.QRBlock(o)
	if err != nil {
		t.Fatal(err)
	}
	return escpos.Splice(data, []escpos.Insertion{{Offset: r.SpliceOffset, Block: block}})
}

// zbar decodes the QR codes in a PNG with zbarimg.
func zbar(t *testing.T, pngData []byte) []string {
	t.Helper()
	bin := testenv.Tool(t, "zbarimg")
	f := filepath.Join(t.TempDir(), "job.png")
	if err := os.WriteFile(f, pngData, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-q", "--raw", "-Sdisable", "-Sqrcode.enable", f).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code: %v", err)
	}
	return strings.Fields(string(out))
}

// TestSplicedQRScans renders a receipt with a spliced QR block, raster and
// native, on both paper widths, and reads the picture with zbarimg: the QR
// must give back the URL.
func TestSplicedQRScans(t *testing.T) {
	font := needFont(t)
	data := readCorpus(t, "mike42__escpos-php/receipt-with-logo.bin")
	for _, mode := range []string{escpos.QRRaster, escpos.QRNative} {
		for _, paper := range []int{escpos.Paper58mm, escpos.Paper80mm} {
			t.Run(fmt.Sprintf("%s-%d", mode, paper), func(t *testing.T) {
				job := splice(t, data, 0, escpos.QROptions{URL: payURL, Mode: mode, PaperDots: paper, AmountFen: 1425})
				if native := bytes.Contains(job, []byte{0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00}); native != (mode == escpos.QRNative) {
					t.Fatalf("mode %s: native QR command present = %v", mode, native)
				}
				pngData, warns, err := render.PNG(job, render.Options{PaperDots: paper, FontPath: font})
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range warns {
					t.Logf("warning: %s", w)
				}
				got := zbar(t, pngData)
				if len(got) != 1 || got[0] != payURL {
					t.Fatalf("zbarimg read %q, want [%s]", got, payURL)
				}
			})
		}
	}
}

// TestCorpusNativeQRScans reads the native QR already in a corpus job.
func TestCorpusNativeQRScans(t *testing.T) {
	font := needFont(t)
	data := readCorpus(t, "zachzurn__thermal/test_receipt_3.bin")
	pngData, _, err := render.PNG(data, render.Options{FontPath: font})
	if err != nil {
		t.Fatal(err)
	}
	// The URL stored by GS ( k fn 80 at offset 73 (33 bytes, 25 of them data).
	want := string(data[81:106])
	if got := zbar(t, pngData); len(got) != 1 || got[0] != want {
		t.Fatalf("zbarimg read %q, want [%s]", got, want)
	}
}

// TestGBKCaption renders the caption of a block spliced into a GBK
// receipt and compares it, dot for dot, with the same words sent as UTF-8:
// the block's GB2312 bytes print 微信扫码支付 and ￥68.00.
func TestGBKCaption(t *testing.T) {
	font := needFont(t)
	opt := render.Options{PaperDots: 576, FontPath: font}
	block, err := escpos.QRBlock(escpos.QROptions{URL: payURL, AmountFen: 6800, Encoding: "gbk",
		State: escpos.State{Width: 1, Height: 1}})
	if err != nil {
		t.Fatal(err)
	}
	// Everything of the block but its QR: the caption and amount lines.
	var gbk []byte
	for off := 0; off < len(block); {
		n, tok := escpos.Split(block[off:], true)
		if tok.Op != escpos.OpRaster {
			gbk = append(gbk, block[off:off+n]...)
		}
		off += n
	}
	utf := []byte("\x1c\x28\x43\x02\x00\x30\x02" + // FS ( C: UTF-8
		"\x1b\x21\x00\x1d\x21\x00\x1b\x45\x00\x1b\x2d\x00\x1d\x42\x00\x1b\x61\x01" +
		"微信扫码支付\n\x1d\x21\x11￥68.00\n\x1d\x21\x00")
	a, warnA, err := render.Image(gbk, render.Options{PaperDots: 576, FontPath: font, Encoding: "gbk"})
	if err != nil {
		t.Fatal(err)
	}
	b, warnB, err := render.Image(utf, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnA)+len(warnB) > 0 {
		t.Errorf("warnings: %q %q", warnA, warnB)
	}
	if !a.Bounds().Eq(b.Bounds()) || !bytes.Equal(a.Pix, b.Pix) {
		t.Fatalf("GBK caption (%v) differs from the UTF-8 text (%v)", a.Bounds(), b.Bounds())
	}
	if ink(a) < 500 {
		t.Fatalf("caption drew only %d black dots", ink(a))
	}
}

func ink(img *image.Gray) int {
	n := 0
	for _, p := range img.Pix {
		if p < 0x80 {
			n++
		}
	}
	return n
}

// goldenCases are corpus receipts (and one spliced receipt) whose pictures
// are kept in testdata/render.
var goldenCases = []struct {
	name   string
	file   string
	paper  int
	splice bool // with a raster QR block at receipt 0
}{
	{"receipt-with-logo", "mike42__escpos-php/receipt-with-logo.bin", 576, false},
	{"snaildev-gbk-receipt", "SnailDev__SnailDev.EscPosParser/receipt-text.bin", 576, false},
	{"snaildev-gbk-receipt-spliced", "SnailDev__SnailDev.EscPosParser/receipt-text.bin", 576, true},
	{"cafe-order-voucher", "receiptful__escpost/cafe-order-voucher.bin", 576, false},
	{"text-size-58mm", "mike42__escpos-php/text-size.bin", 384, false},
	{"gprinter-cafe-invoice", "YangYoungYoung__orderSystem/gprinter-cafe-invoice-zh-en.bin", 576, false},
}

// TestGoldenPNGs compares renders of corpus receipts with the committed
// pictures, allowing 0.2 % of the dots to differ (font rasteriser
// rounding). Run with -update to rewrite them, then look at them.
func TestGoldenPNGs(t *testing.T) {
	font := needFont(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			data := readCorpus(t, tc.file)
			if tc.splice {
				data = splice(t, data, 0, escpos.QROptions{URL: payURL, PaperDots: tc.paper, AmountFen: 6800})
			}
			got, _, err := render.Image(data, render.Options{PaperDots: tc.paper, FontPath: font})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(goldenDir, tc.name+".png")
			if *update {
				var buf bytes.Buffer
				if err := png.Encode(&buf, got); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			defer f.Close()
			want, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if !want.Bounds().Eq(got.Bounds()) {
				t.Fatalf("picture is %v, golden %v", got.Bounds(), want.Bounds())
			}
			diff := 0
			for y := 0; y < got.Rect.Dy(); y++ {
				for x := 0; x < got.Rect.Dx(); x++ {
					r, _, _, _ := want.At(x, y).RGBA()
					if (r < 0x8000) != (got.GrayAt(x, y).Y < 0x80) {
						diff++
					}
				}
			}
			if limit := got.Rect.Dx() * got.Rect.Dy() / 500; diff > limit {
				t.Fatalf("%d dots differ from %s (limit %d)", diff, path, limit)
			}
		})
	}
}

// TestRenderWarnings checks what is reported instead of failing.
func TestRenderWarnings(t *testing.T) {
	font := needFont(t)
	tests := []struct {
		name string
		job  string
		opt  render.Options
		want string // substring of one warning
	}{
		{"missing glyph", "\x1c\x28\x43\x02\x00\x30\x02\u05d0\u05d1\n", render.Options{FontPath: font}, "U+05D0 U+05D1"},
		{"no font at all", "\x1c&\xce\xa2\xd0\xc5\n", render.Options{FontPaths: []string{}, Encoding: "gbk"}, "no CJK font found"},
		{"page mode", "\x1bLpage\x0c", render.Options{FontPath: font}, "page mode"},
		{"truncated", "text\n\x1dv0\x00\x10\x00\xff\x00\x01\x02", render.Options{FontPath: font}, "truncated command at offset 5"},
		{"unterminated line", "held in the buffer", render.Options{FontPath: font}, "no line feed"},
		{"star line mode", "\x1b\x1da\x01Hello\n\x1b\x1da\x00Total 1.00\n\x1bd\x02", render.Options{FontPath: font}, "Star Line Mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, warns, err := render.Image([]byte(tc.job), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if img.Rect.Dx() != 576 {
				t.Errorf("width %d", img.Rect.Dx())
			}
			if !strings.Contains(strings.Join(warns, "\n"), tc.want) {
				t.Errorf("warnings %q lack %q", warns, tc.want)
			}
		})
	}
	// A font that cannot be read is an error.
	if _, _, err := render.Image([]byte("x\n"), render.Options{FontPath: "/nonexistent.ttf"}); err == nil {
		t.Error("unreadable font: no error")
	}
	if _, _, err := render.Image(nil, render.Options{PaperDots: 20}); err == nil {
		t.Error("20-dot paper: no error")
	}
}

// TestRenderBounded checks that huge and hostile jobs stop at the height
// cap with a note, in bounded time.
func TestRenderBounded(t *testing.T) {
	font := needFont(t)
	jobs := map[string][]byte{
		"a million feeds": bytes.Repeat([]byte("line\n"), 1_000_000),
		// 8x8 characters positioned on top of each other: all overdraw.
		"overdraw":   append([]byte("\x1d!\x77"), bytes.Repeat([]byte("\x1b$\x00\x00W"), 300_000)...),
		"huge image": append([]byte("\x1dv0\x00\x48\x00\xff\xff"), bytes.Repeat([]byte{0xAA}, 72*40000)...),
	}
	for name, job := range jobs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			img, warns, err := render.Image(job, render.Options{FontPath: font, MaxHeight: 5000})
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > 20*time.Second {
				t.Errorf("took %v", el)
			}
			if h := img.Rect.Dy(); h > 5000+4*24 {
				t.Errorf("height %d over the cap", h)
			}
			if !strings.Contains(strings.Join(warns, "\n"), "not drawn") {
				t.Errorf("no note about the cut-off: %q", warns)
			}
		})
	}
}

// TestRenderNeverPanics draws random and truncated jobs.
func TestRenderNeverPanics(t *testing.T) {
	font := needFont(t)
	rng := rand.New(rand.NewSource(1))
	seed := readCorpus(t, "mike42__escpos-php/demo.bin")
	for i := 0; i < 80; i++ {
		n := rng.Intn(2000)
		b := make([]byte, n)
		for j := range b {
			// Bias towards command prefixes and small parameters.
			switch rng.Intn(4) {
			case 0:
				b[j] = []byte{0x1B, 0x1D, 0x1C, 0x10, 0x0A}[rng.Intn(5)]
			default:
				b[j] = byte(rng.Intn(256))
			}
		}
		if _, _, err := render.Image(b, render.Options{FontPath: font, MaxHeight: 3000}); err != nil {
			t.Fatal(err)
		}
		cut := rng.Intn(len(seed))
		if _, _, err := render.Image(seed[:cut], render.Options{FontPath: font, MaxHeight: 3000}); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzRender draws arbitrary jobs: never an error or a panic, always the
// paper's width, never taller than the cap plus the note.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"\x1b@Hello\n\x1d!\x11Big\n\x1dVA\x03",
		"\x1c&\xce\xa2\xd0\xc5\n",
		"\x1dv0\x00\x02\x00\x02\x00\xff\x00\x00\xff",
		"\x1d(k\x04\x001A2\x00\x1d(k\x05\x001P0ab\x1d(k\x03\x001Q0",
		"\x1bL\x1b$\x10\x00page\x0c",
		"\x1b*\x21\x02\x00\xff\xff\xff\x00\x00\x00\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, _, err := render.Image(data, render.Options{PaperDots: 384, MaxHeight: 2000})
		if err != nil {
			t.Fatal(err)
		}
		if img.Rect.Dx() != 384 || img.Rect.Dy() > 2000+4*24 {
			t.Fatalf("picture %v", img.Rect)
		}
	})
}

// BenchmarkRender draws a long corpus job.
func BenchmarkRender(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "mike42__escpos-php/demo.bin"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := render.PNG(data, render.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenderConcurrent draws from several goroutines at once, as the file
// driver and the status page do (run with -race).
func TestRenderConcurrent(t *testing.T) {
	font := needFont(t)
	data := readCorpus(t, "SnailDev__SnailDev.EscPosParser/receipt-text.bin")
	want, _, err := render.Image(data, render.Options{FontPath: font})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			got, _, err := render.Image(data, render.Options{FontPath: font})
			if err == nil && !bytes.Equal(got.Pix, want.Pix) {
				err = fmt.Errorf("concurrent render differs")
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
