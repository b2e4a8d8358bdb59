package escpos

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// hx decodes a hex fixture; spaces and "|" separate fields.
func hx(s string) []byte {
	s = strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestSplitTable checks the length and class of every command family of
// escpos.md §3–4. Each input is the command followed by "41" (text "A"),
// so a wrong length shows up as a wrong first token.
func TestSplitTable(t *testing.T) {
	tests := []struct {
		name string
		in   string // the command, in hex
		kind Kind
		op   Op
	}{
		// single-byte controls
		{"LF", "0A", KindCtrl, OpLF},
		{"CR", "0D", KindCtrl, OpCR},
		{"HT", "09", KindCtrl, OpHT},
		{"FF", "0C", KindCtrl, OpFF},
		{"CAN", "18", KindCtrl, OpCAN},
		{"NUL is an ignored control", "00", KindCtrl, OpNone},
		// DLE real-time
		{"DLE EOT n", "10 04 01", KindCmd, OpStatusQuery},
		{"DLE EOT 7 a (extended)", "10 04 07 01", KindCmd, OpStatusQuery},
		{"DLE ENQ n", "10 05 02", KindCmd, OpRealtime},
		{"DLE DC4 fn1 drawer pulse", "10 14 01 00 05", KindCmd, OpDrawer},
		{"DLE DC4 fn2 power off", "10 14 02 01 08", KindCmd, OpRealtime},
		{"DLE DC4 fn3 buzzer", "10 14 03 01 01 01 01 01", KindCmd, OpRealtime},
		{"DLE DC4 fn7 status", "10 14 07 01", KindCmd, OpStatusQuery},
		{"DLE DC4 fn8 clear buffers", "10 14 08 01 03 14 01 06 02 08", KindCmd, OpStatusQuery},
		{"lone DLE is data", "10", KindCtrl, OpNone},
		// ESC fixed
		{"ESC @", "1B 40", KindCmd, OpInit},
		{"ESC FF page print", "1B 0C", KindCmd, OpOther},
		{"ESC SP n", "1B 20 00", KindCmd, OpOther},
		{"ESC ! n", "1B 21 38", KindCmd, OpMode},
		{"ESC $ nL nH", "1B 24 90 00", KindCmd, OpColumn},
		{"ESC % n", "1B 25 01", KindCmd, OpOther},
		{"ESC - n", "1B 2D 01", KindCmd, OpUnderline},
		{"ESC 2", "1B 32", KindCmd, OpLineSpacing},
		{"ESC 3 n", "1B 33 18", KindCmd, OpLineSpacing},
		{"ESC = n", "1B 3D 01", KindCmd, OpOther},
		{"ESC E n", "1B 45 01", KindCmd, OpBold},
		{"ESC G n", "1B 47 01", KindCmd, OpBold},
		{"ESC J n", "1B 4A 18", KindCmd, OpFeed},
		{"ESC K n", "1B 4B 18", KindCmd, OpOther},
		{"ESC L", "1B 4C", KindCmd, OpPageMode},
		{"ESC M n", "1B 4D 01", KindCmd, OpFont},
		{"ESC R n", "1B 52 03", KindCmd, OpOther},
		{"ESC S", "1B 53", KindCmd, OpStandardMode},
		{"ESC T n", "1B 54 01", KindCmd, OpOther},
		{"ESC W area", "1B 57 00 00 00 00 00 02 00 02", KindCmd, OpOther},
		{"ESC \\ nL nH", "1B 5C 10 00", KindCmd, OpColumn},
		{"ESC a n", "1B 61 01", KindCmd, OpAlign},
		{"ESC c 5 n", "1B 63 35 00", KindCmd, OpOther},
		{"ESC d n", "1B 64 03", KindCmd, OpFeed},
		{"ESC i", "1B 69", KindCmd, OpCut},
		{"ESC m", "1B 6D", KindCmd, OpCut},
		{"ESC p m t1 t2", "1B 70 00 19 FA", KindCmd, OpDrawer},
		{"ESC t n", "1B 74 13", KindCmd, OpCodePage},
		{"ESC u n", "1B 75 00", KindCmd, OpStatusQuery},
		{"ESC v", "1B 76", KindCmd, OpStatusQuery},
		{"ESC { n", "1B 7B 01", KindCmd, OpOther},
		{"clone ESC 4", "1B 34", KindCmd, OpOther},
		// ESC variable
		{"ESC * 8-dot, 2 columns", "1B 2A 00 02 00 | AA 55", KindCmd, OpRaster},
		{"ESC * 24-dot, 2 columns", "1B 2A 21 02 00 | 010203 040506", KindCmd, OpRaster},
		{"ESC & y=1, chars 41..42", "1B 26 01 41 42 | 02 AAAA | 01 BB", KindCmd, OpOther},
		{"ESC D tabs to NUL", "1B 44 08 10 18 00", KindCmd, OpOther},
		{"ESC ( A beeper", "1B 28 41 03 00 | 61 01 01", KindCmd, OpOther},
		{"ESC Z 2-D code", "1B 5A 00 01 02 03 00 | 31 32 33", KindCmd, OpSymbol},
		// GS fixed
		{"GS ! n", "1D 21 11", KindCmd, OpSize},
		{"GS $ nL nH", "1D 24 10 00", KindCmd, OpOther},
		{"GS / m", "1D 2F 00", KindCmd, OpRaster},
		{"GS :", "1D 3A", KindCmd, OpOther},
		{"GS B n", "1D 42 01", KindCmd, OpReverse},
		{"GS H n", "1D 48 02", KindCmd, OpOther},
		{"GS I n", "1D 49 43", KindCmd, OpStatusQuery},
		{"GS L nL nH", "1D 4C 00 01", KindCmd, OpOther},
		{"GS P x y", "1D 50 B4 B4", KindCmd, OpOther},
		{"GS V 0", "1D 56 00", KindCmd, OpCut},
		{"GS V '1'", "1D 56 31", KindCmd, OpCut},
		{"GS V 65 n", "1D 56 41 03", KindCmd, OpCut},
		{"GS V 66 n", "1D 56 42 00", KindCmd, OpCut},
		{"GS V 97 n", "1D 56 61 00", KindCmd, OpCut},
		{"GS V 104 n", "1D 56 68 00", KindCmd, OpCut},
		{"GS W nL nH", "1D 57 00 02", KindCmd, OpOther},
		{"GS ^ r t m", "1D 5E 01 00 00", KindCmd, OpOther},
		{"GS a n (ASB)", "1D 61 0F", KindCmd, OpStatusQuery},
		{"GS g 0", "1D 67 30 00 14 00", KindCmd, OpOther},
		{"GS g 2", "1D 67 32 00 14 00", KindCmd, OpStatusQuery},
		{"GS h n", "1D 68 50", KindCmd, OpOther},
		{"GS r n", "1D 72 01", KindCmd, OpStatusQuery},
		{"GS w n", "1D 77 02", KindCmd, OpOther},
		{"GS z 0 t1 t2", "1D 7A 30 01 01", KindCmd, OpOther},
		// GS variable
		{"GS ( k QR print", "1D 28 6B 03 00 | 31 51 30", KindCmd, OpQR},
		{"GS ( k PDF417 print", "1D 28 6B 03 00 | 30 51 30", KindCmd, OpSymbol},
		{"GS ( L print graphics", "1D 28 4C 02 00 | 30 32", KindCmd, OpRaster},
		{"GS ( L NV logo", "1D 28 4C 06 00 | 30 45 20 20 01 01", KindCmd, OpNVImage},
		{"GS ( H process ID", "1D 28 48 06 00 | 30 30 31 32 33 34", KindCmd, OpStatusQuery},
		{"GS ( A test print", "1D 28 41 02 00 | 00 02", KindCmd, OpOther},
		{"GS 8 L store raster", "1D 38 4C 0B 00 00 00 | 30 70 30 01 01 31 08 00 01 00 | FF", KindCmd, OpRaster},
		{"GS v 0 2x2", "1D 76 30 00 02 00 02 00 | FF 00 00 FF", KindCmd, OpRaster},
		{"GS Q 0 2x1", "1D 51 30 00 02 00 01 00 | FF 00", KindCmd, OpRaster},
		{"GS * 1x1", "1D 2A 01 01 | 0102030405060708", KindCmd, OpRaster},
		{"GS k old form to NUL", "1D 6B 04 | 31 32 33 | 00", KindCmd, OpBarcode},
		{"GS k Code128 length form", "1D 6B 49 05 | 7B 42 31 32 33", KindCmd, OpBarcode},
		{"GS C 0", "1D 43 30 00 00", KindCmd, OpOther},
		{"GS C 1", "1D 43 31 00 00 00 00 00 00", KindCmd, OpOther},
		{"GS C ;", "1D 43 3B 31 3B 32 3B 33 3B 34 3B 35 3B", KindCmd, OpOther},
		{"GS D 0 S BMP", "1D 44 30 53 30 01 01 01 31 | 42 4D 08 00 00 00 00 00", KindCmd, OpOther},
		// FS
		{"FS &", "1C 26", KindCmd, OpChineseOn},
		{"FS .", "1C 2E", KindCmd, OpChineseOff},
		{"FS ! n", "1C 21 04", KindCmd, OpOther},
		{"FS - n", "1C 2D 01", KindCmd, OpOther},
		{"FS S n1 n2", "1C 53 00 00", KindCmd, OpOther},
		{"FS p n m", "1C 70 01 00", KindCmd, OpNVImage},
		{"FS ( C UTF-8", "1C 28 43 02 00 | 30 02", KindCmd, OpEncoding},
		{"FS ( A font", "1C 28 41 02 00 | 30 00", KindCmd, OpOther},
		{"FS g 1 write", "1C 67 31 00 00 00 00 00 02 00 | 41 42", KindCmd, OpOther},
		{"FS q one 1x1 image", "1C 71 01 | 01 00 01 00 | 0102030405060708", KindCmd, OpOther},
		// unknown and vendor commands: two bytes
		{"vendor GS U", "1D 55", KindCmd, OpUnknown},
		{"unknown ESC x", "1B 78", KindCmd, OpUnknown},
		{"Star ESC GS", "1B 1D", KindCmd, OpUnknown},
		{"GS v not 0", "1D 76 31", KindCmd, OpUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := hx(tc.in)
			in := append(append([]byte{}, cmd...), 'A')
			want := len(cmd)
			if tc.name == "GS v not 0" {
				want = 2
			}
			n, tok := Split(in, true)
			if n != want || tok.Len != n || tok.Off != 0 {
				t.Errorf("Split(% X) = n %d, len %d, off %d; want %d", in, n, tok.Len, tok.Off, want)
			}
			if tok.Kind != tc.kind || tok.Op != tc.op || tok.Trunc {
				t.Errorf("Split(% X) = %v/%v trunc=%v; want %v/%v", in, tok.Kind, tok.Op, tok.Trunc, tc.kind, tc.op)
			}
			// Without atEOF, every strict prefix needs more (or is a
			// complete control); the whole command is returned as is.
			if n2, tok2 := Split(in, false); n2 != n || tok2 != tok {
				t.Errorf("Split(atEOF=false) = %d %+v, want %d %+v", n2, tok2, n, tok)
			}
			for i := 1; i < want; i++ {
				if n, _ := Split(cmd[:i], false); n != 0 && tc.kind == KindCmd {
					t.Errorf("prefix of %d bytes: n = %d, want 0 (need more)", i, n)
				}
				n, tok := Split(cmd[:i], true)
				if n != i || !tok.Trunc {
					if !(tc.in == "10" || (n == i && tok.Kind == KindCtrl)) {
						t.Errorf("prefix of %d bytes at EOF: n = %d trunc=%v, want %d truncated", i, n, tok.Trunc, i)
					}
				}
			}
		})
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		atEOF bool
		n     int
		op    Op
	}{
		{"run ends at a prefix", []byte("Total 5.00\x1b@"), true, 10, OpNone},
		{"run ends at LF", []byte("ab\n"), false, 2, OpNone},
		{"spaces only", []byte("   \n"), true, 3, OpBlank},
		{"GBK bytes are text", hx("BA CF BC C6 0A"), true, 4, OpNone},
		{"piece when streaming", []byte("abc"), false, 3, OpNone},
		{"empty", nil, true, 0, OpNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, tok := Split(tc.in, tc.atEOF)
			if n != tc.n || (n > 0 && (tok.Kind != KindText || tok.Op != tc.op)) {
				t.Errorf("Split(%q) = %d %+v; want %d text/%v", tc.in, n, tok, tc.n, tc.op)
			}
		})
	}
}

