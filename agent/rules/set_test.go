package rules

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestDefaultParses(t *testing.T) {
	s := Default()
	if s.Version == "" || s.Currency.Code != "CNY" || len(s.AmountDue) < 3 {
		t.Fatalf("defaults: version %q currency %q tiers %d", s.Version, s.Currency.Code, len(s.AmountDue))
	}
	if Default() != s {
		t.Error("Default returns a new set each time")
	}
}

// The JSON example in the package comment must stay valid.
func TestDocExampleParses(t *testing.T) {
	s, err := Parse([]byte(docExample))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Decide([]string{"单号: 7", "应付金额 12.00"})
	if !d.Payable || d.AmountFen != 1200 || d.OrderNo != "7" {
		t.Errorf("example set: %+v", d)
	}
}

const docExample = `{
  "version": "builtin-2026.11.1",
  "currency": {"code": "CNY", "markers": {"¥": "CNY", "元": "CNY", "$": "USD", "HK$": "HKD"}},
  "amount_due": [
    {"labels": ["应收", "应付金额", "待付", "Amount Due", "Balance Due"]},
    {"labels": ["实付", "实收"], "only_without_tender": true},
    {"labels": ["合计", "总计", "消费合计", "TOTAL", "Grand Total"]}
  ],
  "subtotal": ["小计", "原价合计", "Subtotal"],
  "discount": ["优惠", "折扣", "会员折扣", "抹零", "Discount"],
  "discount_total": ["优惠合计"],
  "discount_contains": ["discount", "优惠", "折扣"],
  "tax": ["税额", "Tax", "VAT"],
  "fee": ["打包费", "服务费", "茶位费", "餐位费", "Service"],
  "info": ["桌号", "人数", "积分", "会员价", "件数"],
  "info_contains": ["余额", "电话"],
  "category_suffix": ["小计", "合计"],
  "order_no": ["单号", "订单号", "流水号", "Order", "Check"],
  "order_no_weak": ["No", "TR"],
  "order_decoys": ["桌号", "取餐号", "收银员"],
  "order_suffix": ["单号", "流水号"],
  "order_suffix_except": ["原", "退", "取餐"],
  "tender": {
    "received": ["实收", "收款"],
    "change": ["找零", "Change"],
    "payment_types": ["现金", "微信", "支付宝", "Cash", "Card"],
    "method_labels": ["支付方式", "Payment"]
  },
  "not_payable": [
    {"reason": "refund or void", "titles": ["退款单", "作废"], "exact": ["refund", "void"]},
    {"reason": "already paid", "labels": ["微信支付", "已付", "Paid"], "titles": ["已支付"],
     "except": ["未付"], "keep_cancels": true}
  ],
  "keep_payable": ["待支付", "未付"]
}`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", `合计`, "invalid character"},
		{"no version", `{"amount_due": []}`, "version is required"},
		{"misspelt key", `{"version": "1", "amount_dew": []}`, `unknown field "amount_dew"`},
		{"empty tier", `{"version": "1", "amount_due": [{"labels": []}]}`, "tier 0 has no labels"},
		{"signal without reason", `{"version": "1", "not_payable": [{"titles": ["x"]}]}`, "has no reason"},
		{"empty marker", `{"version": "1", "currency": {"markers": {"": "CNY"}}}`, "currency marker"},
		{"trailing data", `{"version": "1"} {}`, "data after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want ErrInvalid with %q", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "rules: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	over, err := Parse([]byte(`{
  "version": "shop-42",
  "currency": {"markers": {"$": "CNY"}},
  "amount_due": [{"labels": ["请付"]}],
  "fee": ["开瓶费"],
  "not_payable": [{"reason": "already paid", "labels": ["企业卡扣款"]}, {"reason": "staff meal", "titles": ["员工餐"]}],
  "remove": ["应收"]
}`))
	if err != nil {
		t.Fatal(err)
	}
	m := Default().Merge(over)
	if m.Version != "shop-42" {
		t.Errorf("version %q", m.Version)
	}
	tests := []struct {
		name    string
		set     *Set
		in      string
		payable bool
		reason  string
	}{
		{"$ is foreign by default", Default(), "TOTAL $12.00", false, "USD"},
		{"merchant maps $ to yuan", m, "TOTAL $12.00", true, "TOTAL"},
		{"new amount label", m, "请付 30.00", true, "请付"},
		{"new amount label unknown to defaults", Default(), "请付 30.00", false, "no amount"},
		{"new fee in the cross-check", m, "烤鸭 100.00\n开瓶费 20.00\n合计 120.00", true, "合计"},
		{"signal joins its reason", m, "合计 50.00\n企业卡扣款 50.00", false, "already paid"},
		{"new signal", m, "员工餐\n合计 20.00", false, "staff meal"},
		{"built-in signals stay", m, "退款单\n退款金额 5.00", false, "refund"},
		{"removed label", m, "应收 30.00", false, "no amount"},
		{"removed label kept in defaults", Default(), "应收 30.00", true, "应收"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.set.Decide(lines(tc.in))
			if d.Payable != tc.payable || !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("payable %v (%s), want %v with %q", d.Payable, d.Reason, tc.payable, tc.reason)
			}
		})
	}
	// Merging does not change the sets merged.
	if d := Default().Decide([]string{"TOTAL $12.00"}); d.Payable {
		t.Error("Merge changed the defaults")
	}
	if got := Default().Merge(nil); got == Default() || got.Version != Default().Version {
		t.Error("Merge(nil) must return a copy")
	}
}

// The merchant example in README.md must stay valid and do what it says.
func TestReadmeExample(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```json\n")
	js, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no json block in README.md")
	}
	over, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	m := Default().Merge(over)
	for in, payable := range map[string]bool{
		"TOTAL $12.00":  true,
		"请付 30.00":      true,
		"员工餐\n合计 20.00": false,
		"烤鸭 100.00\n开瓶费 20.00\n合计 120.00": true,
	} {
		if d := m.Decide(lines(in)); d.Payable != payable {
			t.Errorf("%q: payable %v (%s)", in, d.Payable, d.Reason)
		}
	}
}

// A Set is used by every printer's worker at once.
func TestConcurrentDecide(t *testing.T) {
	m := Default().Merge(&Set{Version: "m"})
	done := make(chan Decision, 8)
	for i := 0; i < 8; i++ {
		go func() {
			s := Default()
			if i%2 == 1 {
				s = m
			}
			done <- s.Decide([]string{"单号: 7", "合计 12.00"})
		}()
	}
	for i := 0; i < 8; i++ {
		if d := <-done; !d.Payable || d.AmountFen != 1200 {
			t.Errorf("%+v", d)
		}
	}
}
