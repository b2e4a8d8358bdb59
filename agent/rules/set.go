package rules

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed defaults.json
var defaultsJSON []byte

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("rules: invalid rule set")

// Set is a rule set: the labels by role and the signals that make a receipt
// not payable. Its JSON form is documented in the package comment. A Set is
// immutable once built; it is safe for concurrent use.
type Set struct {
	Version  string   `json:"version"`
	Currency Currency `json:"currency"`
	// AmountDue lists the amount-due labels by precedence: the first tier
	// with a match decides.
	AmountDue []Tier `json:"amount_due"`
	// DepositDue: labels of a deposit still to be collected (应付定金,
	// 应收订金): an amount due of the first tier that is a part of the
	// bill, so items and totals are not expected to add up to it.
	DepositDue []string `json:"deposit_due,omitempty"`
	Subtotal   []string `json:"subtotal,omitempty"`
	Discount   []string `json:"discount,omitempty"`
	// DiscountContains, TaxContains, FeeContains: a label containing one of
	// these words, listed nowhere else, has that role ("Member Discount").
	DiscountContains []string `json:"discount_contains,omitempty"`
	TaxContains      []string `json:"tax_contains,omitempty"`
	FeeContains      []string `json:"fee_contains,omitempty"`
	DiscountTotal    []string `json:"discount_total,omitempty"`
	// Savings: a label containing one of these (会员共节省, 已优惠, You
	// saved) reports a discount that the total may or may not still have to
	// subtract; the cross-check tries both.
	Savings []string `json:"savings,omitempty"`
	Tax     []string `json:"tax,omitempty"`
	// Adjustment: signed rounding lines (四舍五入 -0.02, 尾数调整 +0.01),
	// added to the total as printed.
	Adjustment     []string `json:"adjustment,omitempty"`
	Fee            []string `json:"fee,omitempty"`
	Info           []string `json:"info,omitempty"`
	InfoContains   []string `json:"info_contains,omitempty"`
	CategorySuffix []string `json:"category_suffix,omitempty"`
	OrderNo        []string `json:"order_no,omitempty"`
	OrderNoWeak    []string `json:"order_no_weak,omitempty"`
	OrderDecoys    []string `json:"order_decoys,omitempty"`
	// OrderSuffix: a label ending so (销售单号) is an order label too,
	// unless it contains one of OrderSuffixExcept (原单号, 退款单号).
	OrderSuffix       []string `json:"order_suffix,omitempty"`
	OrderSuffixExcept []string `json:"order_suffix_except,omitempty"`
	Tender            Tender   `json:"tender"`
	NotPayable        []Signal `json:"not_payable,omitempty"`
	KeepPayable       []string `json:"keep_payable,omitempty"`
	// RemainingBalance lets a bill that shows payments already made (a
	// deposit, a member card covering part of it) be payable for the balance
	// still owed, when a total printed before the payments, less the
	// payments, is exactly the amount due. Off by default: a paid-by line
	// with an amount makes a receipt not payable (DESIGN §7); a merchant
	// whose till prints such balances turns it on.
	RemainingBalance bool `json:"remaining_balance,omitempty"`
	// Remove drops labels from every list when this set is merged over
	// another (a merchant overlay taking a built-in label out).
	Remove []string `json:"remove,omitempty"`

	once sync.Once
	c    *compiled
}

// Currency is the currency a QR can be made for, and what the markers printed
// beside amounts mean.
type Currency struct {
	Code    string            `json:"code"`
	Markers map[string]string `json:"markers"`
}

// Tier is one precedence level of amount-due labels.
type Tier struct {
	Labels []string `json:"labels"`
	// OnlyWithoutTender: these labels (实付, 实收) count only when the
	// receipt has no tender line.
	OnlyWithoutTender bool `json:"only_without_tender,omitempty"`
}

// Tender describes payment lines.
type Tender struct {
	// Received labels (实收, 收款) make a tender line when their amount is
	// not zero and the line names a payment type or the receipt has a
	// change line.
	Received     []string `json:"received,omitempty"`
	Change       []string `json:"change,omitempty"`
	PaymentTypes []string `json:"payment_types,omitempty"`
	// MethodLabels (支付方式) followed by a payment type mark a paid receipt.
	MethodLabels []string `json:"method_labels,omitempty"`
}

