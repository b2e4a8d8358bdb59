package escpos

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/transform"
)

// encKind is the family of a text encoding.
type encKind uint8

const (
	encSingle   encKind = iota // a code page for 0x80–0xFF
	encKatakana                // ESC t 1: JIS X 0201 half-width katakana
	encUTF8
	encGB18030
	encBig5
)

// textEnc is one text encoding.
type textEnc struct {
	name  string
	kind  encKind
	cm    *charmap.Charmap
	table *[128]rune // a page x/text lacks (codepages.go)
}

var (
	encCP437   = textEnc{name: "cp437", kind: encSingle, cm: charmap.CodePage437}
	encUTF8Def = textEnc{name: "utf-8", kind: encUTF8}
	encGB      = textEnc{name: "gb18030", kind: encGB18030}
	encB5      = textEnc{name: "big5", kind: encBig5}
)

// codePages maps ESC t n (Epson numbering, escpos.md §5) to a table.
// Pages without a table here decode as CP437 with a warning.
var codePages = map[int]textEnc{
	0:  encCP437,
	1:  {name: "katakana", kind: encKatakana},
	13: {name: "cp857", kind: encSingle, table: &cp857},
	14: {name: "cp737", kind: encSingle, table: &cp737},
	2:  {name: "cp850", kind: encSingle, cm: charmap.CodePage850},
	3:  {name: "cp860", kind: encSingle, cm: charmap.CodePage860},
	4:  {name: "cp863", kind: encSingle, cm: charmap.CodePage863},
	5:  {name: "cp865", kind: encSingle, cm: charmap.CodePage865},
	15: {name: "iso-8859-7", kind: encSingle, cm: charmap.ISO8859_7},
	16: {name: "cp1252", kind: encSingle, cm: charmap.Windows1252},
	17: {name: "cp866", kind: encSingle, cm: charmap.CodePage866},
	18: {name: "cp852", kind: encSingle, cm: charmap.CodePage852},
	19: {name: "cp858", kind: encSingle, cm: charmap.CodePage858},
	34: {name: "cp855", kind: encSingle, cm: charmap.CodePage855},
	36: {name: "cp862", kind: encSingle, cm: charmap.CodePage862},
	39: {name: "iso-8859-2", kind: encSingle, cm: charmap.ISO8859_2},
	40: {name: "iso-8859-15", kind: encSingle, cm: charmap.ISO8859_15},
	45: {name: "cp1250", kind: encSingle, cm: charmap.Windows1250},
	46: {name: "cp1251", kind: encSingle, cm: charmap.Windows1251},
	47: {name: "cp1253", kind: encSingle, cm: charmap.Windows1253},
	48: {name: "cp1254", kind: encSingle, cm: charmap.Windows1254},
	49: {name: "cp1255", kind: encSingle, cm: charmap.Windows1255},
	50: {name: "cp1256", kind: encSingle, cm: charmap.Windows1256},
	51: {name: "cp1257", kind: encSingle, cm: charmap.Windows1257},
	52: {name: "cp1258", kind: encSingle, cm: charmap.Windows1258},
}

// LookupEncoding resolves an encoding name as a printer profile or
// Options.Encoding gives it ("gb18030", "gbk", "big5", "utf-8", "cp437",
// "cp858", "cp1252", "iso-8859-15" …) to its canonical name. ok is false
// for names Scan does not know.
func LookupEncoding(name string) (canonical string, ok bool) {
	e, ok := lookupEncoding(name)
	return e.name, ok
}

func lookupEncoding(name string) (textEnc, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("_", "-", " ", "").Replace(n)
	switch n {
	case "gb18030", "gbk", "gb2312", "cp936", "euc-cn", "gbk-fs":
		return encGB, true
	case "big5", "big-5", "cp950":
		return encB5, true
	case "utf-8", "utf8", "utf8-fsc":
		return encUTF8Def, true
	case "ascii", "us-ascii":
		return encCP437, true
	case "latin1", "latin-1", "iso-8859-1":
		return textEnc{name: "iso-8859-1", kind: encSingle, cm: charmap.ISO8859_1}, true
	}
	n = strings.TrimPrefix(n, "ibm")
	n = strings.TrimPrefix(n, "pc")
	n = strings.TrimPrefix(n, "windows-")
	n = strings.TrimPrefix(n, "cp-")
	n = strings.TrimPrefix(n, "cp")
	for _, e := range codePages {
		if e.name == n || e.name == "cp"+n {
			return e, true
		}
	}
	return textEnc{}, false
}

