package receiptgen

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// ErrSyntax is wrapped by every error about the source text.
var ErrSyntax = errors.New("receiptgen: bad source")

// Error is a problem at a line of the source.
type Error struct {
	Line int // 1-based
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("receiptgen: line %d: %s", e.Line, e.Msg) }

// Unwrap lets errors.Is(err, ErrSyntax) hold.
func (e *Error) Unwrap() error { return ErrSyntax }

// Encodings lists the values of the encoding header.
var Encodings = []string{"gbk", "gbk-fs", "gb18030", "big5", "utf8", "utf8-fsc", "cp437", "cp858", "ascii"}

type gen struct {
	out      bytes.Buffer
	enc      string
	encoder  *encoding.Encoder
	crlf     bool
	chinese  bool // gbk-fs: FS & already sent
	lineNo   int
	trailers []byte
}

// Encode turns a receipt source (see the package documentation) into
// ESC/POS bytes.
func Encode(src []byte) ([]byte, error) {
	if !utf8.Valid(src) {
		return nil, fmt.Errorf("%w: source is not UTF-8", ErrSyntax)
	}
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	lines := strings.Split(text, "\n")
	if text == "" {
		lines = nil
	}
	g := &gen{enc: "gbk"}
	init := true
	body := 0
	if len(lines) > 0 && isHeader(lines[0]) {
		for body < len(lines) && lines[body] != "" {
			k, v, _ := strings.Cut(lines[body], ":")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "encoding":
				if !contains(Encodings, v) {
					return nil, &Error{body + 1, fmt.Sprintf("unknown encoding %q (want one of %s)", v, strings.Join(Encodings, ", "))}
				}
				g.enc = v
			case "init", "crlf":
				b, ok := yesNo(v)
				if !ok {
					return nil, &Error{body + 1, fmt.Sprintf("%s: want yes or no, got %q", k, v)}
				}
				if k == "init" {
					init = b
				} else {
					g.crlf = b
				}
			default:
				return nil, &Error{body + 1, fmt.Sprintf("unknown header key %q", k)}
			}
			body++
		}
		body++ // the blank line
	}
	switch g.enc {
	case "gbk", "gbk-fs":
		g.encoder = simplifiedchinese.GBK.NewEncoder()
	case "gb18030":
		g.encoder = simplifiedchinese.GB18030.NewEncoder()
	case "big5":
		g.encoder = traditionalchinese.Big5.NewEncoder()
	case "cp437":
		g.encoder = charmap.CodePage437.NewEncoder()
	case "cp858":
		g.encoder = charmap.CodePage858.NewEncoder()
	}
	if init {
		g.out.Write([]byte{0x1B, 0x40})
	}
	switch g.enc {
	case "utf8-fsc":
		g.out.Write([]byte{0x1C, 0x28, 0x43, 0x02, 0x00, 0x30, 0x02})
	case "cp858":
		g.out.Write([]byte{0x1B, 0x74, 19})
	case "gbk-fs":
		g.trailers = []byte{0x1C, 0x2E}
	}
	for i := body; i < len(lines); i++ {
		g.lineNo = i + 1
		if err := g.line(lines[i]); err != nil {
			return nil, err
		}
	}
	if g.chinese {
		g.out.Write(g.trailers)
	}
	return g.out.Bytes(), nil
}

func isHeader(line string) bool {
	k, _, ok := strings.Cut(line, ":")
	if !ok {
		return false
	}
	switch strings.TrimSpace(k) {
	case "encoding", "init", "crlf":
		return true
	}
	return false
}