// Signal is one reason a receipt is not payable and the ways it shows.
type Signal struct {
	Reason string `json:"reason"`
	// Labels: a label containing one of these, with a non-zero amount.
	Labels []string `json:"labels,omitempty"`
	// LabelSuffixes: a label ending with one of these (余额支付, 抖音支付),
	// not an amount-due label, with a non-zero amount.
	LabelSuffixes []string `json:"label_suffixes,omitempty"`
	// Titles: a short line (at most 6 more characters, no amount) containing
	// one of these.
	Titles []string `json:"titles,omitempty"`
	// Exact: a whole line, compacted (lower-case, no spaces or decoration).
	Exact []string `json:"exact,omitempty"`
	// Contains: anywhere in a line.
	Contains []string `json:"contains,omitempty"`
	// Except: a line containing one of these never shows this signal.
	Except []string `json:"except,omitempty"`
	// KeepCancels: a keep-payable word (待支付, 未付) on the signal's line or
	// the next one cancels this signal.
	KeepCancels bool `json:"keep_cancels,omitempty"`
	// Payment: the labels of this signal are payment lines (会员卡支付,
	// 现金): never items, and a remaining balance may follow them.
	Payment bool `json:"payment,omitempty"`
	// CancelledBy: one of these anywhere on the receipt turns this signal
	// off (none built in; a merchant may add one).
	CancelledBy []string `json:"cancelled_by,omitempty"`
	// AmountLast: the labels count only when their amount ends the line
	// ("美团团购券抵扣: -128.00", not the promotion "抖音团购 99元双人餐").
	AmountLast bool `json:"amount_last,omitempty"`
}

var (
	defaultOnce sync.Once
	defaultSet  *Set
)

// Default returns the built-in rule set. The same *Set is returned on every
// call; callers must not modify it.
func Default() *Set {
	defaultOnce.Do(func() {
		s, err := Parse(defaultsJSON)
		if err != nil {
			panic("rules: built-in defaults: " + err.Error())
		}
		defaultSet = s
	})
	return defaultSet
}

// Parse reads a rule set in the JSON form of the package comment. Unknown
// keys are errors, so a misspelt key is not silently ignored.
func Parse(data []byte) (*Set, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	s := new(Set)
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) validate() error {
	if strings.TrimSpace(s.Version) == "" {
		return fmt.Errorf("%w: version is required", ErrInvalid)
	}
	for k, v := range s.Currency.Markers {
		if k == "" || v == "" {
			return fmt.Errorf("%w: currency marker %q maps to %q", ErrInvalid, k, v)
		}
	}
	for i, t := range s.AmountDue {
		if len(t.Labels) == 0 {
			return fmt.Errorf("%w: amount_due tier %d has no labels", ErrInvalid, i)
		}
	}
	for i, sg := range s.NotPayable {
		if sg.Reason == "" {
			return fmt.Errorf("%w: not_payable[%d] has no reason", ErrInvalid, i)
		}
	}
	return nil
}