func TestSplitMalformed(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		n     int
		op    Op
		trunc bool
	}{
		// GS 8 L declaring more bytes than the job has: one truncated token.
		{"length past the end", "1D 38 4C FF 00 00 00 30 70 FF FF", 11, OpRaster, true},
		// A 4 GiB declaration is corrupt: the 7-byte header alone.
		{"length over the cap", "1D 38 4C FF FF FF FF 30 70 41 42", 7, OpRaster, true},
		// GS k old form with no NUL in 256 bytes: header alone.
		{"barcode without NUL", "1D 6B 04" + strings.Repeat("31", 300), 3, OpBarcode, true},
		{"prefix at the end", "1B", 1, OpUnknown, true},
		{"cut missing its n at the end", "1D 56 41", 3, OpCut, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, tok := Split(hx(tc.in), true)
			if n != tc.n || tok.Op != tc.op || tok.Trunc != tc.trunc {
				t.Errorf("got n=%d %v trunc=%v; want n=%d %v trunc=%v", n, tok.Op, tok.Trunc, tc.n, tc.op, tc.trunc)
			}
		})
	}
}

func TestIsTail(t *testing.T) {
	tests := []struct {
		in   string
		tail bool
	}{
		{"0A", true}, {"0D", true}, {"00", true},
		{"1B 64 03", true}, {"1B 4A 18", true}, {"1B 61 01", true}, {"1B 21 00", true},
		{"1D 21 00", true}, {"1B 45 00", true}, {"1B 2D 00", true}, {"1D 42 00", true},
		{"20 20 20", true},
		{"41", false}, {"09", false}, {"0C", false}, {"1B 40", false}, {"1B 74 00", false},
		{"1D 56 41 00", false}, {"1B 70 00 19 FA", false}, {"1D 76 30 00 01 00 01 00 FF", false},
	}
	for _, tc := range tests {
		_, tok := Split(hx(tc.in), true)
		if tok.IsTail() != tc.tail {
			t.Errorf("% X: IsTail = %v, want %v", hx(tc.in), tok.IsTail(), tc.tail)
		}
	}
}

