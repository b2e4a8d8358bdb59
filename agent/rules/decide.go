package rules

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Decision is what the rules make of one receipt.
type Decision struct {
	Payable     bool
	AmountFen   int64  // the amount due; meaningful when AmountFound
	AmountFound bool   // an amount-due line was found (even on a receipt that is not payable)
	AmountLabel string // the label the amount was read from, as printed
	Currency    string // ISO code of the amount ("CNY"; "USD" for $ …)
	OrderNo     string // the POS order number, half-width; "" when none
	Items       []Item
	Reason      string // why (not) payable, for people
}

// Item is one item line: its name, the quantity as printed and its line
// total.
type Item struct {
	Name      string
	Qty       string
	AmountFen int64
}

// scratch holds the lines and pairs of one Decide call, reused by the next:
// a Decision holds only strings, never these slices.
type scratch struct {
	lines   []line
	arena   []pair
	compact []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// put returns the scratch to the pool unless it grew past a usual receipt.
func (sc *scratch) put() {
	if cap(sc.lines) <= 256 && cap(sc.arena) <= 1024 && cap(sc.compact) <= 64<<10 {
		scratchPool.Put(sc)
	}
}

// maxItems caps Decision.Items.
const maxItems = 200

type analysis struct {
	c     *compiled
	lines []line
}

// Decide reads a receipt's lines (escpos.Line.Text: columns joined by "\t")
// and decides whether it is payable, for how much and with which order
// number. It is pure and bounded: time and memory are linear in the input;
// a receipt with a line over 1 KiB, over 2000 lines or over 4000 numbers is
// not payable.
func (s *Set) Decide(lines []string) Decision {
	c := s.compiled()
	d := Decision{Currency: c.home}
	if len(lines) > maxLines {
		d.Reason = fmt.Sprintf("receipt too long to read (%d lines)", len(lines))
		return d
	}
	for i, raw := range lines {
		if len(raw) > maxLineBytes {
			d.Reason = fmt.Sprintf("line %d too long to be a receipt line (%d bytes)", i+1, len(raw))
			return d
		}
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.put()
	if cap(sc.lines) < len(lines) {
		sc.lines = make([]line, 0, len(lines))
	}
	if cap(sc.arena) < 2*len(lines) {
		sc.arena = make([]pair, 0, 2*len(lines))
	}
	a := analysis{c: c, lines: sc.lines[:0]}
	budget := maxValues
	arena := sc.arena[:0]
	sc.compact = sc.compact[:0]
	defer func() { sc.lines, sc.arena = a.lines, arena }()
	for _, raw := range lines {
		t := trimSpace(normalize(raw))
		if t == "" {
			continue
		}
		ln, used := readLine(t, budget, &arena, &sc.compact)
		budget -= used
		a.lines = append(a.lines, ln)
	}
	all := string(sc.compact)
	for i := range a.lines {
		a.lines[i].compact = all[a.lines[i].cs:a.lines[i].ce]
	}
	if len(a.lines) == 0 {
		d.Reason = "no text"
		return d
	}
	if budget <= 0 {
		d.Reason = fmt.Sprintf("too many numbers to read (over %d)", maxValues)
		return d
	}
	whole := a.wholeYuan()
	a.labelsOnNextLine()
	for i := range a.lines {
		for k := range a.lines[i].pairs {
			p := &a.lines[i].pairs[k]
			p.tk = tokenize(p.raw)
			p.role, p.tier = c.roleOf(p.label, &p.tk)
			if p.whole != "" && (p.role == roleNone || p.role == roleInfo) {
				if r, t := c.roleOf(p.whole, nil); r != roleNone && r != roleInfo && r != roleCategory {
					p.role, p.tier, p.label, p.rate = r, t, p.whole, false
				}
			}
			p.mask = runeMask(p.label)
			if p.rate && (p.role == roleNone || p.role == roleInfo) {
				p.role = roleDiscount // "会员9.5折: -3.70"
			}
		}
	}

	d.OrderNo = a.orderNo()
	hits, tendered, hasChange := a.signals()
	amt, amtErr := a.amount(tendered)
	var paid int64
	if len(hits) > 0 && amtErr == "" && c.remaining {
		if p, ok := a.remainingBalance(hits, amt, hasChange); ok {
			hits, paid = nil, p
		}
	}
	if amt != nil {
		d.AmountFound = true
		d.AmountFen = amt.fen
		d.AmountLabel = amt.raw
		if amt.marker != "" {
			if code, ok := c.markers[amt.marker]; ok {
				d.Currency = code
			}
		}
	}
	// An amount without a marker is in the currency the receipt shows.
	foreign := a.foreignCurrencies()
	if len(foreign) > 0 && (amt == nil || amt.marker == "") {
		d.Currency = foreign[0]
	}
	items, check := a.crossCheck(amt, paid, whole)
	d.Items = items
	if amt != nil && c.deposit[amt.key] && !whole {
		// A deposit is a part of the bill: nothing on the notice adds up
		// to it.
		check = ""
	}

	switch {
	case len(hits) > 0:
		d.Reason = hits[0].reason
	case amt == nil && len(foreign) > 0:
		d.Reason = fmt.Sprintf("no amount due found; the receipt shows amounts in %s", strings.Join(foreign, ", "))
	case amt == nil:
		d.Reason = "no amount due found"
	case a.japanese():
		d.Reason = "Japanese receipt: ¥ there is yen"
	case d.Currency != c.home:
		d.Reason = fmt.Sprintf("amount in %s, not %s", d.Currency, c.home)
	case len(foreign) > 0:
		d.Reason = fmt.Sprintf("receipt shows amounts in %s", strings.Join(foreign, ", "))
	case a.traditional() && !a.explicitHome(amt):
		// Hong Kong, Macau and Taiwan tills print in traditional
		// characters, and there 元 or a bare number is not yuan.
		d.Currency = ""
		d.Reason = "traditional-Chinese receipt without ¥ or RMB: the amount is not known to be yuan"
	case amtErr != "":
		d.Reason = amtErr
	case amt.fen == 0:
		d.Reason = "zero total"
	case amt.fen < 0:
		d.Reason = "negative total " + FormatFen(amt.fen)
	case check != "":
		d.Reason = check
	default:
		d.Payable = true
		d.Reason = "amount due: " + amt.raw + " " + FormatFen(amt.fen)
		if paid != 0 {
			d.Reason += " (after " + FormatFen(paid) + " already paid)"
		}
	}
	return d
}

// remainingBalance: the only signals are payments with amounts (a deposit,
// a member card covering part of the bill), all printed before the amount
// due, the receipt has no change line, and a total printed before the first
// payment, less the payments, is exactly the amount due: the balance is
// still owed. It returns the sum of the payments.
func (a *analysis) remainingBalance(hits []hit, amt *amountLine, hasChange bool) (int64, bool) {
	if amt == nil || hasChange || amt.tier != 0 {
		return 0, false
	}
	var paid int64
	first := amt.line
	for _, h := range hits {
		if !h.payment || h.line >= amt.line {
			return 0, false
		}
		paid += h.fen
		first = min(first, h.line)
	}
	for i := 0; i < first; i++ {
		for _, p := range a.lines[i].pairs {
			if p.val.cls == clsMoney && (p.role == roleDue || p.role == roleSubtotal) && p.val.fen-paid == amt.fen {
				return paid, true
			}
		}
	}
	return 0, false
}

// wholeYuan: a receipt that prints no amount with decimals or a currency
// marker, but an integer under an amount-due label ("合计: 58"), is read
// with its integers as whole yuan — and is payable only when the items or a
// subtotal confirm the amount (see crossCheck), since "合计: 5" may count
// dishes.
func (a *analysis) wholeYuan() bool {
	due := false
	for i := range a.lines {
		if a.lines[i].money > 0 {
			return false
		}
		for _, p := range a.lines[i].pairs {
			if p.val.cls == clsInt && !due {
				if r, _ := a.c.roleOf(p.label, nil); r == roleDue {
					due = true
				}
			}
		}
	}
	if !due {
		return false
	}
	for i := range a.lines {
		ln := &a.lines[i]
		for k := range ln.pairs {
			if p := &ln.pairs[k]; p.val.cls == clsInt {
				p.val.cls = clsMoney
				ln.money++
			}
		}
	}
	return true
}

// roleOf says what a compact label means, and the tier of an amount-due
// label.
func (c *compiled) roleOf(k string, tk *tokens) (role, int) {
	return c.roleOfDepth(k, tk, 0)
}

// raw is the label as printed, for whole-word matching of ASCII words; the
// compact k stands in for it when a part of a label is looked up.
func (c *compiled) roleOfDepth(k string, tk *tokens, depth int) (role, int) {
	if k == "" || depth > 3 {
		return roleNone, 0
	}
	r, ok := c.roles[k]
	if ok && r == roleInfo {
		return roleInfo, 0
	}
	if t, ok := c.tiers[k]; ok {
		return roleDue, t
	}
	if ok {
		return r, 0
	}
	if tk == nil {
		t := tokenize(k)
		tk = &t
	}
	km := runeMask(k)
	if c.infoCont.find(k, km, tk) != "" {
		return roleInfo, 0
	}
	for _, rw := range c.contains {
		if rw.words.find(k, km, tk) != "" {
			return rw.r, 0
		}
	}
	// "支付宝(扫码)", "服务费(10": drop a trailing bracket group.
	if i := lastOpenBracket(k); i > 0 {
		return c.roleOfDepth(trimDecor(k[:i]), nil, depth+1)
	}
	// "满100减20", "第2件5折": the words without their numbers.
	if hasDigit(k) && !isASCII(k) {
		if d := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' || r == '.' {
				return -1
			}
			return r
		}, k); d != "" {
			return c.roleOfDepth(d, nil, depth+1)
		}
	}
	// Bilingual labels: "grandtotal总数", "总计total".
	if x, y, ok := splitScript(k); ok {
		rx, tx := c.roleOfDepth(x, nil, depth+1)
		ry, ty := c.roleOfDepth(y, nil, depth+1)
		if rx == ry && rx != roleNone {
			return rx, min(tx, ty)
		}
	}
	for _, suf := range c.catSuffix {
		if len(k) > len(suf) && strings.HasSuffix(k, suf) {
			return roleCategory, 0
		}
	}
	return roleNone, 0
}