// Merge returns a new set: s with over's labels added (a merchant's rules
// over the built-in ones). over's version and currency code replace s's when
// set; its currency markers are added, replacing s's meaning of the same
// marker (map "$" to "CNY" for a till that prints $ for yuan); its tiers are
// appended to s's tier of the same index; its signals join s's signal of the
// same reason or are added; then every label in over.Remove is dropped.
func (s *Set) Merge(over *Set) *Set {
	if over == nil {
		return s.clone()
	}
	m := s.clone()
	m.RemainingBalance = m.RemainingBalance || over.RemainingBalance
	if over.Version != "" {
		m.Version = over.Version
	}
	if over.Currency.Code != "" {
		m.Currency.Code = over.Currency.Code
	}
	for k, v := range over.Currency.Markers {
		m.Currency.Markers[k] = v
	}
	for i, t := range over.AmountDue {
		if i < len(m.AmountDue) {
			m.AmountDue[i].Labels = union(m.AmountDue[i].Labels, t.Labels)
			m.AmountDue[i].OnlyWithoutTender = m.AmountDue[i].OnlyWithoutTender || t.OnlyWithoutTender
		} else {
			m.AmountDue = append(m.AmountDue, Tier{Labels: union(nil, t.Labels), OnlyWithoutTender: t.OnlyWithoutTender})
		}
	}
	m.Subtotal = union(m.Subtotal, over.Subtotal)
	m.Discount = union(m.Discount, over.Discount)
	m.DiscountContains = union(m.DiscountContains, over.DiscountContains)
	m.TaxContains = union(m.TaxContains, over.TaxContains)
	m.FeeContains = union(m.FeeContains, over.FeeContains)
	m.DiscountTotal = union(m.DiscountTotal, over.DiscountTotal)
	m.Savings = union(m.Savings, over.Savings)
	m.Tax = union(m.Tax, over.Tax)
	m.Fee = union(m.Fee, over.Fee)
	m.DepositDue = union(m.DepositDue, over.DepositDue)
	m.Adjustment = union(m.Adjustment, over.Adjustment)
	m.Info = union(m.Info, over.Info)
	m.InfoContains = union(m.InfoContains, over.InfoContains)
	m.CategorySuffix = union(m.CategorySuffix, over.CategorySuffix)
	m.OrderNo = union(m.OrderNo, over.OrderNo)
	m.OrderNoWeak = union(m.OrderNoWeak, over.OrderNoWeak)
	m.OrderDecoys = union(m.OrderDecoys, over.OrderDecoys)
	m.OrderSuffix = union(m.OrderSuffix, over.OrderSuffix)
	m.OrderSuffixExcept = union(m.OrderSuffixExcept, over.OrderSuffixExcept)
	m.Tender.Received = union(m.Tender.Received, over.Tender.Received)
	m.Tender.Change = union(m.Tender.Change, over.Tender.Change)
	m.Tender.PaymentTypes = union(m.Tender.PaymentTypes, over.Tender.PaymentTypes)
	m.Tender.MethodLabels = union(m.Tender.MethodLabels, over.Tender.MethodLabels)
	m.KeepPayable = union(m.KeepPayable, over.KeepPayable)
	for _, sg := range over.NotPayable {
		found := false
		for i := range m.NotPayable {
			if m.NotPayable[i].Reason == sg.Reason {
				t := &m.NotPayable[i]
				t.Labels = union(t.Labels, sg.Labels)
				t.LabelSuffixes = union(t.LabelSuffixes, sg.LabelSuffixes)
				t.Titles = union(t.Titles, sg.Titles)
				t.Exact = union(t.Exact, sg.Exact)
				t.Contains = union(t.Contains, sg.Contains)
				t.Except = union(t.Except, sg.Except)
				t.CancelledBy = union(t.CancelledBy, sg.CancelledBy)
				t.Payment = t.Payment || sg.Payment
				t.KeepCancels = t.KeepCancels || sg.KeepCancels
				t.AmountLast = t.AmountLast || sg.AmountLast
				found = true
				break
			}
		}
		if !found {
			m.NotPayable = append(m.NotPayable, cloneSignal(sg))
		}
	}
	if len(over.Remove) > 0 {
		m.remove(over.Remove)
	}
	return m
}

func (s *Set) clone() *Set {
	m := &Set{
		Version:           s.Version,
		RemainingBalance:  s.RemainingBalance,
		Currency:          Currency{Code: s.Currency.Code, Markers: make(map[string]string, len(s.Currency.Markers))},
		Subtotal:          union(nil, s.Subtotal),
		Discount:          union(nil, s.Discount),
		DiscountTotal:     union(nil, s.DiscountTotal),
		Tax:               union(nil, s.Tax),
		Fee:               union(nil, s.Fee),
		Adjustment:        union(nil, s.Adjustment),
		DepositDue:        union(nil, s.DepositDue),
		DiscountContains:  union(nil, s.DiscountContains),
		TaxContains:       union(nil, s.TaxContains),
		FeeContains:       union(nil, s.FeeContains),
		Savings:           union(nil, s.Savings),
		Info:              union(nil, s.Info),
		InfoContains:      union(nil, s.InfoContains),
		CategorySuffix:    union(nil, s.CategorySuffix),
		OrderNo:           union(nil, s.OrderNo),
		OrderNoWeak:       union(nil, s.OrderNoWeak),
		OrderDecoys:       union(nil, s.OrderDecoys),
		OrderSuffix:       union(nil, s.OrderSuffix),
		OrderSuffixExcept: union(nil, s.OrderSuffixExcept),
		Tender: Tender{
			Received:     union(nil, s.Tender.Received),
			Change:       union(nil, s.Tender.Change),
			PaymentTypes: union(nil, s.Tender.PaymentTypes),
			MethodLabels: union(nil, s.Tender.MethodLabels),
		},
		KeepPayable: union(nil, s.KeepPayable),
	}
	for k, v := range s.Currency.Markers {
		m.Currency.Markers[k] = v
	}
	for _, t := range s.AmountDue {
		m.AmountDue = append(m.AmountDue, Tier{Labels: union(nil, t.Labels), OnlyWithoutTender: t.OnlyWithoutTender})
	}
	for _, sg := range s.NotPayable {
		m.NotPayable = append(m.NotPayable, cloneSignal(sg))
	}
	return m
}