// decoder turns the text runs of a job into strings.
type decoder struct {
	data     []byte
	force    *textEnc // Options.Encoding, multi-byte: decodes every class but FS ( C UTF-8
	defPage  textEnc  // clsAuto when no Chinese/UTF-8 reading applies
	auto     textEnc  // clsAuto
	chinese  textEnc  // clsChinese
	gb, big5 transform.Transformer
	tmp      []byte
	page0CJK *textEnc // ESC t 0 runs that read as Chinese (a Chinese printer ignores ESC t 0)
	mangled  string   // non-empty: the capture was mangled by a text layer
	badPage  [256]bool
	warnf    func(off int, format string, args ...any)
}

func (d *decoder) encFor(sg seg) textEnc {
	switch sg.cls {
	case clsUTF8:
		return encUTF8Def
	case clsChinese:
		if d.force != nil {
			return *d.force
		}
		return d.chinese
	case clsCodePage:
		if d.force != nil {
			return *d.force
		}
		if sg.page == 0 && d.page0CJK != nil {
			return *d.page0CJK
		}
		if e, ok := codePages[int(sg.page)]; ok {
			return e
		}
		if !d.badPage[sg.page] {
			d.badPage[sg.page] = true
			d.warnf(sg.off, "ESC t %d: code page not supported here; decoded as cp437", sg.page)
		}
		return encCP437
	}
	if d.force != nil {
		return *d.force
	}
	return d.auto
}

// appendLine appends the decoded text of one line to b: columns joined
// by "\t", trailing spaces of the line and of each column removed.
func (d *decoder) appendLine(b []byte, segs []seg) []byte {
	start := len(b)
	for _, sg := range segs {
		switch {
		case sg.tab:
			b = trimSpaces(b, start)
			if len(b) > start && b[len(b)-1] != '\t' {
				b = append(b, '\t')
			}
		case sg.intl != 0 && intlSets[sg.intl] != nil:
			d.tmp = d.appendRun(d.tmp[:0], d.data[sg.off:sg.off+sg.n], d.encFor(sg))
			b = appendIntl(b, d.tmp, intlSets[sg.intl])
		case !sg.high:
			b = append(b, d.data[sg.off:sg.off+sg.n]...)
		default:
			b = d.appendRun(b, d.data[sg.off:sg.off+sg.n], d.encFor(sg))
		}
	}
	b = trimSpaces(b, start)
	for len(b) > start && b[len(b)-1] == '\t' {
		b = trimSpaces(b[:len(b)-1], start)
	}
	return b
}

// intlSets are the ESC R n international character sets: the glyphs
// of the twelve ASCII positions 23 24 40 5B 5C 5D 5E 60 7B 7C 7D 7E.
var intlSets = func() (m [256]*[128]rune) {
	pos := []byte{0x23, 0x24, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x60, 0x7B, 0x7C, 0x7D, 0x7E}
	for n, glyphs := range map[uint8]string{
		1:  "#$à°ç§^`éùè¨",  // France
		2:  "#$§ÄÖÜ^`äöüß",  // Germany
		3:  "£$@[\\]^`{|}~", // UK
		4:  "#$@ÆØÅ^`æøå~",  // Denmark I
		5:  "#¤ÉÄÖÅÜéäöåü",  // Sweden
		6:  "#$@°\\é^ùàòèì", // Italy
		8:  "#$@[¥]^`{|}~",  // Japan
		9:  "#¤ÉÆØÅÜéæøåü",  // Norway
		10: "#$ÉÆØÅÜéæøåü",  // Denmark II
		11: "#$á¡Ñ¿é`íñóú",  // Spain II
		12: "#$á¡Ñ¿éüíñóú",  // Latin America
		13: "#$@[₩]^`{|}~",  // Korea
		15: "#¥@[\\]^`{|}~", // China
	} {
		t := new([128]rune)
		for i, r := range []rune(glyphs) {
			t[pos[i]] = r
		}
		m[n] = t
	}
	return m
}()

