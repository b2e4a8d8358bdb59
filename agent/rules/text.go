package rules

// Reading one printed line: normalisation to half-width, the split into
// label/value pairs, and the exact parse of amounts into fen.
//
// A line such as "件数: 9     小计: 173.90" or "合　计：￥１２８．００" becomes
// pairs of (label, value):
//
//	"件数: 9     小计: 173.90" -> ("件数", 9 int) ("小计", 173.90 money)
//	"合计：4件  ￥25.80"       -> ("合计", 4 qty) ("合计", 25.80 money ¥)
//
// A value is a maximal run of word characters (ASCII letters and digits and
// . , - / _ # $ € ¥ % * +, and ':' between two digits) that holds a digit; the
// text between two values is the label of the second. Values are classified
// so that dates, times, phone numbers, codes and quantities never count as
// money.

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// class says what a value is.
type class uint8

const (
	clsCode  class = iota // letters with digits, separators, leading zeros: order numbers, phones, dates
	clsInt                // a plain integer with no currency marker
	clsMoney              // an amount: 1 or 2 decimals, or an integer with a currency marker
	clsQty                // a quantity: 2x, x2, 1.35kg, 4件, 9折, or 3+ decimals
	clsPct                // 10%
)

type value struct {
	raw    string // as printed, normalised
	cls    class
	fen    int64  // money: the amount; int: the integer × 100
	marker string // currency marker attached to the value ("" when none)
	hash   bool   // printed with a leading '#'
	rate   bool   // a rate printed with 折 ("9.5折")
}

type pair struct {
	gap   string // the text between the previous value and this one, as printed
	raw   string // label text as printed (trimmed; inherited for "合计 2 68.00")
	label string // compact label: lower-case, no spaces or decoration
	val   value
	role  role // set by Decide once labels are final
	tier  int
	mask  uint64 // runeMask(label), set with role
	tk    tokens // words of raw, set with role
	rate  bool   // the label was taken from a 折 rate before it
	// whole: for a money value whose label was inherited from counts
	// before it ("满100减20: -20.00"), the compact text of the line up to
	// the value, tried when the inherited label has no role.
	whole string
	at    int // where the value starts in the line
}

// line is one printed line, read.
type line struct {
	text    string // normalised text
	compact string // lower-case letters, digits and CJK only
	cs, ce  int    // compact's place in the receipt's compact buffer
	pairs   []pair
	tail    string // the text after the last value (the whole line when it has none)
	markers []string
	money   int    // how many money values
	runes   int    // runes in compact
	mask    uint64 // runeMask(compact)
	tk      tokens // words of text
}

// Bounds that keep Decide linear and small on hostile input.
const (
	maxLines      = 2000 // lines per receipt
	maxLineBytes  = 1024 // a receipt with a longer line is not payable (normalize also cuts there)
	maxValues     = 4000 // values per receipt
	maxMoneyDigit = 12   // digits before the decimal point (10^12 fen is far above any bill)
)