func cloneSignal(sg Signal) Signal {
	return Signal{
		Reason:        sg.Reason,
		Labels:        union(nil, sg.Labels),
		LabelSuffixes: union(nil, sg.LabelSuffixes),
		Titles:        union(nil, sg.Titles),
		Exact:         union(nil, sg.Exact),
		Contains:      union(nil, sg.Contains),
		Except:        union(nil, sg.Except),
		CancelledBy:   union(nil, sg.CancelledBy),
		Payment:       sg.Payment,
		KeepCancels:   sg.KeepCancels,
		AmountLast:    sg.AmountLast,
	}
}

func (s *Set) remove(labels []string) {
	drop := make(map[string]bool, len(labels))
	for _, l := range labels {
		drop[l] = true
		drop[compactLabel(normalize(l))] = true
	}
	f := func(list []string) []string {
		out := list[:0]
		for _, l := range list {
			if !drop[l] {
				out = append(out, l)
			}
		}
		return out
	}
	for i := range s.AmountDue {
		s.AmountDue[i].Labels = f(s.AmountDue[i].Labels)
	}
	s.Subtotal, s.Discount, s.DiscountTotal = f(s.Subtotal), f(s.Discount), f(s.DiscountTotal)
	s.DiscountContains, s.TaxContains, s.FeeContains = f(s.DiscountContains), f(s.TaxContains), f(s.FeeContains)
	s.Savings = f(s.Savings)
	s.Tax, s.Fee, s.Info, s.InfoContains = f(s.Tax), f(s.Fee), f(s.Info), f(s.InfoContains)
	s.Adjustment, s.DepositDue = f(s.Adjustment), f(s.DepositDue)
	s.CategorySuffix, s.OrderNo, s.OrderNoWeak, s.OrderDecoys = f(s.CategorySuffix), f(s.OrderNo), f(s.OrderNoWeak), f(s.OrderDecoys)
	s.OrderSuffix, s.OrderSuffixExcept = f(s.OrderSuffix), f(s.OrderSuffixExcept)
	s.Tender.Received, s.Tender.Change = f(s.Tender.Received), f(s.Tender.Change)
	s.Tender.PaymentTypes, s.Tender.MethodLabels = f(s.Tender.PaymentTypes), f(s.Tender.MethodLabels)
	s.KeepPayable = f(s.KeepPayable)
	for i := range s.NotPayable {
		sg := &s.NotPayable[i]
		sg.Labels, sg.Titles, sg.Exact, sg.Contains = f(sg.Labels), f(sg.Titles), f(sg.Exact), f(sg.Contains)
		sg.LabelSuffixes = f(sg.LabelSuffixes)
	}
	for k := range s.Currency.Markers {
		if drop[k] {
			delete(s.Currency.Markers, k)
		}
	}
}

func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	seen := make(map[string]bool, len(a)+len(b))
	for _, l := range append(append([]string(nil), a...), b...) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// role is what a label means.
type role uint8

const (
	roleNone role = iota
	roleInfo
	roleDue // with tier
	roleSubtotal
	roleDiscount
	roleDiscountTotal
	roleTax
	roleFee
	roleCategory
	roleSavings
)

// roleWords: a label containing one of words has role r.
type roleWords struct {
	r     role
	words wordList
}

// compiled is a Set prepared for lookups.
type compiled struct {
	remaining bool // RemainingBalance
	home      string
	markers   map[string]string // upper-cased marker -> currency code
	markers2  map[string]string // two-letter markers as written (Rs, RM) -> currency code
	roles     map[string]role
	tiers     map[string]int
	deposit   map[string]bool // DepositDue
	onlyNoTnd []bool
	infoCont  wordList
	contains  []roleWords // discount, tax, fee by contained word
	catSuffix []string
	order     map[string]bool
	orderWeak map[string]bool
	decoys    map[string]bool
	ordSuffix []string
	ordExcept []string
	received  []string
	change    map[string]bool
	payTypes  wordList
	methods   []string
	keep      wordList
	signals   []compiledSignal
	// foreignSymbols are the non-letter markers of other currencies ($, HK$, €).
	foreignSymbols wordList
	// The same by their first rune, with cheap filters for ASCII and CJK
	// first runes.
	foreignByRune map[rune][]string
	foreignASCII  [128]bool
	foreignCJK    *cjkBits
}