// appendIntl appends src with its ASCII characters mapped through set.
func appendIntl(b, src []byte, set *[128]rune) []byte {
	for _, c := range src {
		if c < 0x80 && set[c] != 0 {
			b = utf8.AppendRune(b, set[c])
		} else {
			b = append(b, c)
		}
	}
	return b
}

func trimSpaces(b []byte, start int) []byte {
	for len(b) > start && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// appendRun appends the UTF-8 reading of src in encoding e.
func (d *decoder) appendRun(dst, src []byte, e textEnc) []byte {
	if isASCII(src) {
		return append(dst, src...)
	}
	switch e.kind {
	case encUTF8:
		for len(src) > 0 {
			r, n := utf8.DecodeRune(src)
			dst = utf8.AppendRune(dst, r)
			src = src[n:]
		}
		return dst
	case encGB18030:
		return d.appendGB(dst, src)
	case encBig5:
		return appendTransform(dst, d.big5Decoder(), src)
	case encKatakana:
		for _, c := range src {
			switch {
			case c < 0x80:
				dst = append(dst, c)
			case c >= 0xA1 && c <= 0xDF:
				dst = utf8.AppendRune(dst, 0xFF61+rune(c-0xA1))
			default:
				dst = utf8.AppendRune(dst, utf8.RuneError)
			}
		}
		return dst
	}
	if e.table != nil {
		for _, c := range src {
			if c < 0x80 {
				dst = append(dst, c)
			} else {
				dst = utf8.AppendRune(dst, e.table[c-0x80])
			}
		}
		return dst
	}
	cm := e.cm
	if cm == nil {
		cm = charmap.CodePage437
	}
	for _, c := range src {
		if c < 0x80 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, cm.DecodeByte(c))
		}
	}
	return dst
}

