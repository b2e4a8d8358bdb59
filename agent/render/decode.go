package render

// This file turns a text run into the characters the printer draws, with
// their cell width: a double-byte (or GB18030 four-byte) character takes a
// full-width 24-dot cell, as it does on a Chinese printer.

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/width"
)

type char struct {
	r    rune
	wide bool
}

// textMode is how the bytes of a text run are read.
type textMode uint8

const (
	modeCodePage textMode = iota
	modeGB
	modeBig5
	modeUTF8
)

func (p *printer) textMode() textMode {
	if p.st.utf8 {
		return modeUTF8
	}
	switch normEnc(p.enc) {
	case "gb18030", "gbk", "gb2312", "cp936":
		return modeGB
	case "big5", "cp950":
		return modeBig5
	case "utf8":
		return modeUTF8
	}
	if p.st.chinese {
		return modeGB
	}
	return modeCodePage
}

func normEnc(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
}

func (p *printer) decode(b []byte) []char {
	out := make([]char, 0, len(b))
	switch p.textMode() {
	case modeUTF8:
		for len(b) > 0 {
			r, n := utf8.DecodeRune(b)
			k := width.LookupRune(r).Kind()
			out = append(out, char{r, k == width.EastAsianWide || k == width.EastAsianFullwidth})
			b = b[n:]
		}
	case modeGB:
		for i := 0; i < len(b); {
			c := b[i]
			if c < 0x81 || c == 0xFF || i+1 >= len(b) {
				out = append(out, p.single(c))
				i++
				continue
			}
			n := 2
			if b[i+1] >= 0x30 && b[i+1] <= 0x39 {
				n = 4
			}
			if i+n > len(b) {
				out = append(out, char{utf8.RuneError, false})
				i = len(b)
				continue
			}
			out = append(out, char{decodeOne(gbDecode, b[i:i+n]), true})
			i += n
		}
	case modeBig5:
		for i := 0; i < len(b); {
			c := b[i]
			if c < 0x81 || c == 0xFF || i+1 >= len(b) {
				out = append(out, p.single(c))
				i++
				continue
			}
			out = append(out, char{decodeOne(big5Decode, b[i:i+2]), true})
			i += 2
		}
	default:
		cm := codePage(p.st.codePage, p.enc)
		for _, c := range b {
			if c < 0x80 {
				out = append(out, char{rune(c), false})
				continue
			}
			out = append(out, char{cm.DecodeByte(c), false})
		}
	}
	return out
}

// single is a byte outside a multi-byte character: ASCII, or a stray byte.
func (p *printer) single(c byte) char {
	if c < 0x80 {
		return char{rune(c), false}
	}
	return char{utf8.RuneError, false}
}

func gbDecode(b []byte) ([]byte, error) {
	return simplifiedchinese.GB18030.NewDecoder().Bytes(b)
}

func big5Decode(b []byte) ([]byte, error) {
	return traditionalchinese.Big5.NewDecoder().Bytes(b)
}

func decodeOne(dec func([]byte) ([]byte, error), b []byte) rune {
	s, err := dec(b)
	if err != nil || len(s) == 0 {
		return utf8.RuneError
	}
	r, _ := utf8.DecodeRune(s)
	return r
}

// codePage maps an ESC t number (Epson numbering, escpos.md §5) to its
// table. When the job never chose one, the printer's configured single-byte
// encoding applies, CP437 by default.
func codePage(n int, enc string) *charmap.Charmap {
	switch n {
	case 0:
		switch normEnc(enc) {
		case "cp858":
			return charmap.CodePage858
		case "cp850":
			return charmap.CodePage850
		case "cp1252", "windows1252":
			return charmap.Windows1252
		case "cp866":
			return charmap.CodePage866
		}
		return charmap.CodePage437
	case 2:
		return charmap.CodePage850
	case 3:
		return charmap.CodePage860
	case 4:
		return charmap.CodePage863
	case 5:
		return charmap.CodePage865
	case 15:
		return charmap.ISO8859_7
	case 16:
		return charmap.Windows1252
	case 17:
		return charmap.CodePage866
	case 18:
		return charmap.CodePage852
	case 19:
		return charmap.CodePage858
	case 34:
		return charmap.CodePage855
	case 36:
		return charmap.CodePage862
	case 39:
		return charmap.ISO8859_2
	case 40:
		return charmap.ISO8859_15
	case 45:
		return charmap.Windows1250
	case 46:
		return charmap.Windows1251
	case 47:
		return charmap.Windows1253
	case 48:
		return charmap.Windows1254
	case 49:
		return charmap.Windows1255
	case 50:
		return charmap.Windows1256
	case 51:
		return charmap.Windows1257
	case 52:
		return charmap.Windows1258
	}
	return charmap.CodePage437
}