// lastOpenBracket is the index of the last '(' or '[' in k, -1 if none.
func lastOpenBracket(k string) int {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '(' || k[i] == '[' {
			return i
		}
	}
	return -1
}

// amountEndsLine: pair k is the line's last value, and at most a
// bracketed note follows it ("-50.00 (1张)").
func amountEndsLine(ln *line, k int) bool {
	t := ln.tail
	if k < len(ln.pairs)-1 {
		for _, q := range ln.pairs[k+1:] {
			if q.val.cls == clsMoney {
				return false
			}
		}
		t = ln.pairs[k+1].gap
	}
	t = trimSpace(t)
	return blank(t) || t[0] == '(' || t[0] == '['
}

// allUpper: the ASCII letters w are all capitals.
func allUpper(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] >= 'a' && w[i] <= 'z' {
			return false
		}
	}
	return true
}

// hasDigit: s holds an ASCII digit.
func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

// splitScript splits "invno单号码" into its ASCII and non-ASCII halves when
// the label is exactly one of each.
func splitScript(k string) (string, string, bool) {
	if k == "" {
		return "", "", false
	}
	first := k[0] < 0x80
	for i := 0; i < len(k); i++ {
		if (k[i] < 0x80) != first {
			rest := k[i:]
			for j := 0; j < len(rest); j++ {
				if (rest[j] < 0x80) == first {
					return "", "", false
				}
			}
			return trimDecor(k[:i]), trimDecor(rest), true
		}
	}
	return "", "", false
}