// tokens splits a whole buffer.
func tokens(data []byte) []Token {
	var out []Token
	for off := 0; off < len(data); {
		n, t := Split(data[off:], true)
		t.Off = off
		out = append(out, t)
		off += n
	}
	return out
}

// streamTokens feeds data to Split in chunks of the given sizes (cycled),
// as a network reader would, keeping unconsumed bytes.
func streamTokens(data []byte, chunk func() int) []Token {
	var out []Token
	var buf []byte
	base, fed := 0, 0
	for {
		atEOF := fed == len(data)
		for len(buf) > 0 {
			n, t := Split(buf, atEOF)
			if n == 0 {
				if atEOF {
					panic("Split returned 0 at EOF")
				}
				break
			}
			t.Off = base
			out = append(out, t)
			buf = buf[n:]
			base += n
		}
		if atEOF {
			return out
		}
		c := min(max(chunk(), 0), len(data)-fed)
		buf = append(buf, data[fed:fed+c]...)
		fed += c
	}
}

// mergeText joins adjacent text tokens: streaming may split a run.
func mergeText(ts []Token) []Token {
	var out []Token
	for _, t := range ts {
		if n := len(out); n > 0 && t.Kind == KindText && out[n-1].Kind == KindText {
			if t.Op != OpBlank {
				out[n-1].Op = OpNone
			}
			out[n-1].Len += t.Len
			continue
		}
		out = append(out, t)
	}
	return out
}

