package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// fullWidth turns ASCII digits and punctuation into their full-width forms.
func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > ' ' && r < 0x7f {
			r += 0xFEE0
		}
		b.WriteRune(r)
	}
	return b.String()
}

func thousands(fen int64) string {
	s := FormatFen(fen)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, frac, _ := strings.Cut(s, ".")
	var groups []string
	for len(ip) > 3 {
		groups = append([]string{ip[len(ip)-3:]}, groups...)
		ip = ip[:len(ip)-3]
	}
	groups = append([]string{ip}, groups...)
	out := strings.Join(groups, ",") + "." + frac
	if neg {
		out = "-" + out
	}
	return out
}

// formats are every way an amount is printed that ParseAmount must read back.
var formats = []struct {
	name   string
	print  func(int64) string
	marker string
}{
	{"plain", FormatFen, ""},
	{"yen", func(f int64) string { return "¥" + FormatFen(f) }, "¥"},
	{"fullwidth yen", func(f int64) string { return "￥" + FormatFen(f) }, "¥"},
	{"yuan", func(f int64) string { return FormatFen(f) + "元" }, "元"},
	{"rmb", func(f int64) string { return "RMB " + FormatFen(f) }, "RMB"},
	{"cny suffix", func(f int64) string { return FormatFen(f) + " CNY" }, "CNY"},
	{"thousands", thousands, ""},
	{"thousands yen", func(f int64) string { return "¥" + thousands(f) }, "¥"},
	{"full width digits", func(f int64) string { return fullWidth(FormatFen(f)) }, ""},
	{"full width thousands", func(f int64) string { return fullWidth(thousands(f)) }, ""},
	{"one decimal", func(f int64) string { s := FormatFen(f - f%10); return s[:len(s)-1] }, ""},
	{"usd", func(f int64) string { return "$" + FormatFen(f) }, "$"},
	{"hkd", func(f int64) string { return "HK$" + FormatFen(f) }, "HK$"},
}

// TestAmountRoundTrip: every amount, printed in every supported format, reads
// back to the same fen, alone and as the amount due on a receipt line.
func TestAmountRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 12345, 99999, 100000, 123456789, -1, -500, -123456}
	for i := 0; i < 300; i++ {
		values = append(values, rng.Int64N(1_000_000_000)-1000)
	}
	for _, f := range formats {
		for _, fen := range values {
			want := fen
			if f.name == "one decimal" {
				want = fen - fen%10
			}
			text := f.print(fen)
			got, marker, ok := ParseAmount(text)
			if !ok || got != want {
				t.Fatalf("%s: ParseAmount(%q) = %d, %v; want %d", f.name, text, got, ok, want)
			}
			if strings.ToUpper(f.marker) != marker && !(f.marker == "" && marker == "") {
				t.Fatalf("%s: ParseAmount(%q) marker %q, want %q", f.name, text, marker, f.marker)
			}
			if want <= 0 || f.marker == "$" || f.marker == "HK$" {
				continue
			}
			for _, layout := range []string{"合计: %s", "合计\t%s", "应收金额：%s", "TOTAL %s", "合　计  %s"} {
				d := Default().Decide([]string{fmt.Sprintf(layout, text)})
				if !d.Payable || d.AmountFen != want {
					t.Fatalf("%s: %q: payable %v amount %d (%s), want %d", f.name, fmt.Sprintf(layout, text), d.Payable, d.AmountFen, d.Reason, want)
				}
			}
		}
	}
}

func TestFormatFen(t *testing.T) {
	for fen, want := range map[int64]string{0: "0.00", 5: "0.05", 100: "1.00", -1: "-0.01", 123456: "1234.56", -100000: "-1000.00"} {
		if got := FormatFen(fen); got != want {
			t.Errorf("FormatFen(%d) = %q, want %q", fen, got, want)
		}
	}
}

// notPayable receipts show a not-payable signal (or a conflict, or a zero
// amount due at the top tier).
var notPayable = [][]string{
	{"合计 35.00", "实收 现金 50.00", "找零 15.00"},
	{"合计 88.00", "微信支付 88.00"},
	{"退款单", "退款金额 68.00"},
	{"交班报表", "营业额合计 7,524.50"},
	{"厨房单", "桌号: 8", "宫保鸡丁 x1"},
	{"#12 美团外卖", "合计 28.00"},
	{"TOTAL 7.30", "PAID - CARD"},
	{"TOTAL $27.20"},
	{"应收 0.00"},
	{"应收 25.00", "应收 52.00"},
	{"POS签购单", "金额 AMOUNT: RMB 68.00", "持卡人签名"},
	{"*** 作废 ***", "合计: 106.00"},
	{"Z REPORT", "TOTAL 5,110.00"},
	{"合计 92.00", "储值卡支付 50.00", "现金 42.00"},
}