// labelsOnNextLine gives a lone amount the label printed alone on the line
// above it ("应收金额:" then "￥36.00").
func (a *analysis) labelsOnNextLine() {
	for i := 0; i+1 < len(a.lines); i++ {
		ln := &a.lines[i]
		if len(ln.pairs) != 0 || ln.runes > 16 || blank(ln.tail) {
			continue
		}
		next := &a.lines[i+1]
		if len(next.pairs) != 1 || next.pairs[0].label != "" || !blank(next.tail) || next.pairs[0].val.cls != clsMoney {
			continue
		}
		k := compactLabel(ln.text)
		if r, _ := a.c.roleOf(k, &ln.tk); r == roleNone || r == roleInfo || r == roleCategory {
			continue
		}
		next.pairs[0].label = k
		next.pairs[0].raw = ln.text
	}
	// A small table: "数量合计   金额合计" over "3   47.00" gives each value
	// the heading above it, when the counts agree.
	for i := 0; i+1 < len(a.lines); i++ {
		ln, next := &a.lines[i], &a.lines[i+1]
		if len(ln.pairs) != 0 || len(next.pairs) < 2 || !blank(next.tail) {
			continue
		}
		bare := true
		for _, p := range next.pairs {
			if !blank(p.gap) {
				bare = false
				break
			}
		}
		if !bare {
			continue
		}
		heads := columns(ln.text)
		if len(heads) != len(next.pairs) {
			continue
		}
		for k := range heads {
			next.pairs[k].label = compactLabel(heads[k])
			next.pairs[k].raw = heads[k]
		}
	}
}