// appendGB appends the GB18030 reading of src exactly as the x/text
// decoder gives it, character by character: ASCII; 80 as €; two-byte
// characters through gbTable (a lead and trail that are no character
// read as one U+FFFD); four-byte sequences through the x/text decoder;
// any other byte as one U+FFFD.
func (d *decoder) appendGB(dst, src []byte) []byte {
	t := gbTable()
	for i := 0; i < len(src); {
		c := src[i]
		if c < 0x80 {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.RuneError, 1
		switch {
		case c == 0x80:
			r = '€'
		case c == 0xFF || i+1 >= len(src):
		case src[i+1] >= 0x40 && src[i+1] <= 0xFE && src[i+1] != 0x7F:
			if v := t[int(c-0x81)*191+int(src[i+1]-0x40)]; v != 0 {
				// The character's UTF-8 bytes, ready to copy.
				n := int(v >> 24)
				dst = append(dst, byte(v), byte(v>>8), byte(v>>16))
				dst = dst[:len(dst)-3+n]
				i += 2
				continue
			}
			size = 2
		case src[i+1] >= 0x30 && src[i+1] <= 0x3F && i+3 < len(src) && // x/text takes 30–3F
			src[i+2] >= 0x81 && src[i+2] <= 0xFE && src[i+3] >= 0x30 && src[i+3] <= 0x39:
			// One four-byte character, or U+FFFD for its lead alone
			// when it is out of range (x/text then reads on).
			var out [8]byte
			tr := d.gbDecoder()
			tr.Reset()
			n, _, _ := tr.Transform(out[:], src[i:i+4], true)
			if v, m := utf8.DecodeRune(out[:n]); m == n {
				r, size = v, 4
			}
		}
		dst = utf8.AppendRune(dst, r)
		i += size
	}
	return dst
}

// gbTable maps the GB18030 two-byte characters (lead 81–FE, trail 40–FE)
// to their UTF-8 bytes (up to three, low byte first, the count in the top
// byte), 0 where x/text reads no single character; built once from the
// x/text decoder, so the two readings agree.
var gbTable = sync.OnceValue(func() *[126 * 191]uint32 {
	t := new([126 * 191]uint32)
	dec := simplifiedchinese.GB18030.NewDecoder()
	out, in := make([]byte, 8), make([]byte, 2)
	for lead := 0x81; lead <= 0xFE; lead++ {
		for trail := 0x40; trail <= 0xFE; trail++ {
			dec.Reset()
			in[0], in[1] = byte(lead), byte(trail)
			n, m, err := dec.Transform(out, in, true)
			if err != nil || m != 2 {
				continue
			}
			r, size := utf8.DecodeRune(out[:n])
			if size == n && r != utf8.RuneError && n <= 3 {
				v := uint32(n) << 24
				for k := range n {
					v |= uint32(out[k]) << (8 * k)
				}
				t[(lead-0x81)*191+trail-0x40] = v
			}
		}
	}
	return t
})

func (d *decoder) gbDecoder() transform.Transformer {
	if d.gb == nil {
		d.gb = simplifiedchinese.GB18030.NewDecoder()
	}
	return d.gb
}

func (d *decoder) big5Decoder() transform.Transformer {
	if d.big5 == nil {
		d.big5 = traditionalchinese.Big5.NewDecoder()
	}
	return d.big5
}

// appendTransform runs a decoder over src (one whole run) into dst.
func appendTransform(dst []byte, t transform.Transformer, src []byte) []byte {
	t.Reset()
	for {
		if need := len(src)*3 + 8; cap(dst)-len(dst) < need {
			nd := make([]byte, len(dst), 2*cap(dst)+need)
			copy(nd, dst)
			dst = nd
		}
		nDst, nSrc, err := t.Transform(dst[len(dst):cap(dst)], src, true)
		dst = dst[:len(dst)+nDst]
		src = src[nSrc:]
		if err == transform.ErrShortDst && (nSrc > 0 || nDst > 0) {
			continue
		}
		if err != nil || len(src) == 0 {
			if err != nil && len(src) > 0 {
				// Not expected from the x/text decoders; keep the bytes visible.
				for range src {
					dst = utf8.AppendRune(dst, utf8.RuneError)
				}
			}
			return dst
		}
	}
}

// reading counts how a set of runs decodes in one encoding.
type reading struct {
	mb     int // characters from multi-byte sequences
	common int // … that are common Chinese characters
	errs   int // undecodable sequences
	rare   int // … that are other Han characters
	pua    int // private use or unassigned
	other  int // letters, full-width forms and punctuation
}

// score is the plausibility of a reading in [-2, 1]: the share of common
// characters, with half credit for other letters and punctuation and
// penalties for errors, private-use characters and rare ideographs.
func (r reading) score() float64 {
	if r.mb == 0 {
		return 0
	}
	return (float64(r.common) + 0.5*float64(r.other) - 2*float64(r.errs) - float64(r.pua) - 0.25*float64(r.rare)) / float64(r.mb)
}

// read decodes runs as UTF-8, GB18030 or Big5 and counts what comes out.
// Chinese punctuation, full-width forms and the ideographic space count
// as common characters; in the UTF-8 reading so do Latin-1 symbols and
// letters where they stand in Latin text ("¥ 78.00", "Café", "25°C").
func (d *decoder) read(runs [][]byte, kind encKind) reading {
	var r reading
	var buf []byte
	for _, run := range runs {
		switch kind {
		case encUTF8:
			buf = append(buf[:0], run...)
		case encGB18030:
			buf = d.appendGB(buf[:0], run)
		default:
			buf = appendTransform(buf[:0], d.big5Decoder(), run)
		}
		for i, size := 0, 0; i < len(buf); i += size {
			c := rune(buf[i])
			size = 1
			if c < 0x80 {
				continue
			}
			c, size = utf8.DecodeRune(buf[i:])
			r.mb++
			switch {
			case c == utf8.RuneError:
				r.errs++
			case isCommonHan(c), isCJKPunct(c):
				r.common++
			case kind == encUTF8 && latinInContext(buf, i, c):
				r.common++
			case unicode.Is(unicode.Han, c):
				r.rare++
			case c >= 0xE000 && c <= 0xF8FF, !unicode.IsPrint(c):
				r.pua++
			default:
				r.other++
			}
		}
	}
	return r
}

const plausible = 0.25

// isCJKPunct reports the punctuation and symbols of Chinese text outside
// Latin-1: GB2312 rows 1–3 (A1A1–A1FE, A2, A3A1–A3FE: 、。「」…—《》，：￥
// and the ideographic space), CJK symbols, full-width forms, circled and
// parenthesised numbers.
func isCJKPunct(c rune) bool {
	for _, r := range cjkPunct {
		if c >= r[0] && c <= r[1] {
			return true
		}
	}
	return false
}

var cjkPunct = [...][2]rune{
	{0x3000, 0x303F}, // CJK symbols and punctuation, U+3000 space
	{0xFF01, 0xFF5E}, // full-width ASCII
	{0xFFE0, 0xFFE6}, // ￠￡￢￣￤￥￦
	{0x2010, 0x203B}, // ‐ – — ‘ ’ “ ” … ‰ ′ ″ ※
	{0x2103, 0x2103}, // ℃
	{0x2116, 0x2116}, // №
	{0x2160, 0x216B}, // Ⅰ–Ⅻ
	{0x2190, 0x2193}, // arrows
	{0x2460, 0x249B}, // ①–⒛
	{0x25A0, 0x25CF}, // ■□▲△◆◇○◎●
	{0x2605, 0x2606}, // ★☆
	{0x3220, 0x3229}, // ㈠–㈩
}

// latinInContext reports whether the Latin-1 character c at byte i of s
// stands where Latin text puts it: a currency sign before an amount, a
// degree sign after a number, × ÷ ± between numbers, © ® ™ by a word, a
// middle dot between words, an accented letter inside a word. Such a
// character from two UTF-8 bytes is strong evidence of UTF-8: the GBK
// reading of the same bytes (C2A5 楼 for ¥, C3A9 茅 for é) rarely sits
// there.
func latinInContext(s []byte, i int, c rune) bool {
	var prev, next rune = -1, -1
	if i > 0 {
		prev, _ = utf8.DecodeLastRune(s[:i])
	}
	j := i + utf8.RuneLen(c)
	if j < len(s) {
		next, _ = utf8.DecodeRune(s[j:])
	}
	nextNum := func() bool { // the next non-space character is a digit
		k := j
		for k < len(s) && s[k] == ' ' {
			k++
		}
		return k < len(s) && s[k] >= '0' && s[k] <= '9'
	}
	digit := func(r rune) bool { return r >= '0' && r <= '9' }
	letter := func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }
	switch c {
	case '¥', '£', '¢':
		return nextNum()
	case '€':
		return nextNum() || digit(prev) || prev == ' ' && i > 1 && digit(rune(s[i-2]))
	case '°':
		return digit(prev)
	case '×', '÷', '±':
		return (digit(prev) || prev == ' ') && nextNum()
	case '©', '®', '™':
		return letter(prev) || letter(next) || prev == ' ' || next == ' '
	case '·':
		return (letter(prev) || prev == ' ') && (letter(next) || next == ' ')
	}
	if strings.ContainsRune("àáâäçèéêëîïñóôöùúûüßÀÁÂÄÇÈÉÊÑÓÖÚÜ", c) {
		return letter(prev) || letter(next)
	}
	return false
}