func yesNo(v string) (bool, bool) {
	switch v {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (g *gen) errf(format string, args ...any) error {
	return &Error{g.lineNo, fmt.Sprintf(format, args...)}
}

func (g *gen) line(l string) error {
	if strings.HasPrefix(l, "@@") {
		return g.text(l[1:])
	}
	if strings.HasPrefix(l, "@") {
		return g.directive(l)
	}
	return g.text(l)
}

// text prints one line: TAB → HT, {col N} → ESC $ nL nH, the rest encoded.
func (g *gen) text(l string) error {
	if g.enc == "gbk-fs" && !g.chinese && hasNonASCII(l) {
		g.out.Write([]byte{0x1C, 0x26})
		g.chinese = true
	}
	for len(l) > 0 {
		i := strings.IndexAny(l, "\t{")
		if i < 0 {
			i = len(l)
		}
		if err := g.encode(l[:i]); err != nil {
			return err
		}
		l = l[i:]
		if l == "" {
			break
		}
		if l[0] == '\t' {
			g.out.WriteByte(0x09)
			l = l[1:]
			continue
		}
		// '{': a column directive, or a literal brace.
		if n, rest, ok := colDirective(l); ok {
			if n < 0 || n > 0xFFFF {
				return g.errf("{col %d}: position out of range 0..65535", n)
			}
			g.out.Write([]byte{0x1B, 0x24, byte(n), byte(n >> 8)})
			l = rest
			continue
		}
		if err := g.encode("{"); err != nil {
			return err
		}
		l = l[1:]
	}
	if g.crlf {
		g.out.WriteByte(0x0D)
	}
	g.out.WriteByte(0x0A)
	return nil
}

func colDirective(l string) (int, string, bool) {
	if !strings.HasPrefix(l, "{col ") {
		return 0, "", false
	}
	end := strings.IndexByte(l, '}')
	if end < 0 {
		return 0, "", false
	}
	n, err := strconv.Atoi(strings.TrimSpace(l[len("{col "):end]))
	if err != nil {
		return 0, "", false
	}
	return n, l[end+1:], true
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// encode writes s in the receipt's encoding.
func (g *gen) encode(s string) error {
	if s == "" {
		return nil
	}
	switch g.enc {
	case "utf8", "utf8-fsc":
		g.out.WriteString(s)
		return nil
	case "ascii":
		if hasNonASCII(s) {
			return g.errf("%q is not ASCII", s)
		}
		g.out.WriteString(s)
		return nil
	}
	for _, r := range s {
		b, err := g.encoder.Bytes([]byte(string(r)))
		if err != nil {
			return g.errf("%q cannot be written in %s", r, g.enc)
		}
		g.out.Write(b)
	}
	return nil
}

func (g *gen) directive(l string) error {
	name, arg, _ := strings.Cut(strings.TrimSpace(l[1:]), " ")
	arg = strings.TrimSpace(arg)
	w := func(b ...byte) error { g.out.Write(b); return nil }
	onOff := func() (byte, error) {
		switch arg {
		case "on":
			return 1, nil
		case "off":
			return 0, nil
		}
		return 0, g.errf("@%s: want on or off, got %q", name, arg)
	}
	num := func(lo, hi int) (int, error) {
		n, err := strconv.Atoi(arg)
		if err != nil || n < lo || n > hi {
			return 0, g.errf("@%s: want a number %d..%d, got %q", name, lo, hi, arg)
		}
		return n, nil
	}
	switch name {
	case "align":
		switch arg {
		case "left":
			return w(0x1B, 0x61, 0)
		case "center":
			return w(0x1B, 0x61, 1)
		case "right":
			return w(0x1B, 0x61, 2)
		}
		return g.errf("@align: want left, center or right, got %q", arg)
	case "bold":
		v, err := onOff()
		if err != nil {
			return err
		}
		return w(0x1B, 0x45, v)
	case "underline":
		v, err := onOff()
		if err != nil {
			return err
		}
		return w(0x1B, 0x2D, v)
	case "chinese":
		v, err := onOff()
		if err != nil {
			return err
		}
		if v == 1 {
			return w(0x1C, 0x26)
		}
		return w(0x1C, 0x2E)
	case "size":
		ws, hs, ok := strings.Cut(arg, "x")
		wd, e1 := strconv.Atoi(ws)
		ht, e2 := strconv.Atoi(hs)
		if !ok || e1 != nil || e2 != nil || wd < 1 || wd > 8 || ht < 1 || ht > 8 {
			return g.errf("@size: want WxH with W and H 1..8, got %q", arg)
		}
		return w(0x1D, 0x21, byte((wd-1)<<4|(ht-1)))
	case "mode":
		n, err := num(0, 255)
		if err != nil {
			return err
		}
		return w(0x1B, 0x21, byte(n))
	case "feed":
		n, err := num(0, 255)
		if err != nil {
			return err
		}
		return w(0x1B, 0x64, byte(n))
	case "lf":
		n, err := num(0, 255)
		if err != nil {
			return err
		}
		g.out.Write(bytes.Repeat([]byte{0x0A}, n))
		return nil
	case "codepage":
		n, err := num(0, 255)
		if err != nil {
			return err
		}
		return w(0x1B, 0x74, byte(n))
	case "cut":
		switch arg {
		case "":
			return w(0x1D, 0x56, 0x41, 0x00)
		case "full":
			return w(0x1D, 0x56, 0x00)
		case "partial":
			return w(0x1D, 0x56, 0x01)
		case "esci":
			return w(0x1B, 0x69)
		}
		return g.errf("@cut: want nothing, full, partial or esci, got %q", arg)
	case "kick":
		return w(0x1B, 0x70, 0x00, 25, 250)
	case "init":
		return w(0x1B, 0x40)
	case "logo":
		f := strings.Fields(arg)
		if len(f) != 2 {
			return g.errf("@logo: want W H in dots, got %q", arg)
		}
		wd, e1 := strconv.Atoi(f[0])
		ht, e2 := strconv.Atoi(f[1])
		if e1 != nil || e2 != nil || wd < 1 || ht < 1 || wd > 65535*8 || ht > 65535 || wd*ht > 8<<20 {
			return g.errf("@logo: bad size %q", arg)
		}
		g.out.Write(Logo(wd, ht))
		return nil
	case "qr":
		if arg == "" {
			return g.errf("@qr: no text")
		}
		if len(arg) > 7089 {
			return g.errf("@qr: text longer than 7089 bytes")
		}
		g.out.Write(QR([]byte(arg)))
		return nil
	case "barcode":
		if arg == "" || len(arg) > 253 || hasNonASCII(arg) {
			return g.errf("@barcode: want 1..253 ASCII characters, got %q", arg)
		}
		g.out.Write([]byte{0x1D, 0x6B, 73, byte(len(arg) + 2), '{', 'B'})
		g.out.WriteString(arg)
		return nil
	case "raw":
		h := strings.Join(strings.Fields(arg), "")
		b, err := hex.DecodeString(h)
		if err != nil || len(b) == 0 {
			return g.errf("@raw: bad hex %q", arg)
		}
		g.out.Write(b)
		return nil
	}
	return g.errf("unknown directive @%s", name)
}

// Logo returns a GS v 0 raster image of w x h dots with a checker pattern
// of 8-dot squares.
func Logo(w, h int) []byte {
	x := (w + 7) / 8
	b := make([]byte, 0, 8+x*h)
	b = append(b, 0x1D, 0x76, 0x30, 0x00, byte(x), byte(x>>8), byte(h), byte(h>>8))
	for row := 0; row < h; row++ {
		for col := 0; col < x; col++ {
			v := byte(0x00)
			if (row/8+col)%2 == 0 {
				v = 0xFF
			}
			if col == x-1 && w%8 != 0 { // dots past the width stay white
				v &= byte(0xFF << (8 - w%8))
			}
			b = append(b, v)
		}
	}
	return b
}

// QR returns the native QR commands (GS ( k cn 49) for data: model 2,
// module size 6, error correction M, store, print.
func QR(data []byte) []byte {
	p := len(data) + 3
	b := []byte{
		0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00, // model 2
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06, // module size 6
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31, // ECC M
		0x1D, 0x28, 0x6B, byte(p), byte(p >> 8), 0x31, 0x50, 0x30, // store
	}
	b = append(b, data...)
	return append(b, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30) // print
}