type compiledSignal struct {
	Signal
	labels, contains, except, cancel wordList
	titles                           []string // compacted
	titleRunes                       []int
	titleMasks                       []uint64
	maxTitle                         int
	maxExact                         int // bytes
	exact                            map[string]bool
}

func key(l string) string { return compactLabel(normalize(l)) }

func keys(list []string) []string {
	out := make([]string, 0, len(list))
	for _, l := range list {
		if k := key(l); k != "" {
			out = append(out, k)
		}
	}
	// Longest first, so that contains-matching reports the most specific.
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, k := range keys(list) {
		m[k] = true
	}
	return m
}

func (s *Set) compiled() *compiled {
	s.once.Do(func() { s.c = s.compile() })
	return s.c
}

func (s *Set) compile() *compiled {
	c := &compiled{
		remaining: s.RemainingBalance,
		home:      strings.ToUpper(s.Currency.Code),
		markers:   make(map[string]string),
		markers2:  make(map[string]string),
		roles:     make(map[string]role),
		tiers:     make(map[string]int),
		deposit:   set(s.DepositDue),
		infoCont:  newWordList(keys(s.InfoContains)),
		contains: []roleWords{
			{roleSavings, newWordList(keys(s.Savings))},
			{roleDiscount, newWordList(keys(s.DiscountContains))},
			{roleTax, newWordList(keys(s.TaxContains))},
			{roleFee, newWordList(keys(s.FeeContains))},
		},
		catSuffix: keys(s.CategorySuffix),
		order:     set(s.OrderNo),
		orderWeak: set(s.OrderNoWeak),
		decoys:    set(s.OrderDecoys),
		ordSuffix: keys(s.OrderSuffix),
		ordExcept: keys(s.OrderSuffixExcept),
		received:  keys(s.Tender.Received),
		change:    set(s.Tender.Change),
		payTypes:  newWordList(keys(s.Tender.PaymentTypes)),
		methods:   keys(s.Tender.MethodLabels),
		keep:      newWordList(keys(s.KeepPayable)),
	}
	if c.home == "" {
		c.home = "CNY"
	}
	for k, v := range s.Currency.Markers {
		c.markers[strings.ToUpper(normalize(k))] = strings.ToUpper(v)
		if len(k) == 2 && isASCIILetter(k[0]) && isASCIILetter(k[1]) {
			c.markers2[k] = strings.ToUpper(v)
		}
	}
	var symbols []string
	for m, code := range c.markers {
		if code != c.home && strings.IndexFunc(m, func(r rune) bool { return r >= 'A' && r <= 'Z' }) < 0 {
			symbols = append(symbols, m)
		}
	}
	sort.Strings(symbols)
	c.foreignSymbols = newWordList(symbols)
	c.foreignByRune = make(map[rune][]string)
	var cjkFirst strings.Builder
	for _, m := range symbols {
		r, _ := utf8.DecodeRuneInString(m)
		c.foreignByRune[r] = append(c.foreignByRune[r], m)
		if r < 0x80 {
			c.foreignASCII[r] = true
		} else {
			cjkFirst.WriteRune(r)
		}
	}
	c.foreignCJK = newCJKBits(cjkFirst.String())
	add := func(list []string, r role) {
		for _, k := range keys(list) {
			if _, dup := c.roles[k]; !dup {
				c.roles[k] = r
			}
		}
	}
	for i, t := range s.AmountDue {
		for _, k := range keys(t.Labels) {
			if _, dup := c.tiers[k]; !dup {
				c.tiers[k] = i
			}
		}
		c.onlyNoTnd = append(c.onlyNoTnd, t.OnlyWithoutTender)
	}
	if len(c.onlyNoTnd) == 0 {
		c.onlyNoTnd = append(c.onlyNoTnd, false)
	}
	for k := range c.deposit {
		if _, dup := c.tiers[k]; !dup {
			c.tiers[k] = 0
		}
	}
	add(s.DiscountTotal, roleDiscountTotal)
	add(s.Subtotal, roleSubtotal)
	add(s.Discount, roleDiscount)
	add(s.Tax, roleTax)
	add(s.Fee, roleFee)
	add(s.Adjustment, roleFee)
	add(s.Info, roleInfo)
	for _, sg := range s.NotPayable {
		cs := compiledSignal{Signal: sg, titles: keys(sg.Titles), exact: set(sg.Exact)}
		for k := range cs.exact {
			cs.maxExact = max(cs.maxExact, len(k))
		}
		// By length, so that a line skips the titles too short for it.
		sort.SliceStable(cs.titles, func(i, j int) bool {
			return utf8.RuneCountInString(cs.titles[i]) < utf8.RuneCountInString(cs.titles[j])
		})
		for _, t := range cs.titles {
			n := utf8.RuneCountInString(t)
			cs.titleRunes = append(cs.titleRunes, n)
			cs.titleMasks = append(cs.titleMasks, runeMask(t))
			cs.maxTitle = max(cs.maxTitle, n)
		}
		cs.Labels = keys(sg.Labels)
		cs.LabelSuffixes = keys(sg.LabelSuffixes)
		cs.Contains = keys(sg.Contains)
		cs.Except = keys(sg.Except)
		cs.labels, cs.contains, cs.except = newWordList(cs.Labels), newWordList(cs.Contains), newWordList(cs.Except)
		cs.cancel = newWordList(keys(sg.CancelledBy))
		c.signals = append(c.signals, cs)
	}
	return c
}