// columns splits a heading line at tabs and runs of two or more spaces.
func columns(s string) []string {
	var out []string
	for _, f := range strings.Split(s, "\t") {
		for _, g := range strings.Split(f, "  ") {
			if g = strings.TrimSpace(g); g != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

func containsAny(s string, list []string) string {
	for _, l := range list {
		if strings.Contains(s, l) {
			return l
		}
	}
	return ""
}

// methodLine: the line opens with the payment-method label m ("支付方式:
// 现金", "Payment: Cash"), as whole words for an ASCII label ("Payments
// accepted: Visa" is a footer).
func methodLine(ln *line, m string) bool {
	if !strings.HasPrefix(ln.compact, m) {
		return false
	}
	if !isASCII(m) {
		return true
	}
	t := strings.TrimLeftFunc(ln.text, isDecor)
	rest := m
	for rest != "" {
		i := 0
		for i < len(t) && isAlnum(t[i]) {
			i++
		}
		if i == 0 || i > len(rest) || !strings.EqualFold(t[:i], rest[:i]) {
			return false
		}
		rest = rest[i:]
		t = strings.TrimLeftFunc(t[i:], isDecor)
	}
	return true
}

func hasSuffixAny(s string, list []string) bool {
	for _, l := range list {
		if strings.HasSuffix(s, l) {
			return true
		}
	}
	return false
}

func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", strings.Join(strings.Fields(s), " "))
}

// hit is one not-payable signal on one line.
type hit struct {
	reason string
	line   int
	// payment: a paying label with an amount (会员卡支付 500.00, 已付定金
	// 2,000.00), which a remaining balance printed after it may settle.
	payment bool
	fen     int64 // the amount of a payment hit
}

// signals returns the not-payable signals, in the order of the rule set
// (first the strongest), whether the receipt has a tender line (which
// disables the only_without_tender amount labels, 实收 and 实付), and whether
// it has a change line.
func (a *analysis) signals() (hits []hit, tendered, hasChange bool) {
	c := a.c
	// A keep-payable word cancels a signal on its own line or the line
	// above it ("支付方式: 微信支付" then "支付状态: 待支付"), never lines
	// further away: a receipt saying both "PAID" and "待支付" is a conflict.
	keepAt := make([]bool, len(a.lines)+1)
	for i := range a.lines {
		keepAt[i] = c.keep.find(a.lines[i].compact, a.lines[i].mask, &a.lines[i].tk) != ""
	}
	// The next line cancels only as a status line: "未付: 3,499.00" after
	// "定金: 500.00" is a balance after a payment, not a payment pending.
	kept := func(i int) bool { return keepAt[i] || keepAt[i+1] && a.lines[i+1].money == 0 }
	for i := range a.lines {
		for _, p := range a.lines[i].pairs {
			if p.val.cls == clsMoney && c.change[p.label] {
				hasChange = true
			}
		}
	}
	// Item lines come before the first total; a payment word in a line
	// there with a count before its amount names an item.
	itemZone := len(a.lines)
zone:
	for i := range a.lines {
		for _, p := range a.lines[i].pairs {
			if p.val.cls == clsMoney && (p.role == roleDue || p.role == roleSubtotal || p.role == roleDiscountTotal) {
				itemZone = i
				break zone
			}
		}
	}
	var tenderHits []hit
	for i := range a.lines {
		ln := &a.lines[i]
		for _, p := range ln.pairs {
			if p.val.cls != clsMoney || p.val.fen == 0 {
				continue
			}
			for _, r := range c.received {
				if strings.HasPrefix(p.label, r) && (hasChange || c.payTypes.find(ln.compact, ln.mask, &ln.tk) != "" ||
					i+1 < len(a.lines) && a.lines[i+1].money == 0 && c.payTypes.find(a.lines[i+1].compact, a.lines[i+1].mask, &a.lines[i+1].tk) != "") {
					tenderHits = append(tenderHits, hit{reason: "paid: tender line " + quote(ln.text), line: i})
					break
				}
			}
		}
		if !kept(i) {
			for _, m := range c.methods {
				if methodLine(ln, m) && c.payTypes.find(ln.compact[len(m):], ln.mask, &ln.tk) != "" {
					tenderHits = append(tenderHits, hit{reason: "already paid: " + quote(ln.text), line: i})
					break
				}
			}
		}
	}
signal:
	for _, sg := range c.signals {
		for i := 0; i < len(a.lines) && len(sg.cancel.words) > 0; i++ {
			if sg.cancel.find(a.lines[i].compact, a.lines[i].mask, &a.lines[i].tk) != "" {
				continue signal
			}
		}
		for i := range a.lines {
			ln := &a.lines[i]
			if sg.KeepCancels && kept(i) {
				continue
			}
			found := len(ln.compact) <= sg.maxExact && sg.exact[ln.compact]
			if !found && ln.money == 0 && ln.runes <= sg.maxTitle+6 {
				k0 := sort.SearchInts(sg.titleRunes, ln.runes-6)
				for k := k0; k < len(sg.titles); k++ {
					if t := sg.titles[k]; sg.titleMasks[k]&^ln.mask == 0 && strings.Contains(ln.compact, t) {
						found = true
						break
					}
				}
			}
			if !found && sg.contains.find(ln.compact, ln.mask, &ln.tk) != "" {
				found = true
			}
			var paid *pair
			if !found && ln.money > 0 && len(sg.Labels)+len(sg.LabelSuffixes) > 0 {
				for k := range ln.pairs {
					p := &ln.pairs[k]
					if p.val.cls != clsMoney || p.val.fen == 0 {
						continue
					}
					if sg.AmountLast && !amountEndsLine(ln, k) {
						continue
					}
					q := p
					if q.label == "" {
						// "VISA ****1234 68.00": the line's first label.
						q = &ln.pairs[0]
					}
					// "余额支付 68.00" is a payment although 余额 marks
					// balances; "待支付 68.00" and "应付定金 2,265.60" are
					// amounts due.
					if q.role == roleDue {
						continue
					}
					// An item named after a payment ("储值套餐 充1000送200
					// 1 1000.00", "会员卡 1 100.00"): a count before the
					// amount makes it a sale, not a payment.
					if i < itemZone && countBefore(ln, k) && !hasSuffixAny(q.label, sg.LabelSuffixes) {
						continue
					}
					if hasSuffixAny(q.label, sg.LabelSuffixes) ||
						q.role != roleInfo && sg.labels.find(q.label, q.mask, &q.tk) != "" {
						found, paid = true, p
						break
					}
				}
			}
			if found && sg.except.find(ln.compact, ln.mask, &ln.tk) == "" {
				h := hit{reason: sg.Reason + ": " + quote(ln.text), line: i}
				if paid != nil && sg.Payment {
					h.payment, h.fen = true, paid.val.fen
					tendered = true
				}
				hits = append(hits, h)
			}
		}
	}
	if len(tenderHits) > 0 {
		tendered = true
		hits = append(hits, tenderHits...)
	}
	return hits, tendered, hasChange
}

type amountLine struct {
	fen    int64
	marker string
	raw    string // label as printed
	key    string // label compacted
	tier   int
	line   int
	// earlier: amounts of the same tier printed before this one that the
	// lines between them explain ("合计 430.00", "服务费 43.00", "总计
	// 473.00"); they are bases for the cross-check.
	earlier []int64
}

// amount picks the amount due: the best tier with a match. Two different
// amounts in that tier are a conflict unless the lines between them account
// for the difference (fees and tax added, discounts and payments taken off):
// then the last is due.
func (a *analysis) amount(tendered bool) (*amountLine, string) {
	c := a.c
	var best []amountLine
	bestTier := -1
	for i := range a.lines {
		for _, p := range a.lines[i].pairs {
			if p.val.cls != clsMoney {
				continue
			}
			r, t := p.role, p.tier
			if r != roleDue || (c.onlyNoTnd[t] && tendered) {
				continue
			}
			cand := amountLine{fen: p.val.fen, marker: p.val.marker, raw: strings.TrimRight(p.raw, ":： "), key: p.label, tier: t, line: i}
			switch {
			case bestTier < 0 || t < bestTier:
				best, bestTier = []amountLine{cand}, t
			case t == bestTier:
				best = append(best, cand)
			}
		}
	}
	if len(best) == 0 {
		return nil, ""
	}
	chosen := best[0]
	for _, b := range best[1:] {
		if b.fen == chosen.fen {
			if chosen.marker == "" {
				chosen.marker = b.marker
			}
			continue
		}
		if b.line > chosen.line && a.explains(chosen.line, b.line, b.fen-chosen.fen) {
			b.earlier = append(append(b.earlier, chosen.earlier...), chosen.fen)
			if b.marker == "" {
				b.marker = chosen.marker
			}
			chosen = b
			continue
		}
		return &chosen, fmt.Sprintf("conflicting amounts: %s %s and %s %s",
			strings.TrimSpace(chosen.raw), FormatFen(chosen.fen), strings.TrimSpace(b.raw), FormatFen(b.fen))
	}
	return &chosen, ""
}

// explains reports whether the lines strictly between from and to add up to
// delta: fees and tax added, discounts, savings and payments taken off
// (savings may or may not be).
func (a *analysis) explains(from, to int, delta int64) bool {
	var plus, minus, save int64
	for i := from + 1; i < to; i++ {
		for _, p := range a.lines[i].pairs {
			if p.val.cls != clsMoney {
				continue
			}
			abs := p.val.fen
			if abs < 0 {
				abs = -abs
			}
			switch {
			case p.role == roleFee || p.role == roleTax:
				plus += p.val.fen
			case p.role == roleDiscount || p.role == roleDiscountTotal:
				minus += abs
			case p.role == roleSavings:
				save += abs
			case p.role != roleDue && a.c.paymentLabel(p.label, p.mask, &p.tk):
				minus += abs
			}
		}
	}
	return delta == plus-minus || delta == plus-minus-save
}

// foreignCurrencies lists the currencies other than the home one that the
// receipt shows, by marker.
func (a *analysis) foreignCurrencies() []string {
	c := a.c
	var out []string
	seen := map[string]bool{}
	note := func(code string) {
		if code != c.home && !seen[code] {
			seen[code] = true
			out = append(out, code)
		}
	}
	for i := range a.lines {
		ln := &a.lines[i]
		for _, m := range ln.markers {
			if code, ok := c.markers[m]; ok {
				note(code)
			}
		}
		// Foreign symbols: each place where one may start.
		for t, j := ln.text, 0; j < len(t); {
			ch := t[j]
			var r rune
			n := 1
			switch {
			case ch < 0x80:
				if !c.foreignASCII[ch] {
					j++
					continue
				}
				r = rune(ch)
			case ch >= 0xE4 && ch <= 0xE9 && j+2 < len(t):
				r, n = rune(ch&0x0F)<<12|rune(t[j+1]&0x3F)<<6|rune(t[j+2]&0x3F), 3
				if !c.foreignCJK.has(r) {
					j += 3
					continue
				}
			default:
				r, n = utf8.DecodeRuneInString(t[j:])
			}
			for _, m := range c.foreignByRune[r] {
				if strings.HasPrefix(t[j:], m) {
					note(c.markers[m])
				}
			}
			j += n
		}
		// Currency codes standing alone: "TOTAL EUR 8.20".
		t := ln.text
		for k := 0; k < len(t); {
			if !isASCIILetter(t[k]) {
				k++
				continue
			}
			e := k
			for e < len(t) && isASCIILetter(t[e]) {
				e++
			}
			switch w := t[k:e]; {
			case len(w) >= 3 && len(w) <= 4 && allUpper(w):
				// Codes in capitals only: "EUR", not the "Rub" of a dish.
				if code, ok := c.markers[w]; ok {
					note(code)
				}
			case len(w) == 2:
				// Two-letter markers (Rs, Rp, RM) only as printed.
				if code, ok := c.markers2[w]; ok {
					note(code)
				}
			}
			k = e
		}
	}
	sort.Strings(out) // a stable reason
	return out
}

// orderNo finds the POS order number: the value after the first strong
// order label (单号, 订单号, Order #…), else after a weak one (No., TR#).
func (a *analysis) orderNo() string {
	if o := a.findOrder(a.c.order, true); o != "" {
		return o
	}
	return a.findOrder(a.c.orderWeak, false)
}

func (a *analysis) findOrder(labels map[string]bool, suffixes bool) string {
	c := a.c
	var match func(k string, depth int) bool
	match = func(k string, depth int) bool {
		if k == "" || c.decoys[k] || depth > 1 {
			return false
		}
		if labels[k] {
			return true
		}
		// "Ticket N. 00417", "Order N° 12", "Check Nr.": an order word and
		// an abbreviation of number.
		for _, ab := range numberAbbrevs {
			if len(k) > len(ab) && strings.HasSuffix(k, ab) && isASCII(k) == isASCII(ab) {
				if b := k[:len(k)-len(ab)]; labels[b] && !c.decoys[b] {
					return true
				}
			}
		}
		if suffixes {
			for _, suf := range c.ordSuffix {
				if strings.HasSuffix(k, suf) && containsAny(k, c.ordExcept) == "" {
					return true
				}
			}
		}
		// "INV No 单号码", "POS单号": one half names the order, the other
		// is no decoy.
		if x, y, ok := splitScript(k); ok && !c.decoys[x] && !c.decoys[y] {
			return match(x, depth+1) || match(y, depth+1)
		}
		return false
	}
	usable := func(v value) bool {
		return v.cls != clsPct && !(v.cls == clsMoney && strings.Contains(v.raw, ".")) && !strings.Contains(v.raw, ":")
	}
	for i := range a.lines {
		ln := &a.lines[i]
		for _, p := range ln.pairs {
			if usable(p.val) && match(p.label, 0) {
				if o := cleanOrder(p.val.raw); o != "" {
					return o
				}
			}
		}
		// "订单号:" alone, the number on the next line.
		if len(ln.pairs) == 0 && i+1 < len(a.lines) && match(compactLabel(ln.text), 0) {
			if next := a.lines[i+1].pairs; len(next) > 0 && next[0].label == "" && usable(next[0].val) {
				if o := cleanOrder(next[0].val.raw); o != "" {
					return o
				}
			}
		}
	}
	return ""
}

// numberAbbrevs end an order label ("Ticket N.", "Order N°", "Bon Nr.").
var numberAbbrevs = []string{"no", "nr", "n", "n°", "nº", "num", "number", "#"}

// japanese reports a receipt in Japanese (kana beyond the の that Chinese
// shop names borrow), where ¥ means yen.
func (a *analysis) japanese() bool {
	n := 0
	for i := range a.lines {
		// Kana are led by E3, which is only ever a lead byte.
		text := a.lines[i].text
		for j := 0; j < len(text); j++ {
			if text[j] != 0xE3 {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(text[j:]); r >= 0x3041 && r <= 0x30FA && r != 'の' && r != 0x30FB {
				n++
			}
		}
	}
	return n >= 4
}

// Characters that differ between traditional and simplified writing, in
// the same order, as receipts use them.
const (
	tradOnly = "總計額號單務費應實數點價錢雞魚飯湯廳館們時間對發統業聯證這個為與會樂電話雜貨燒鍋蝦餅蔥醬腸鹹熱凍謝臨顧樓區門馬車東華風"
	simpOnly = "总计额号单务费应实数点价钱鸡鱼饭汤厅馆们时间对发统业联证这个为与会乐电话杂货烧锅虾饼葱酱肠咸热冻谢临顾楼区门马车东华风"
)

// cjkBits is a set of CJK unified ideographs (U+4E00..U+9FFF).
type cjkBits [(0x9FFF - 0x4E00 + 64) / 64]uint64

func newCJKBits(chars string) *cjkBits {
	b := new(cjkBits)
	for _, r := range chars {
		if r >= 0x4E00 && r <= 0x9FFF {
			b[(r-0x4E00)/64] |= 1 << ((r - 0x4E00) % 64)
		}
	}
	return b
}

func (b *cjkBits) has(r rune) bool {
	return r >= 0x4E00 && r <= 0x9FFF && b[(r-0x4E00)/64]&(1<<((r-0x4E00)%64)) != 0
}

// tradBits and simpBits hold the characters of tradOnly and simpOnly.
var tradBits, simpBits = newCJKBits(tradOnly), newCJKBits(simpOnly)

// traditional reports a receipt written in traditional characters.
func (a *analysis) traditional() bool {
	t, s := 0, 0
	for i := range a.lines {
		text := a.lines[i].text
		for j := 0; j < len(text); {
			c := text[j]
			if c < 0xE4 || c > 0xE9 || j+2 >= len(text) {
				// Outside U+4E00..U+9FFF: E4..E9 are only ever lead bytes.
				j++
				continue
			}
			r := rune(c&0x0F)<<12 | rune(text[j+1]&0x3F)<<6 | rune(text[j+2]&0x3F)
			j += 3
			switch {
			case tradBits.has(r):
				t++
			case simpBits.has(r):
				s++
			}
		}
	}
	return t >= 3 && t > 2*s
}

// explicitHome: the amount, or the receipt, is marked in the home currency
// by something other than 元 (¥, RMB, CNY, 人民币).
func (a *analysis) explicitHome(amt *amountLine) bool {
	c := a.c
	home := func(m string) bool { return m != "" && m != "元" && c.markers[m] == c.home }
	if home(amt.marker) {
		return true
	}
	for i := range a.lines {
		for _, m := range a.lines[i].markers {
			if home(m) {
				return true
			}
		}
		if strings.Contains(a.lines[i].text, "人民币") || strings.Contains(a.lines[i].text, "人民幣") {
			return true
		}
	}
	return false
}

// isDate: three digit groups joined by one separator ("2026-11-26",
// "12/01/20"), which is never an order number.
func isDate(s string) bool {
	for _, sep := range []string{"-", "/", "."} {
		g := strings.Split(s, sep)
		if len(g) != 3 {
			continue
		}
		ok := true
		for i, x := range g {
			if x == "" || len(x) > 4 || (i == 1 && len(x) > 2) || strings.Trim(x, "0123456789") != "" {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func cleanOrder(raw string) string {
	if isDate(raw) {
		return ""
	}
	o := strings.TrimLeft(raw, "#")
	o = strings.TrimRight(o, ".,-/")
	if o == "" || len(o) > 32 {
		return ""
	}
	return o
}

// annotation: a line that comments on the item above it ("原价：128.00
// 会员价节省：20.00", "会员价: 59.80 优惠: -16.40"): it holds a decoy or a
// savings label. Its amounts are neither items nor summary terms.
func annotation(ln *line) bool {
	for _, p := range ln.pairs {
		if p.val.cls == clsMoney && (p.role == roleInfo || p.role == roleSavings) {
			return true
		}
	}
	return false
}

// crossCheck reads the item lines and checks that items + tax + fees −
// discounts (− payments already made, for a remaining balance) — or the
// subtotal, or a lower-precedence or earlier total in their place — agree
// with the amount; savings may or may not be taken off. It returns the items
// and a reason when they disagree. strict: the amount must be confirmed by
// some base (a whole-yuan receipt).
func (a *analysis) crossCheck(amt *amountLine, paid int64, strict bool) ([]Item, string) {
	c := a.c
	zoneEnd := len(a.lines)
zone:
	for i := range a.lines {
		if annotation(&a.lines[i]) {
			continue
		}
		for _, p := range a.lines[i].pairs {
			if p.val.cls != clsMoney {
				continue
			}
			// Fees printed among the items (茶位 4位 12.00 first, as
			// Cantonese tills do) are items; the zone ends at a total.
			switch p.role {
			case roleDue, roleSubtotal, roleTax, roleDiscountTotal:
				zoneEnd = i
				break zone
			}
		}
	}
	var items []Item
	var itemSum int64
	// netItems: an item line prints a price and a lower line total (吊牌价
	// 1299.00, 折后价 909.30): the discount printed below may already be
	// in the line totals, so both are tried, as for savings.
	netItems := false
	pending := -1 // a line without amounts that may name the next line's item
	for i := 0; i < zoneEnd; i++ {
		ln := &a.lines[i]
		if ln.money == 0 {
			pending = i
			continue
		}
		known := false
		for k := range ln.pairs {
			if p := &ln.pairs[k]; p.role != roleNone && p.role != roleFee {
				known = true
				break
			}
		}
		name, qty, fen, ok := "", "", int64(0), false
		if !known {
			name, qty, fen, ok = itemOf(ln)
		}
		if ok && !countBefore(ln, lastMoney(ln)) {
			for k := range ln.pairs {
				if p := &ln.pairs[k]; p.role == roleNone && c.paymentLabel(p.label, p.mask, &p.tk) {
					known = true
					break
				}
			}
		}
		if known || !ok {
			pending = -1
			continue
		}
		if name == "" && pending >= 0 {
			name = lineName(&a.lines[pending])
		}
		pending = -1
		if name == "" {
			continue
		}
		itemSum += fen
		if !netItems && discountedColumn(ln, qty) {
			netItems = true
		}
		if len(items) < maxItems {
			items = append(items, Item{Name: name, Qty: qty, AmountFen: fen})
		}
	}
	if amt == nil {
		return items, ""
	}
	var subs, totals []int64
	var disc, discTotal, tax, fee, save int64
	hasDiscTotal := false
	for i := range a.lines {
		ln := &a.lines[i]
		if i < zoneEnd && annotation(ln) {
			continue
		}
		note := annotation(ln)
		for _, p := range ln.pairs {
			if p.val.cls != clsMoney {
				continue
			}
			abs := p.val.fen
			if abs < 0 {
				abs = -abs
			}
			switch p.role {
			case roleSubtotal:
				subs = append(subs, p.val.fen)
			case roleDiscount:
				if !note {
					disc += abs
				}
			case roleDiscountTotal:
				if !hasDiscTotal {
					discTotal, hasDiscTotal = abs, true
				}
			case roleSavings:
				save += abs
			case roleTax:
				tax += p.val.fen
			case roleFee:
				if i >= zoneEnd {
					fee += p.val.fen
				}
			case roleDue:
				if p.tier != amt.tier {
					totals = append(totals, p.val.fen)
				}
			}
		}
	}
	if hasDiscTotal {
		disc = discTotal
	}
	totals = append(totals, amt.earlier...)
	want := amt.fen + paid
	fits := func(b int64, loose bool) bool {
		for _, s := range []int64{0, save} {
			if b+tax+fee-disc-s == want || b+fee-disc-s == want {
				return true
			}
			if loose && (b-s == want || b-disc-s == want || b+tax+fee-s == want) {
				return true
			}
		}
		return false
	}
	checked := false
	if len(items) > 0 {
		checked = true
		if fits(itemSum, false) {
			return items, ""
		}
		if netItems && disc != 0 {
			d := disc
			disc = 0
			ok := fits(itemSum, false)
			disc = d
			if ok {
				return items, ""
			}
		}
	}
	for _, s := range subs {
		checked = true
		if fits(s, false) {
			return items, ""
		}
	}
	for _, t := range totals {
		checked = true
		if fits(t, true) {
			return items, ""
		}
	}
	if !checked {
		if strict {
			return items, "whole-yuan amount " + FormatFen(amt.fen) + " not confirmed by items or a subtotal"
		}
		return items, ""
	}
	base := "items " + FormatFen(itemSum)
	if len(items) == 0 && len(subs) > 0 {
		base = "subtotal " + FormatFen(subs[0])
	} else if len(items) == 0 && len(totals) > 0 {
		base = "total " + FormatFen(totals[0])
	}
	paidNote := ""
	if paid != 0 {
		paidNote = " - paid " + FormatFen(paid)
	}
	return items, fmt.Sprintf("%s + tax %s + fees %s - discounts %s%s does not match %s %s",
		base, FormatFen(tax), FormatFen(fee), FormatFen(disc), paidNote, strings.TrimSpace(amt.raw), FormatFen(amt.fen))
}

// discountedColumn: an item line whose line total is below its quantity
// times the first price printed on it (a list price and a net price).
func discountedColumn(ln *line, qty string) bool {
	first, last := int64(-1), int64(-1)
	n := 0
	for _, p := range ln.pairs {
		if p.val.cls == clsMoney {
			if first < 0 {
				first = p.val.fen
			}
			last = p.val.fen
			n++
		}
	}
	if n < 2 || last <= 0 {
		return false
	}
	q, d := parseMoney(qty)
	if d < 0 || q <= 0 {
		q = 100
	}
	if q > 1e8 || first > 1e12 {
		return false
	}
	// first × qty, in fen; qty is read in hundredths.
	return last*100 < first*q
}

// paymentLabel: a tender, change or paid-by label ("Amount Paid 0.00" is
// no item).
func (c *compiled) paymentLabel(k string, km uint64, tk *tokens) bool {
	if k == "" {
		return false
	}
	if c.change[k] {
		return true
	}
	for _, r := range c.received {
		if strings.HasPrefix(k, r) {
			return true
		}
	}
	for _, sg := range c.signals {
		if !sg.Payment {
			continue
		}
		if (sg.labels.find(k, km, tk) != "" || hasSuffixAny(k, sg.LabelSuffixes)) && sg.except.find(k, km, tk) == "" {
			return true
		}
	}
	return false
}

// hasNameRune reports a letter or CJK character.
func hasNameRune(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) && r != 'x' && r != 'X' {
			return true
		}
	}
	return false
}

// lineName is the text of a line without amounts, when it can name an item
// printed on the next line ("6901234567890 可口可乐500ml").
func lineName(ln *line) string {
	t := trimDecor(ln.text)
	if !hasNameRune(t) {
		return ""
	}
	// Drop a leading barcode or item number.
	if f := strings.Fields(t); len(f) > 1 && strings.Trim(f[0], "0123456789") == "" {
		t = strings.Join(f[1:], " ")
	}
	return t
}

// itemOf reads an item line: the name (the text before the trailing run of
// numbers), the quantity (the first number of that run when there are more)
// and the amount (the last money value).
func itemOf(ln *line) (name, qty string, fen int64, ok bool) {
	last := -1
	for k := len(ln.pairs) - 1; k >= 0; k-- {
		if ln.pairs[k].val.cls == clsMoney {
			last = k
			break
		}
	}
	if last < 0 {
		return "", "", 0, false
	}
	fen = ln.pairs[last].val.fen
	start := last
	for start > 0 && emptyGap(ln.pairs[start].gap) {
		start--
	}
	// A code glued to the name ("跑步鞋 R901  1  699.00") is part of it.
	codeInName := false
	if p := &ln.pairs[start]; start < last && (p.val.cls == clsCode || p.val.cls == clsInt) &&
		(glued(p.gap) || p.val.raw != "" && isASCIILetter(p.val.raw[0])) {
		start++
		codeInName = true
	}
	// pairs[start] opens the trailing run; its gap is the name, or the
	// text from the line start when the gap is glued to a number before
	// it ("运动袜3双装  2  39.00").
	gap := ln.pairs[start].gap
	if start > 0 && gap != "" && gap[0] != ' ' && gap[0] != '\t' {
		gap = ln.text[:ln.pairs[start].at]
		if f := strings.Fields(gap); len(f) > 1 && strings.Trim(f[0], "0123456789") == "" {
			gap = strings.Join(f[1:], " ")
		}
	} else if codeInName {
		gap = ln.text[ln.pairs[start-1].at-len(ln.pairs[start-1].gap) : ln.pairs[start].at]
	}
	name = strings.TrimFunc(gap, func(r rune) bool { return isDecor(r) || r == 'x' || r == '×' })
	if start < last && !(codeInName && ln.pairs[start].val.cls == clsMoney) {
		qty = ln.pairs[start].val.raw
	}
	if start == 0 && name != "" && qty == "" && leadingCount(name) {
		// "2  Beef Burger 176.00": a leading count is the quantity.
		if f := strings.Fields(name); len(f) > 1 {
			if _, d := parseMoney(f[0]); d == 0 && qty == "" {
				qty, name = f[0], strings.Join(f[1:], " ")
			}
		}
	}
	if start == 0 && name == "" && start < last {
		qty = ln.pairs[0].val.raw
	}
	if start == 1 && qty == "" && emptyGap(ln.pairs[0].gap) {
		// "2  Beef Burger 176.00": the line opens with the quantity.
		if cl := ln.pairs[0].val.cls; cl == clsInt || cl == clsQty {
			qty = ln.pairs[0].val.raw
		}
	}
	if qty == "" {
		qty = "1"
	}
	name = strings.TrimRight(name, ". ")
	if name != "" && !hasNameRune(name) {
		name = ""
	}
	return name, qty, fen, true
}

// lastMoney is the index of the line's last money value (-1: none).
func lastMoney(ln *line) int {
	for k := len(ln.pairs) - 1; k >= 0; k-- {
		if ln.pairs[k].val.cls == clsMoney {
			return k
		}
	}
	return -1
}

// countBefore: the value before pair k is a count (a quantity, or an
// integer below 1000: no card number), so pair k is a line total.
func countBefore(ln *line, k int) bool {
	if k <= 0 {
		return false
	}
	v := ln.pairs[k-1].val
	return v.cls == clsQty || v.cls == clsInt && v.fen < 100000
}

// leadingCount: s opens with a whole number followed by a space.
func leadingCount(s string) bool {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i <= 0 {
		return false
	}
	_, d := parseMoney(s[:i])
	return d == 0
}

// glued: a label that runs into the number after it ("R" of "R901").
func glued(g string) bool {
	if g == "" || g[len(g)-1] == ' ' || g[len(g)-1] == '\t' {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(g)
	return hasNameRune(string(r))
}

// emptyGap: only spaces, decoration, units or an "x" between two numbers.
func emptyGap(g string) bool {
	for _, r := range g {
		if isDecor(r) || r == 'x' || r == 'X' || r == '×' || r == '@' || strings.ContainsRune(unitRunes, r) {
			continue
		}
		if r == '$' || r == '¥' || r == '€' {
			continue
		}
		return false
	}
	return true
}
