package receipt_test

import (
	"fmt"

	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/internal/receiptgen"
)

func ExampleAnalyze() {
	job, err := receiptgen.Encode([]byte("encoding: gbk-fs\n\n单号: 0012\n宫保鸡丁    1    38.00\n米饭        2     4.00\n@size 2x2\n应收: 42.00\n@size 1x1\n@feed 3\n@cut\n"))
	if err != nil {
		panic(err)
	}
	rep := receipt.Analyze(job, receipt.Options{})
	r := rep.Receipts[0]
	fmt.Println(rep.Payable, *rep.AmountFen, *rep.OrderNo, *r.Currency, len(r.Items), rep.QR)
	fmt.Println(rep.Reason)
	// Output:
	// true 4200 0012 CNY 2 [0]
	// amount due: 应收 42.00
}