// wordList finds words in text. CJK words are found anywhere in the compact
// text, after a 64-bit rune mask has ruled out texts lacking their bytes;
// ASCII words only as whole words of the text as printed, alone or run
// together ("Visa Credit Card" holds visa and creditcard, "Cashew" holds no
// cash).
type wordList struct {
	words []string
	masks []uint64
	// cjk: indexes of the non-ASCII words; ascii: the ASCII words by the
	// first byte of the token they must start at (lower case).
	cjk   []int
	ascii map[byte][]string
}

func newWordList(words []string) wordList {
	w := wordList{words: words, masks: make([]uint64, len(words))}
	for i, x := range words {
		w.masks[i] = runeMask(x)
		if !isASCII(x) {
			w.cjk = append(w.cjk, i)
			continue
		}
		if x == "" {
			continue
		}
		if w.ascii == nil {
			w.ascii = make(map[byte][]string)
		}
		b := x[0]
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		w.ascii[b] = append(w.ascii[b], x)
	}
	return w
}

// find returns the first word in compact (for CJK words) or among the
// words tk of the text as printed (for ASCII words), "" when none; sm is
// runeMask(compact) or a superset of it.
func (w wordList) find(compact string, sm uint64, tk *tokens) string {
	for _, i := range w.cjk {
		if w.masks[i]&^sm == 0 && strings.Contains(compact, w.words[i]) {
			return w.words[i]
		}
	}
	if w.ascii == nil || !tk.letters {
		return ""
	}
	for k := 0; k < tk.n; k++ {
		b := tk.raw[tk.span[k][0]]
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		for _, word := range w.ascii[b] {
			if tk.hasAt(k, word) {
				return word
			}
		}
	}
	return ""
}

// tokens are the first words (runs of ASCII letters and digits) of a text.
type tokens struct {
	raw     string
	span    [12][2]uint16
	n       int
	letters bool // some word has a letter
}

func tokenize(raw string) tokens {
	t := tokens{raw: raw}
	if len(raw) > 0xffff {
		raw = raw[:0xffff]
	}
	for i := 0; i < len(raw) && t.n < len(t.span); {
		if !isAlnum(raw[i]) {
			i++
			continue
		}
		j := i
		for j < len(raw) && isAlnum(raw[j]) {
			t.letters = t.letters || isASCIILetter(raw[j])
			j++
		}
		t.span[t.n] = [2]uint16{uint16(i), uint16(j)}
		t.n++
		i = j
	}
	return t
}

// has reports whether word (lower case, no spaces) is one word of the text
// or two or three consecutive words run together.
func (t *tokens) has(word string) bool {
	for k := 0; k < t.n; k++ {
		if t.hasAt(k, word) {
			return true
		}
	}
	return false
}

// hasAt: word is token k, or tokens k, k+1 (and k+2) run together.
func (t *tokens) hasAt(k int, word string) bool {
	rest := word
	for m := k; m < t.n && m < k+3; m++ {
		tok := t.raw[t.span[m][0]:t.span[m][1]]
		if len(tok) > len(rest) || !strings.EqualFold(tok, rest[:len(tok)]) {
			return false
		}
		rest = rest[len(tok):]
		if rest == "" {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool { return isDigit(c) || isASCIILetter(c) }

func runeMask(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		// Every byte, so that multi-byte runes spread over several bits.
		m |= byteBit(s[i])
	}
	return m
}

func byteBit(c byte) uint64 { return 1 << ((uint(c) * 0x9E37) >> 5 & 63) }