// checkTiling fails unless ts covers data exactly, in order.
func checkTiling(t testing.TB, data []byte, ts []Token) {
	t.Helper()
	off := 0
	for i, tok := range ts {
		if tok.Off != off || tok.Len <= 0 {
			t.Fatalf("token %d: off %d len %d, want off %d and len > 0", i, tok.Off, tok.Len, off)
		}
		off += tok.Len
	}
	if off != len(data) {
		t.Fatalf("tokens cover %d of %d bytes", off, len(data))
	}
}

func equalTokens(a, b []Token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSplitStreaming feeds every corpus job in awkward pieces (one byte
// at a time, primes, random sizes including empty reads, as
// testing/iotest's OneByteReader and HalfReader would) and expects the
// tokens of the whole buffer.
func TestSplitStreaming(t *testing.T) {
	for _, f := range corpusFiles(t) {
		data := readFile(t, f)
		whole := tokens(data)
		checkTiling(t, data, whole)
		rng := rand.New(rand.NewPCG(1, uint64(len(data))))
		chunkers := map[string]func() int{
			"one byte":  func() int { return 1 },
			"seven":     func() int { return 7 },
			"random":    func() int { return rng.IntN(300) },
			"half":      func() int { return max(1, len(data)/2+1) },
			"with zero": func() int { return rng.IntN(3) },
		}
		for name, ch := range chunkers {
			got := mergeText(streamTokens(data, ch))
			if !equalTokens(got, mergeText(whole)) {
				t.Errorf("%s, %s chunks: streamed tokens differ from whole-buffer tokens", f, name)
			}
		}
	}
}

func TestSplitAllocs(t *testing.T) {
	data := readFile(t, "../../testdata/corpus/mike42__escpos-php/receipt-with-logo.bin")
	allocs := testing.AllocsPerRun(10, func() {
		for off := 0; off < len(data); {
			n, _ := Split(data[off:], true)
			off += n
		}
	})
	if allocs != 0 {
		t.Errorf("Split allocates %.0f times per job, want 0", allocs)
	}
}

func TestSplitNeverModifies(t *testing.T) {
	data := readFile(t, "../../testdata/corpus/mike42__escpos-php/demo.bin")
	orig := bytes.Clone(data)
	_ = Scan(data, Options{})
	_ = tokens(data)
	if !bytes.Equal(data, orig) {
		t.Fatal("Scan or Split modified its input")
	}
}

// splitFunc adapts Split to bufio.SplitFunc.
func splitFunc(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	n, _ := Split(data, atEOF)
	if n == 0 {
		return 0, nil, nil
	}
	return n, data[:n], nil
}

// TestSplitReaders reads every corpus job through bufio.Scanner with
// Split over testing/iotest readers that return one byte at a time, half
// the request, or the data together with io.EOF.
func TestSplitReaders(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	}
	for _, f := range corpusFiles(t) {
		data := readFile(t, f)
		want := mergeText(tokens(data))
		for name, wrap := range readers {
			sc := bufio.NewScanner(wrap(bytes.NewReader(data)))
			sc.Buffer(make([]byte, 0, 64), len(data)+64)
			sc.Split(splitFunc)
			var got []Token
			off := 0
			for sc.Scan() {
				_, tok := Split(sc.Bytes(), true)
				tok.Off, tok.Len = off, len(sc.Bytes())
				got = append(got, tok)
				off += len(sc.Bytes())
			}
			if err := sc.Err(); err != nil {
				t.Fatalf("%s, %s: %v", f, name, err)
			}
			if !equalTokens(mergeText(got), want) {
				t.Errorf("%s, %s reader: tokens differ from whole-buffer tokens", f, name)
			}
		}
	}
}

// TestSimpleCommandsMatchSplit: the commands the scan loop reads without
// Split are read by Split the same way, whatever their parameter and the
// bytes after them.
func TestSimpleCommandsMatchSplit(t *testing.T) {
	for _, p := range []byte{esc, gs} {
		for x := range 256 {
			sc := simpleCmd([]byte{p, byte(x), 0})
			if sc.n == 0 {
				continue
			}
			for v := range 256 {
				for _, tail := range []string{"", "\x00\x00\x00\x00\x00\x00", "\xff\xff\xff\xff\xff\xff", "0123456789"} {
					b := append([]byte{p, byte(x), byte(v)}, tail...)
					for _, atEOF := range []bool{true, false} {
						n, tok := Split(b, atEOF)
						if n != int(sc.n) || tok != (Token{Len: int(sc.n), Kind: KindCmd, Op: sc.op}) {
							t.Fatalf("% X (atEOF %v): Split %d %+v, simple %+v", b, atEOF, n, tok, sc)
						}
					}
				}
			}
		}
	}
}

// TestTextRun: the word-at-a-time run length and high-byte flag equal a
// byte loop's, wherever the control byte falls.
func TestTextRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		b := make([]byte, 1+rng.IntN(40))
		for i := range b {
			switch rng.IntN(6) {
			case 0:
				b[i] = byte(rng.IntN(0x20))
			case 1:
				b[i] = 0x80 + byte(rng.IntN(0x80))
			default:
				b[i] = 0x20 + byte(rng.IntN(0x60))
			}
		}
		b[0] |= 0x20
		n, high := 1, b[0] >= 0x80
		for n < len(b) && b[n] >= 0x20 {
			high = high || b[n] >= 0x80
			n++
		}
		if gn, gh := textRun(b); gn != n || gh != high {
			t.Fatalf("% X: textRun %d %v, want %d %v", b, gn, gh, n, high)
		}
		if textEnd(b) != n {
			t.Fatalf("% X: textEnd %d, want %d", b, textEnd(b), n)
		}
	}
}