// normalize maps full-width ASCII to half-width, ideographic space to space,
// ￥ to ¥, the minus sign to '-', and control characters (but HT) to space.
func normalize(s string) string {
	if len(s) > maxLineBytes {
		cut := maxLineBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	clean := true
	for i := 0; clean && i < len(s); {
		c := s[i]
		switch {
		case c < 0x80:
			clean = c >= 0x20 || c == '\t'
			clean = clean && c != 0x7f
			i++
		case c >= 0xE4 && c <= 0xE9 && i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80:
			i += 3 // a CJK ideograph: never mapped
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			clean = !(r >= 0xFF01 && r <= 0xFF5E || r == 0x3000 || r == 0xFFE5 ||
				r == 0x2212 || r == 0xFE63 || r == 0x2013 || r == utf8.RuneError)
			i += n
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		case r == 0xFFE5:
			r = '¥'
		case r == 0x2212 || r == 0xFE63 || r == 0x2013:
			r = '-'
		case r == '\t':
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isWordRune(r rune) bool {
	switch {
	case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return true
	}
	switch r {
	case '.', ',', '-', '/', '_', '#', '$', '€', '¥', '%', '*', '+':
		return true
	}
	return false
}

// wordRuneAt returns the byte length of the rune at text[i]: positive for a
// word rune, negative for any other. Only € and ¥ of the non-ASCII runes are
// word runes, so other multi-byte runes are skipped by their lead byte.
func wordRuneAt(text string, i int) int {
	c := text[i]
	if c < 0x80 {
		if wordASCII[c] {
			return 1
		}
		return -1
	}
	if c == 0xC2 && i+1 < len(text) && text[i+1] == 0xA5 { // ¥
		return 2
	}
	if c == 0xE2 && i+2 < len(text) && text[i+1] == 0x82 && text[i+2] == 0xAC { // €
		return 3
	}
	if c >= 0xE4 && c <= 0xE9 && i+2 < len(text) { // a CJK ideograph
		return -3
	}
	_, n := utf8.DecodeRuneInString(text[i:])
	return -n
}

var wordASCII = func() (t [128]bool) {
	for c := 0; c < 128; c++ {
		t[c] = isWordRune(rune(c))
	}
	return t
}()

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// unitRunes follow a number to make it a count, not money.
const unitRunes = "件个份位人杯瓶只次张斤克盒包袋支罐箱枚碗串条块台桌折"

// decoration is stripped from both ends of labels and removed from compact
// lines.
const decorRunes = ":：.。,，;；-—_=*#|/\\~·•()（）[]【】<>《》{}\"'!！?？+、…"

var decorASCII = func() (t [128]bool) {
	for _, r := range decorRunes {
		if r < 128 {
			t[r] = true
		}
	}
	for _, r := range " \t\n\r\v\f" {
		t[r] = true
	}
	return t
}()

func isDecor(r rune) bool {
	if r < 128 {
		return decorASCII[r]
	}
	switch r {
	case '：', '。', '，', '；', '—', '·', '•', '（', '）', '【', '】', '《', '》', '！', '？', '、', '…', 0x3000, 0x00a0:
		return true
	}
	return unicode.IsSpace(r)
}

// markerPrefixes are tried longest first on values and at the end of labels.
var markerPrefixes = []string{"MOP$", "US$", "HK$", "NT$", "RMB", "CNY", "USD", "HKD", "NTD", "TWD", "MOP", "EUR", "¥", "$", "€"}

// markerSuffixes are tried on values and at the start of the text after a value.
var markerSuffixes = []string{"RMB", "CNY", "EUR", "USD", "HKD", "MOP", "元", "€", "¥", "$"}

// trimSpace is strings.TrimSpace, decoding only runes that may be spaces
// (led by C2, E1, E2 or E3).
func trimSpace(s string) string {
	for len(s) > 0 {
		c := s[0]
		if c < 0x80 {
			if !asciiSpace[c] {
				break
			}
			s = s[1:]
			continue
		}
		if c != 0xC2 && c != 0xE1 && c != 0xE2 && c != 0xE3 {
			break
		}
		r, n := utf8.DecodeRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[n:]
	}
	for len(s) > 0 {
		c := s[len(s)-1]
		if c < 0x80 {
			if !asciiSpace[c] {
				break
			}
			s = s[:len(s)-1]
			continue
		}
		r, n := utf8.DecodeLastRuneInString(s)
		if !unicode.IsSpace(r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

var asciiSpace = [128]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// trimDecor is strings.TrimFunc(s, isDecor), without a call per byte.
func trimDecor(s string) string {
	for len(s) > 0 {
		c := s[0]
		if c < 0x80 {
			if !decorASCII[c] {
				break
			}
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRuneInString(s)
		if !isDecor(r) {
			break
		}
		s = s[n:]
	}
	for len(s) > 0 {
		c := s[len(s)-1]
		if c < 0x80 {
			if !decorASCII[c] {
				break
			}
			s = s[:len(s)-1]
			continue
		}
		r, n := utf8.DecodeLastRuneInString(s)
		if !isDecor(r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}

func hasSuffixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[len(s)-len(p):], p)
}

// parseMoney reads an unsigned amount: digits (optionally grouped by commas
// in threes) with 0, 1 or 2 decimals. decimals is -1 when s is not such an
// amount, and 3 for a number with more decimals (a weight or a unit price).
func parseMoney(s string) (fen int64, decimals int) {
	if s == "" || !isDigit(s[0]) {
		return 0, -1
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if hasDot && (frac == "" || strings.ContainsAny(frac, ".,")) {
		return 0, -1
	}
	// Integer part: plain digits or 1-3 digits then ",ddd" groups.
	var n int64
	digits := 0
	if strings.IndexByte(intPart, ',') >= 0 {
		groups := strings.Split(intPart, ",")
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return 0, -1
		}
		for i, g := range groups {
			if i > 0 && len(g) != 3 {
				return 0, -1
			}
			for j := 0; j < len(g); j++ {
				if !isDigit(g[j]) {
					return 0, -1
				}
				n = n*10 + int64(g[j]-'0')
				digits++
			}
		}
	} else {
		for j := 0; j < len(intPart); j++ {
			if !isDigit(intPart[j]) {
				return 0, -1
			}
			n = n*10 + int64(intPart[j]-'0')
			digits++
		}
	}
	if digits == 0 || digits > maxMoneyDigit {
		return 0, -1
	}
	for j := 0; j < len(frac); j++ {
		if !isDigit(frac[j]) {
			return 0, -1
		}
	}
	switch len(frac) {
	case 0:
		return n * 100, 0
	case 1:
		return n*100 + int64(frac[0]-'0')*10, 1
	case 2:
		return n*100 + int64(frac[0]-'0')*10 + int64(frac[1]-'0'), 2
	}
	return 0, 3
}

// FormatFen prints an amount the way receipts do: "-1234.50".
func FormatFen(fen int64) string {
	neg := fen < 0
	u := uint64(fen)
	if neg {
		u = uint64(-fen)
	}
	var buf [24]byte
	i := len(buf)
	frac := u % 100
	u /= 100
	buf[i-1] = byte('0' + frac%10)
	buf[i-2] = byte('0' + frac/10)
	buf[i-3] = '.'
	i -= 3
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// ParseAmount reads one printed amount ("¥1,280.50", "-5.00", "６８．００",
// "68元", "RMB 12") into fen and its currency marker. ok is false for
// anything that is not exactly one amount.
func ParseAmount(s string) (fen int64, marker string, ok bool) {
	s = strings.TrimSpace(normalize(s))
	if s == "" {
		return 0, "", false
	}
	// A marker separated by one space ("RMB 12.00", "12.00 EUR") joins the number.
	if i := strings.IndexByte(s, ' '); i >= 0 {
		a, b := s[:i], strings.TrimSpace(s[i+1:])
		if strings.IndexByte(b, ' ') >= 0 {
			return 0, "", false
		}
		s = a + b
	}
	v, ok := classify(s)
	if !ok || v.cls != clsMoney && v.cls != clsInt {
		return 0, "", false
	}
	return v.fen, v.marker, true
}

// classify reads one word holding a digit. The '元' suffix is handled by the
// caller, since it is not a word rune.
func classify(w string) (value, bool) {
	v := value{raw: w}
	s := w
	neg := false
	// A trailing 元 when called from ParseAmount.
	if strings.HasSuffix(s, "元") {
		s = strings.TrimSuffix(s, "元")
		v.marker = "元"
	}
	for k := 0; k < 3 && s != "" && !isDigit(s[0]); k++ {
		switch {
		case s[0] == '-' || s[0] == '+':
			neg = neg || s[0] == '-'
			s = s[1:]
			continue
		case s[0] == '#':
			v.hash = true
			s = s[1:]
			continue
		}
		found := false
		for _, m := range markerPrefixes {
			if hasPrefixFold(s, m) {
				v.marker = strings.ToUpper(m)
				s = s[len(m):]
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	for _, m := range markerSuffixes {
		if m == "元" || s == "" || isDigit(s[len(s)-1]) {
			continue
		}
		if hasSuffixFold(s, m) && len(s) > len(m) && isDigit(s[len(s)-len(m)-1]) {
			v.marker = strings.ToUpper(m)
			s = s[:len(s)-len(m)]
			break
		}
	}
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' }) < 0 {
		return v, false
	}
	// "5.00-": a trailing minus, as some tills print discounts.
	if len(s) > 1 && s[len(s)-1] == '-' && isDigit(s[len(s)-2]) && !neg {
		neg = true
		s = s[:len(s)-1]
	}
	if v.hash {
		v.cls = clsCode
		return v, true
	}
	if strings.HasSuffix(s, "%") {
		if _, d := parseMoney(s[:len(s)-1]); d >= 0 {
			v.cls = clsPct
			return v, true
		}
		v.cls = clsCode
		return v, true
	}
	// Quantities: x2, ×2, *2, 2x, 1.35kg, 3pcs.
	if s[0] == 'x' || s[0] == 'X' || s[0] == '*' {
		if _, d := parseMoney(s[1:]); d >= 0 && !neg {
			v.cls = clsQty
			v.raw = s[1:]
			return v, true
		}
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') }); i > 0 {
		unit := strings.ToLower(s[i:])
		switch unit {
		case "x", "kg", "g", "pcs", "pc", "lb", "lbs", "oz", "l", "ml":
			if _, d := parseMoney(s[:i]); d >= 0 {
				v.cls = clsQty
				v.raw = s[:i]
				return v, true
			}
		}
	}
	fen, d := parseMoney(s)
	switch {
	case d < 0:
		v.cls = clsCode
		return v, true
	case d == 3:
		v.cls = clsQty
		return v, true
	case d == 0 && v.marker == "":
		if len(s) > 1 && s[0] == '0' {
			v.cls = clsCode // "0012" is a number, not an amount
			return v, true
		}
		v.cls = clsInt
	default:
		v.cls = clsMoney
	}
	if neg {
		fen = -fen
	}
	v.fen = fen
	return v, true
}

// unitWords after a count leave a money value to the count's label:
// "TOTAL (3 items) 48.00".
var unitWords = map[string]bool{"items": true, "item": true, "pcs": true, "pc": true, "units": true, "件": true, "项": true, "份": true, "个": true, "件商品": true}

// compactLabel turns a label as printed into its lookup key: lower-case, no
// spaces, decoration, dot leaders or "(元)".
func compactLabel(s string) string {
	s = trimDecor(s)
	if s == "" {
		return ""
	}
	// Most labels ("合计", "应收金额") need nothing more: no copy.
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == ':' || c == '(' || c == '[' || c >= 'A' && c <= 'Z' ||
			c == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2] == 0x9A || // '：'
			c == 0xE3 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2] == 0x80 || // ideographic space
			c == 0xC2 && i+1 < len(s) && s[i+1] == 0xA0 { // no-break space
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		if r == ':' || r == '：' {
			continue // "单号: No." reads as "单号no"
		}
		if r < 0x80 {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	k := b.String()
	if strings.ContainsAny(k, "([") {
		for _, suf := range []string{"(元)", "[元]", "(rmb)", "(¥)", "(cny)", "(￥)"} {
			k = strings.ReplaceAll(k, suf, "")
		}
	}
	return trimDecor(k)
}

// blank: nothing but decoration and currency symbols.
func blank(s string) bool {
	for _, r := range s {
		if !isDecor(r) && r != '$' && r != '%' && r != '€' && r != '¥' {
			return false
		}
	}
	return true
}

// compactText keeps lower-case letters, digits and CJK characters only.
func compactText(s string) string {
	buf, _, _ := appendCompact(make([]byte, 0, len(s)), s)
	return string(buf)
}

// appendCompact appends compactText(s) to buf, with the rune count and
// runeMask of what it appended, in one pass.
func appendCompact(buf []byte, s string) ([]byte, int, uint64) {
	runes := 0
	var mask uint64
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			i++
			if decorASCII[c] || c == '$' || c == '%' {
				continue
			}
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
			mask |= byteBit(c)
			runes++
			continue
		}
		// CJK ideographs (lead bytes E4..E9) are never decoration.
		if c >= 0xE4 && c <= 0xE9 && i+3 <= len(s) {
			buf = append(buf, s[i:i+3]...)
			mask |= byteBit(c) | byteBit(s[i+1]) | byteBit(s[i+2])
			runes++
			i += 3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isDecor(r) && r != '€' && r != '¥' {
			buf = append(buf, s[i:i+n]...)
			for k := i; k < i+n; k++ {
				mask |= byteBit(s[k])
			}
			runes++
		}
		i += n
	}
	return buf, runes, mask
}

// readLine splits a normalised line into pairs, appended to arena (one
// allocation for the whole receipt). budget is the number of values still
// allowed; readLine returns how many it used.
//
// The line's compact text is appended to cbuf; ln.compact is set by the
// caller from ln.cs and ln.ce once every line is read (one string for all).
func readLine(text string, budget int, arena *[]pair, cbuf *[]byte) (line, int) {
	ln := line{text: text}
	first := len(*arena)
	// The label of a value is the text from the end of the previous value
	// (labelStart) to the start of this one.
	labelStart := 0
	used := 0
	i := 0
	flush := func(v value, wordStart int) {
		gap := text[labelStart:wordStart]
		raw := trimSpace(gap)
		// A marker at the end of the label belongs to the value: "TOTAL EUR 8.20", "¥ 68.00".
		if v.marker == "" && endsLikeMarker(raw) {
			for _, m := range markerPrefixes {
				if hasSuffixFold(raw, m) {
					before := raw[:len(raw)-len(m)]
					if m != "$" && m != "€" && m != "¥" && before != "" && !strings.HasSuffix(before, " ") && isASCIILetterEnd(before) {
						continue // a code glued to a word ("AMATEUR") is no marker
					}
					v.marker = strings.ToUpper(m)
					raw = trimSpace(before)
					break
				}
			}
			if v.marker != "" && v.cls == clsInt {
				v.cls = clsMoney
			}
		}
		if v.marker != "" {
			ln.markers = append(ln.markers, v.marker)
		}
		if v.cls == clsMoney {
			ln.money++
		}
		*arena = append(*arena, pair{gap: gap, raw: raw, label: compactLabel(raw), val: v, at: wordStart})
	}
	for i < len(text) {
		size := wordRuneAt(text, i)
		if size < 0 {
			i -= size
			continue
		}
		// A word: extend over word runes, and ':' between digits (times).
		j := i
		for j < len(text) {
			if s2 := wordRuneAt(text, j); s2 > 0 {
				j += s2
				continue
			}
			if text[j] == ':' && j > i && isDigit(text[j-1]) && j+1 < len(text) && isDigit(text[j+1]) {
				j++
				continue
			}
			break
		}
		word := text[i:j]
		// "No.123", "TR#011534": the letters are a label.
		if k := splitLetterPrefix(word); k > 0 {
			word = word[k:]
			i += k
		}
		if !hasDigit(word) || used >= budget {
			i = j
			continue
		}
		v, ok := classify(word)
		if !ok {
			i = j
			continue
		}
		if strings.ContainsRune(word, ':') {
			v.cls = clsCode // a time
		}
		// What follows the word: 元 or a currency code makes it money, a unit a count.
		rest := text[j:]
		if v.marker == "" && (v.cls == clsInt || v.cls == clsMoney) && startsLikeMarker(rest) {
			for _, m := range markerSuffixes {
				t := strings.TrimLeft(rest, " ")
				if len(rest)-len(t) > 1 {
					break
				}
				if hasPrefixFold(t, m) && (len(t) == len(m) || !isASCIILetter(t[len(m)])) {
					v.marker = strings.ToUpper(m)
					if v.cls == clsInt {
						v.cls = clsMoney
					}
					j += len(rest) - len(t) + len(m)
					break
				}
			}
		}
		if v.marker == "" && (v.cls == clsInt || v.cls == clsMoney) {
			if r3, n3 := utf8.DecodeRuneInString(rest); r3 != utf8.RuneError && strings.ContainsRune(unitRunes, r3) {
				v.cls = clsQty
				v.rate = r3 == '折'
				j += n3 // the unit belongs to the count, not to the next label
			}
		}
		// "(17.00)": an accounting negative.
		if v.cls == clsMoney && v.fen > 0 && i > 0 && text[i-1] == '(' && j < len(text) && text[j] == ')' {
			v.fen = -v.fen
			v.raw = "-" + v.raw
			flush(v, i-1)
			j++
			used++
			i = j
			labelStart = j
			continue
		}
		flush(v, i)
		used++
		i = j
		labelStart = j
	}
	ln.tail = text[labelStart:]
	// The line's pairs are its part of the receipt's arena, capped so that
	// the next line's appends never write into them.
	ln.pairs = (*arena)[first:len(*arena):len(*arena)]
	// Inherit: a money value with an empty label after a count, percentage or
	// integer on the same line takes that value's label ("合计 2 68.00",
	// "服务费(10%): 20.30", "合计: 4件 ¥25.80").
	for k := 1; k < len(ln.pairs); k++ {
		p := &ln.pairs[k]
		if p.val.cls != clsMoney {
			continue
		}
		switch bracketLabel(p.raw) {
		case bracketClose:
			// "积分抵扣(200分): -2.00", "优惠券(满150减15): -15.00": the
			// label is the text before the bracket the counts sit in.
			for j := k - 1; j >= 0; j-- {
				q := &ln.pairs[j]
				if q.val.cls == clsMoney {
					break
				}
				if o := strings.LastIndexByte(q.raw, '('); o >= 0 && o > strings.LastIndexByte(q.raw, ')') {
					if l := compactLabel(q.raw[:o]); l != "" {
						p.raw, p.label = strings.TrimSpace(q.raw[:o]), l
					}
					for _, r := range ln.pairs[j:k] {
						p.rate = p.rate || r.val.rate
					}
					break
				}
			}
			continue
		case bracketGroup:
			// "会员9折(菜品): -57.00": a note in brackets is no label.
			p.raw, p.label = "", ""
		}
		if p.label != "" && !unitWords[p.label] {
			continue
		}
		if k >= 2 {
			counts := true
			for _, q := range ln.pairs[:k] {
				counts = counts && (q.val.cls == clsInt || q.val.cls == clsQty)
			}
			if counts {
				p.whole = compactLabel(text[:p.at])
			}
		}
		if q := ln.pairs[k-1]; q.val.cls != clsMoney && q.val.cls != clsCode {
			p.label = q.label
			p.raw = q.raw
			p.rate = q.val.rate
		}
	}
	ln.cs = len(*cbuf)
	*cbuf, ln.runes, ln.mask = appendCompact(*cbuf, text)
	ln.ce = len(*cbuf)
	ln.tk = tokenize(text)
	return ln, used
}

const (
	bracketNone  = iota
	bracketClose // the label closes a bracket opened before ("分)")
	bracketGroup // the label is a bracketed note ("(菜品)")
)

// bracketLabel says whether a label is only the end of a bracket opened
// before it, or only a bracketed note.
func bracketLabel(raw string) int {
	raw = strings.TrimRight(raw, ":： ")
	if raw == "" || raw[len(raw)-1] != ')' && raw[len(raw)-1] != ']' {
		return bracketNone
	}
	o := strings.IndexAny(raw, "([")
	switch {
	case o < 0 && utf8.RuneCountInString(raw) <= 4:
		return bracketClose
	case o == 0 && strings.IndexAny(raw, ")]") == len(raw)-1:
		return bracketGroup
	}
	return bracketNone
}

// endsLikeMarker: a cheap test before trying every marker at the end of s.
func endsLikeMarker(s string) bool {
	if s == "" {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return r == '$' || r == '€' || r == '¥' || r < 0x80 && isASCIILetter(byte(r))
}

// startsLikeMarker: a cheap test before trying every marker after a value.
func startsLikeMarker(s string) bool {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r == '元' || r == '$' || r == '€' || r == '¥' || r < 0x80 && isASCIILetter(byte(r))
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isASCIILetterEnd(s string) bool { return s != "" && isASCIILetter(s[len(s)-1]) }

// splitLetterPrefix returns the length of a letter prefix ended by '.' or '#'
// and followed by a digit ("No.12" -> 3, "TR#0115" -> 3), or 0.
func splitLetterPrefix(w string) int {
	k := 0
	for k < len(w) && isASCIILetter(w[k]) {
		k++
	}
	if k == 0 || k > 8 || k+1 >= len(w) {
		return 0
	}
	if (w[k] == '.' || w[k] == '#') && isDigit(w[k+1]) {
		return k + 1
	}
	return 0
}