// chooseEncoding decides how each class of text run decodes, reports the
// job's encoding and its guesses, and checks for mangled captures.
func (s *scanner) chooseEncoding(job *Job) *decoder {
	d := &decoder{
		data: s.data, defPage: encCP437, warnf: s.warnf,
	}
	configuredPage := false
	if s.opt.Encoding != "" {
		e, ok := lookupEncoding(s.opt.Encoding)
		switch {
		case !ok:
			s.warnf(0, "unknown encoding %q; detecting", s.opt.Encoding)
		case e.kind == encSingle || e.kind == encKatakana:
			d.defPage = e
			configuredPage = true
		default:
			d.force = &e
		}
	}
	d.auto, d.chinese = d.defPage, encGB

	// Gather the runs with high bytes, by class; sample at most 16 KiB
	// for the Chinese readings.
	var cand [][]byte
	candBytes, chineseRuns, firstCand := 0, 0, -1
	var pageHigh [256]int // high bytes under each ESC t page
	var page0 [][]byte    // runs under an explicit ESC t 0
	page0Bytes, firstPage0 := 0, -1
	autoHigh, chineseHigh := 0, 0
	var utf8Runs, mbRunes int
	allUTF8 := true
	for _, l := range s.lines {
		if s.highText == 0 {
			break // only runs with high bytes are looked at
		}
		for i := l.a; i < l.b && l.kind == LineText; i++ {
			sg := &s.segs[i]
			if sg.tab {
				continue
			}
			if !sg.high {
				continue
			}
			run := s.data[sg.off : sg.off+sg.n]
			if d.mangled == "" {
				d.mangled = mangledRun(run)
			}
			switch sg.cls {
			case clsUTF8:
				utf8Runs += sg.n
				continue
			case clsCodePage:
				if d.force == nil {
					pageHigh[sg.page] += sg.n
					if sg.page == 0 && page0Bytes < 16<<10 {
						page0 = append(page0, run)
						page0Bytes += len(run)
						if firstPage0 < 0 {
							firstPage0 = sg.off
						}
					}
					continue
				}
			}
			if firstCand < 0 {
				firstCand = sg.off
			}
			if sg.cls == clsChinese {
				chineseRuns++
				chineseHigh += sg.n
			} else {
				autoHigh += sg.n
			}
			if allUTF8 { // once one run is not UTF-8, the count no longer matters
				if utf8.Valid(run) {
					mbRunes += utf8.RuneCount(run) - asciiCount(run)
				} else {
					allUTF8 = false
				}
			}
			if candBytes < 16<<10 {
				cand = append(cand, run)
				candBytes += len(run)
			}
		}
	}

	switch {
	case d.force != nil:
		job.Encoding = d.force.name
	case configuredPage:
		// A configured single-byte page: no guessing; FS & text is still
		// read as Chinese.
	case len(cand) > 0 && allUTF8 && (mbRunes >= 3 || (mbRunes >= 1 && chineseRuns == 0)) &&
		!(d.read(cand, encGB18030).score() >= d.read(cand, encUTF8).score()+0.4):
		// Valid UTF-8, unless the GB18030 reading is much more plausible
		// (short GBK text such as D0BB D0BB "谢谢" is valid UTF-8 "лл").
		d.auto, d.chinese = encUTF8Def, encUTF8Def
		s.warnf(firstCand, "text is valid multi-byte UTF-8 without FS ( C: decoded as utf-8")
	case len(cand) > 0:
		gb, b5 := d.read(cand, encGB18030), d.read(cand, encBig5)
		cjk := encGB
		if b5.score() >= plausible && b5.score() > gb.score()+0.15 {
			cjk = encB5
		}
		best := gb
		if cjk.kind == encBig5 {
			best = b5
		}
		d.chinese = cjk
		// A GB18030 four-byte sequence that decodes cleanly is a strong
		// sign on its own (a single rare character or a Uyghur word).
		if best.score() >= plausible || (cjk.kind == encGB18030 && gb.errs == 0 && gb.pua == 0 && hasGB4(cand)) {
			d.auto = cjk
			if cjk.kind == encBig5 {
				s.warnf(firstCand, "Chinese text decoded as big5 (more plausible than gb18030)")
			} else if !s.chinese {
				s.warnf(firstCand, "no FS & in the job: Chinese text guessed, decoded as gb18030")
			}
		} else if chineseRuns > 0 {
			s.warnf(firstCand, "text in Chinese mode does not read as common Chinese; decoded as %s", cjk.name)
		}
	}
	// POS software for Chinese printers often sends ESC t 0 (or ESC @ then
	// ESC t 0) and then GBK: the printer stays in its Chinese mode. Text
	// under ESC t 0 that reads clearly as Chinese is decoded as such.
	if d.force == nil && !configuredPage && len(page0) > 0 {
		gb, b5 := d.read(page0, encGB18030), d.read(page0, encBig5)
		best, cjk := gb, encGB
		if b5.score() >= plausible && b5.score() > gb.score()+0.15 {
			best, cjk = b5, encB5
		}
		if best.mb >= 2 && best.errs == 0 && best.score() >= 0.5 {
			d.page0CJK = &cjk
			s.warnf(firstPage0, "text under ESC t 0 reads as Chinese: decoded as %s (the printer's Chinese mode)", cjk.name)
		}
	}
	if d.force == nil {
		high := map[string]int{}
		for page, n := range pageHigh {
			if page == 0 && d.page0CJK != nil && n > 0 {
				high[d.page0CJK.name] += n
				continue
			}
			if n > 0 {
				name := encCP437.name // unsupported pages decode as CP437
				if e, ok := codePages[page]; ok {
					name = e.name
				}
				high[name] += n
			}
		}
		if autoHigh > 0 {
			high[d.auto.name] += autoHigh
		}
		if chineseHigh > 0 {
			high[d.chinese.name] += chineseHigh
		}
		if utf8Runs > 0 {
			high["utf-8"] += utf8Runs
		}
		job.Encoding = pickEncoding(high)
		if job.Encoding == "" {
			switch {
			case s.sawUTF8:
				job.Encoding = "utf-8"
			case s.chinese:
				job.Encoding = d.chinese.name
			case s.firstPage >= 0:
				job.Encoding = codePageName(s.firstPage)
			default:
				job.Encoding = d.defPage.name
			}
		}
		if len(high) > 1 {
			names := make([]string, 0, len(high))
			for n := range high {
				names = append(names, n)
			}
			slices.Sort(names)
			s.warnf(0, "mixed encodings: %s", strings.Join(names, ", "))
		}
	}
	return d
}