var fillers = []string{
	"老街小馆", "预结单", "单号: 2611260012", "桌号: A08   人数: 4", "宫保鸡丁    1   38.00", "应收金额: 110.60",
	"合计 68.00", "小计 197.00", "优惠 -5.00", "待支付", "未付", "会员卡余额: 2,300.00", "2026-11-26 12:05",
	"TOTAL 12.00", "Amount Due 9.00", "--------------------------------", "谢谢惠顾", "实付 35.00", "服务费 8.00",
	"应付: ￥81.00", "Balance Due 68.00", "合计 ¥99.00", "支付状态: 待支付", "应收 0.01", "本单积分: 177",
}

// TestLinesAboveSignal: adding lines above a not-payable signal never makes a
// receipt payable.
func TestLinesAboveSignal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		base := notPayable[rng.IntN(len(notPayable))]
		if d := Default().Decide(base); d.Payable {
			t.Fatalf("%q is payable (%s)", base, d.Reason)
		}
		var in []string
		for k := rng.IntN(12); k > 0; k-- {
			in = append(in, fillers[rng.IntN(len(fillers))])
		}
		in = append(in, base...)
		if d := Default().Decide(in); d.Payable {
			t.Fatalf("lines above a not-payable receipt made it payable (%s):\n%s", d.Reason, strings.Join(in, "\n"))
		}
	}
}

// TestForeignNeverPayable: an amount marked with a foreign currency is never
// payable under the default rules, whatever else the receipt says.
func TestForeignNeverPayable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	markers := []string{"$%s", "US$%s", "HK$%s", "NT$%s", "MOP %s", "MOP$%s", "€%s", "%s €", "EUR %s", "%s EUR", "$ %s"}
	labels := []string{"合计", "应收", "TOTAL", "Amount Due", "總計", "应付金额", "Grand Total"}
	for i := 0; i < 2000; i++ {
		amount := FormatFen(rng.Int64N(10_000_000) + 1)
		line := labels[rng.IntN(len(labels))] + " " + fmt.Sprintf(markers[rng.IntN(len(markers))], amount)
		in := []string{}
		for k := rng.IntN(5); k > 0; k-- {
			in = append(in, fillers[rng.IntN(len(fillers))])
		}
		in = append(in, line)
		for k := rng.IntN(5); k > 0; k-- {
			in = append(in, fillers[rng.IntN(len(fillers))])
		}
		if d := Default().Decide(in); d.Payable {
			t.Fatalf("foreign amount payable (%s):\n%s", d.Reason, strings.Join(in, "\n"))
		}
	}
}

// TestTrimDecor: trimDecor is strings.TrimFunc(s, isDecor), invalid UTF-8
// included.
func TestTrimDecor(t *testing.T) {
	parts := []string{"", " ", "\t", "：", "-", "合计", "a", "【", "】", "\xff", "\xe4\xb8", "·", "\u3000", "¥", "68.00", "（元）", "\u00a0", "\u2003", "\u0085", "\xe2\x80", "\u1680", "\r\n"}
	for _, a := range parts {
		for _, b := range parts {
			for _, c := range parts {
				s := a + b + c
				if got, want := trimDecor(s), strings.TrimFunc(s, isDecor); got != want {
					t.Errorf("trimDecor(%q) = %q, want %q", s, got, want)
				}
				if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
					t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
				}
			}
		}
	}
}

// normalizeRef is normalize written plainly, rune by rune.
func normalizeRef(s string) string {
	var b strings.Builder
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

// TestNormalizeRef: the byte-level fast path of normalize agrees with the
// plain rune-by-rune mapping, invalid UTF-8 included.
func TestNormalizeRef(t *testing.T) {
	parts := []string{"", "合计", "：", "６８．００", "\t", "\x01", "\x7f", "\xff", "\xe4\xb8", "\xe4\xb8\xad", "\u3000", "￥", "−", "\ufffd", "ab", "é", "\xe9\xbf\xbf"}
	for _, a := range parts {
		for _, b := range parts {
			for _, c := range parts {
				s := a + b + c
				if got, want := normalize(s), normalizeRef(s); got != want {
					t.Errorf("normalize(%q) = %q, want %q", s, got, want)
				}
			}
		}
	}
}

// TestForeignSymbols: every symbol marker of another currency, anywhere on
// a line, makes the receipt foreign.
func TestForeignSymbols(t *testing.T) {
	set := Default()
	c := set.compiled()
	for _, m := range c.foreignSymbols.words {
		for _, line := range []string{"合计 " + m + "68.00", "Total 68.00" + m, "价格(" + m + ") 牛肉面 68.00", m} {
			d := set.Decide([]string{line, "应付 68.00"})
			if d.Payable || !strings.Contains(d.Reason, c.markers[m]) {
				t.Errorf("%q: payable %v (%s), want refused for %s", line, d.Payable, d.Reason, c.markers[m])
			}
		}
	}
}
