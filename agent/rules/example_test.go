package rules_test

import (
	"fmt"

	"printpay.dev/printpay/agent/rules"
)

func ExampleSet_Decide() {
	d := rules.Default().Decide([]string{
		"预结单",
		"桌号: A08        人数: 4",
		"单号: 2611260012",
		"宫保鸡丁        1      38.00",
		"水煮鱼          1      68.00",
		"消费合计:             106.00",
		"会员折扣:             -10.60",
		"应收金额:\t95.40",
	})
	fmt.Println(d.Payable, rules.FormatFen(d.AmountFen), d.Currency, d.OrderNo, len(d.Items))
	fmt.Println(d.Reason)

	d = rules.Default().Decide([]string{"合计 35.00", "实收 现金 50.00", "找零 15.00"})
	fmt.Println(d.Payable, d.Reason)
	// Output:
	// true 95.40 CNY 2611260012 2
	// amount due: 应收金额 95.40
	// false paid in cash or by card: "实收 现金 50.00"
}

func ExampleSet_Merge() {
	// A till that prints $ for yuan.
	over, err := rules.Parse([]byte(`{"version": "shop-7", "currency": {"markers": {"$": "CNY"}}}`))
	if err != nil {
		panic(err)
	}
	set := rules.Default().Merge(over)
	fmt.Println(rules.Default().Decide([]string{"TOTAL $27.20"}).Payable, set.Decide([]string{"TOTAL $27.20"}).Payable)
	// Output: false true
}

func ExampleParseAmount() {
	for _, s := range []string{"￥1,280.50", "６８．００", "68元", "RMB 12", "-5.00", "HK$46.00"} {
		fen, marker, ok := rules.ParseAmount(s)
		fmt.Println(fen, marker, ok)
	}
	// Output:
	// 128050 ¥ true
	// 6800  true
	// 6800 元 true
	// 1200 RMB true
	// -500  true
	// 4600 HK$ true
}