// hasGB4 reports whether a run holds a GB18030 four-byte sequence
// (81–FE 30–39 81–FE 30–39).
func hasGB4(runs [][]byte) bool {
	for _, r := range runs {
		for i := 0; i+3 < len(r); i++ {
			if r[i] >= 0x81 && r[i] <= 0xFE && r[i+1] >= 0x30 && r[i+1] <= 0x39 &&
				r[i+2] >= 0x81 && r[i+2] <= 0xFE && r[i+3] >= 0x30 && r[i+3] <= 0x39 {
				return true
			}
		}
	}
	return false
}

func asciiCount(b []byte) int {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n
}

func codePageName(n int) string {
	if e, ok := codePages[n]; ok {
		return e.name
	}
	return fmt.Sprintf("escpos-page-%d", n)
}

// pickEncoding returns the name with the most bytes (ties: the smallest name).
func pickEncoding(m map[string]int) string {
	best, bn := "", -1
	for name, n := range m {
		if n > bn || (n == bn && name < best) {
			best, bn = name, n
		}
	}
	return best
}

// mangledRun recognises text that a text layer has mangled before it
// reached us (escpos.md §13.9): UTF-8 replacement characters, or UTF-8
// read as Latin-1 and encoded again ("Ã©" for "é").
func mangledRun(run []byte) string {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasByte := func(x uint64, c byte) bool {
		y := x ^ (ones * uint64(c))
		return (y-ones)&^y&highs != 0
	}
	doubled, streak, streaks := 0, 0, 0
	for i := 0; i+1 < len(run); i++ {
		// Eight bytes without C2, C3 or EF start no pair and no EF BF BD.
		for i+8 <= len(run) {
			x := binary.LittleEndian.Uint64(run[i:])
			if hasByte(x, 0xC2) || hasByte(x, 0xC3) || hasByte(x, 0xEF) {
				break
			}
			streak = 0
			i += 8
		}
		if i+1 >= len(run) {
			break
		}
		c := run[i]
		if c < 0xC2 {
			streak = 0
			continue
		}
		if c == 0xEF && run[i+1] == 0xBF && i+2 < len(run) && run[i+2] == 0xBD {
			// Checked at every byte a pair below does not skip, which
			// is every byte EF can be.
			return ReasonMangled + " (UTF-8 replacement characters)"
		}
		if (c == 0xC2 || c == 0xC3) && run[i+1] >= 0x80 && run[i+1] <= 0xBF {
			if c == 0xC3 && (run[i+1] == 0x82 || run[i+1] == 0x83) && i+3 < len(run) && run[i+2] == 0xC2 && run[i+3] >= 0x80 && run[i+3] <= 0xBF {
				doubled++
			}
			streak++
			if streak == 4 {
				streaks++
			}
			i++
			continue
		}
		streak = 0
	}
	if doubled >= 2 || streaks >= 2 {
		return ReasonMangled + " (Latin-1 doubled UTF-8)"
	}
	return ""
}
