package rules

import (
	"strings"
	"testing"
	"time"
)

func lines(s string) []string { return strings.Split(strings.Trim(s, "\n"), "\n") }

// TestDecide: one case per rule of issue 4; each comment says what it proves.
func TestDecide(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		payable bool
		amount  int64 // checked when payable
		order   string
		reason  string // substring of Reason
	}{
		// Precedence: 应收 beats 合计; 茶位费 and 会员折扣 enter the cross-check.
		{"due beats total", `
单号: 2611260012
宫保鸡丁    1    38.00
水煮鱼      1    68.00
消费合计:       106.00
会员折扣:       -10.60
茶位费:           8.00
应收金额:       103.40`, true, 10340, "2611260012", "应收金额"},
		// 小计 is larger than 合计 after a discount: 合计 is the amount.
		{"subtotal decoy", `
订单号: A-77
小计 197.00
会员折扣(9折) -19.70
合计 177.30`, true, 17730, "A-77", "合计"},
		// 实付 counts when there is no tender line...
		{"shifu without tender", `
单号: 88
订单金额 40.00
优惠 -5.00
实付金额 35.00`, true, 3500, "88", "实付金额"},
		// ... but 实收 with a payment type is a tender line.
		{"shishou with cash", `
单号: 88
合计 35.00
实收 现金 50.00
找零 15.00`, false, 0, "88", "paid"},
		// 实收 followed by 找零 (no payment type on the line) is a tender line too.
		{"shishou then change", `
合计 26.00
实收 50.00
找零 24.00`, false, 0, "", "paid"},
		// A paid line with a zero amount is no signal.
		{"paid zero", `
Check #3307
Amount Paid 0.00
Balance Due 68.00`, true, 6800, "3307", "Balance Due"},
		{"member card zero", `
账单号: S1
合计 164.00
会员卡支付 0.00
待支付 164.00`, true, 16400, "S1", "待支付"},
		// Paid-by lines with an amount.
		{"wechat paid", "合计 88.00\n微信支付 88.00", false, 0, "", "already paid"},
		{"alipay paid", "合计 88.00\n支付宝: 88.00", false, 0, "", "already paid"},
		{"card paid", "TOTAL 114.70\nVisa Credit Card 114.70", false, 0, "", "cash or by card"},
		{"apple pay", "TOTAL 68.00\nApplePay 68.00", false, 0, "", "already paid"},
		{"debit", "TOTAL 68.00\nDEBIT ****1234 68.00", false, 0, "", "cash or by card"},
		{"cashew is no cash", "Cashew Chicken  38.00\nPrivate Room  0.00\nTOTAL 38.00", true, 3800, "", "TOTAL"},
		{"payments accepted footer", "TOTAL 38.00\nPayments accepted: Visa, Cash, WeChat", true, 3800, "", "TOTAL"},
		{"payment line", "TOTAL 38.00\nPayment: Cash", false, 0, "", "already paid"},
		{"paid by", "TOTAL 38.00\nPaid by Card", false, 0, "", "already paid"},
		{"cash change en", "TOTAL 72.60\nCash 100.00\nChange 27.40", false, 0, "", "cash or by card"},
		{"shishou then type on next line", "应收 68.00\n实收 68.00\n(现金)", false, 0, "", "tender"},
		{"convenience store cash", "合计 12.50\n收您 20.00\n找您 7.50", false, 0, "", "paid"},
		{"balance payment", "合计 68.00\n会员余额支付 68.00", false, 0, "", "already paid"},
		{"any xx支付", "合计 68.00\n抖音支付: 68.00", false, 0, "", "already paid"},
		{"due ending in 支付", "需支付 68.00", true, 6800, "", "需支付"},
		{"card balance is no payment", "合计 68.00\n会员卡余额 500.00", true, 6800, "", "合计"},
		{"payment method line", "合计 35.00\n支付方式: 现金", false, 0, "", "already paid"},
		{"paid status", "TOTAL 7.30\nPAID - CARD", false, 0, "", "already paid"},
		// Keep-payable cancels a paid status.
		{"keep payable", "订单号: YD1\n合计 ¥43.00\n支付方式: 微信支付\n支付状态: 待支付", true, 4300, "YD1", "合计"},
		// Refunds, voids, reports, kitchen tickets, takeaway slips.
		{"refund", "退款单\n退款金额: 68.00", false, 0, "", "refund"},
		{"void", "*** 作废 ***\n合计: 106.00", false, 0, "", "refund or void"},
		{"refund footer is no signal", "合计 12.00\n凭小票七日内退换", true, 1200, "", "合计"},
		{"shift report", "交班报表\n营业额合计: 7,524.50", false, 0, "", "report"},
		{"z report", "Z REPORT\nTOTAL 5,110.00", false, 0, "", "report"},
		{"kitchen", "厨房单\n桌号: 8\n宫保鸡丁 x1", false, 0, "", "kitchen"},
		{"cashier desk named bar", "收银台: 吧台\n桌号: 吧台3\n合计 30.00", true, 3000, "", "合计"},
		{"kitchen en", "KITCHEN\nTable 12\n2 x Burger", false, 0, "", "kitchen"},
		{"shop named kitchen", "HARBOUR KITCHEN\nTOTAL 68.00", true, 6800, "", "TOTAL"},
		{"takeaway", "#12 美团外卖\n--已在线支付--\n合计 28.00", false, 0, "", "takeaway"},
		{"meituan pos brand", "应付 ¥81.00\n美团收银 技术支持", true, 8100, "", "应付"},
		{"cash on delivery", "【电话外卖】\n单号: DH-1\n红烧茄子 24.00\n配送费 5.00\n合计 29.00\n付款方式: 货到付款", false, 0, "DH-1", "takeaway"},
		{"delivery fee", "合计: 16.30\n配送费: 4.00", false, 0, "", "takeaway"},
		{"card slip", "POS签购单\n金额 AMOUNT: RMB 68.00\n持卡人签名", false, 0, "", "card"},
		// Zero and negative totals.
		{"zero total", "合计 0.00", false, 0, "", "zero total"},
		{"negative total", "合计 -7.00", false, 0, "", "negative"},
		// Currency.
		{"usd", "TOTAL $27.20", false, 0, "", "USD"},
		{"usd marker elsewhere", "Item $ 2.00\nTOTAL 2.00", false, 0, "", "USD"},
		{"hkd", "總計 HK$129.8", false, 0, "", "HKD"},
		{"ntd", "總計 NT$539", false, 0, "", "TWD"},
		{"eur word", "TOTAL EUR 8.20", false, 0, "", "EUR"},
		{"mop", "合计 MOP 88.00", false, 0, "", "MOP"},
		{"rupees after", "Total: 5,000.00 Rs", false, 0, "", "INR"},
		{"ringgit", "TOTAL RM 12.00", false, 0, "", "MYR"},
		{"pounds", "TOTAL £12.00", false, 0, "", "GBP"},
		{"won", "합계 9,700", false, 0, "", "no amount"},
		{"words that look like codes", "Dry Rub Ribs  88.00\nTry our Eur-style bread\nTOTAL 88.00", true, 8800, "", "TOTAL"},
		{"yen in japanese", "お会計\nありがとうございます\n合計 ¥1,280", false, 0, "", "Japanese"},
		{"cny markers", "合计 ¥68.00", true, 6800, "", "合计"},
		{"taiwan yuan", "單號: 1\n酸辣湯 35元\n總計 35元\n謝謝光臨", false, 0, "1", "traditional"},
		{"traditional paid", "單號: 1\n總計 ¥38.00\n支付寶 38.00", false, 0, "1", "already paid"},
		{"traditional void", "*** 作廢 ***\n總計 ¥38.00", false, 0, "", "refund or void"},
		{"traditional with rmb", "單號: 1\n蝦餃 RMB 38.00\n應付金額 RMB 38.00\n謝謝光臨", true, 3800, "1", "應付金額"},
		{"yuan suffix", "合计: 68元", true, 6800, "", "合计"},
		{"rmb prefix", "TOTAL RMB 154.00", true, 15400, "", "TOTAL"},
		{"cny suffix", "合计 15.50 CNY", true, 1550, "", "合计"},
		// Formats.
		{"full width", "单号：００１２\n合计：６８．００", true, 6800, "0012", "合计"},
		{"thousands", "应收 8,000.00", true, 800000, "", "应收"},
		{"next line", "应收金额:\n￥36.00", true, 3600, "", "应收金额"},
		{"tab columns no space", "合计金额：\t235.00", true, 23500, "", "合计金额"},
		{"letter spaced", "单　　号：2611260561\n合　计：132.00", true, 13200, "2611260561", "合"},
		{"letter spaced en", "T O T A L  68.00", true, 6800, "", "T O T A L"},
		{"count on total line", "合计: 4件  ￥25.80", true, 2580, "", "合计"},
		{"qty then amount", "合计  2  68.00", true, 6800, "", "合计"},
		{"summary table", "数量合计    金额合计\n  3          47.00", true, 4700, "", "金额合计"},
		{"trailing minus", "烤鸭 100.00\n优惠 5.00-\n合计 95.00", true, 9500, "", "合计"},
		{"one decimal", "合计 68.5", true, 6850, "", "合计"},
		{"bilingual", "Grand Total 总数:56.00", true, 5600, "", "Grand Total"},
		{"integer without marker is no amount", "合计: 5", false, 0, "", "not confirmed"},
		{"decimal comma is no amount", "Summe 25,00", false, 0, "", "no amount"},
		// Order numbers and their decoys.
		{"order decoys", "桌号: 18\n人数: 6\n取餐号: 215\n收银员: 3309\n电话: 0571-88889999\n单号: 1126000915\n合计 96.00", true, 9600, "1126000915", ""},
		{"order on the same line as table", "Check #8812    Table 4\nTOTAL 68.00", true, 6800, "8812", ""},
		{"order hash", "Order #: 58812\nTOTAL 9.00", true, 900, "58812", ""},
		{"order with letters", "INV No 单号码: 01-100001\nTotal:56.00", true, 5600, "01-100001", ""},
		{"weak order", "NO.800126001\n合计(元) 63.00", true, 6300, "800126001", ""},
		{"strong order beats weak", "8/F, No.8, Jingyuan Road\nINV No: 01-1\nTotal 5.00", true, 500, "01-1", ""},
		{"date is no order", "BON NR# 12/01/20\n合计 5.00", true, 500, "", ""},
		// Dates and times never count as money.
		{"dates", "2026-11-26 07:45:12\n营业日: 20261126\n有效期至2026.12.31\n总计 15.00", true, 1500, "", "总计"},
		// Balances and points are decoys.
		{"balance points", "合计 177.30\n会员卡余额: 2,300.00\n本单积分: 177", true, 17730, "", "合计"},
		// Cross-check.
		{"items disagree", "重庆小面  15.00\n豌杂面  18.00\n合计  43.00", false, 0, "", "does not match"},
		{"items agree", "重庆小面  15.00\n豌杂面  18.00\n合计  33.00", true, 3300, "", "合计"},
		{"tax and service", "Burger 2 176.00\nSubtotal 176.00\nService Charge 10% 17.60\nVAT 6% 10.56\nAmount Due 204.16", true, 20416, "", "Amount Due"},
		{"category sums", "烤鸭  168.00\n热菜小计 168.00\n啤酒 x4  40.00\n酒水小计 40.00\n合计 208.00", true, 20800, "", "合计"},
		{"two item lines", "可口可乐\n    2    3.50    7.00\n雪碧\n    1    3.50    3.50\n合计 10.50", true, 1050, "", "合计"},
		{"conflict", "应收 25.00\n应收 52.00", false, 0, "", "conflicting"},
		// The lines between two totals of one tier account for the difference: the last is due.
		{"total then fee then total", "烧鹅 98.00\n合计 98.00\n服务费(10%) 9.80\n总计 107.80", true, 10780, "", "总计"},
		{"total then unexplained total", "合计 98.00\n总计 107.80", false, 0, "", "conflicting"},
		// A paid-by line with an amount makes a bill not payable, even when a
		// balance follows (DESIGN §7); see TestRemainingBalance for the
		// merchant option that settles balances.
		{"deposit deducted", "合计 12,680.00\n已付定金 2,000.00\n应付 10,680.00", false, 0, "", "already paid"},
		{"partial member card", "烤鸭 552.00\n合计 552.00\n会员卡支付 500.00\n待付金额 52.00", false, 0, "", "already paid"},
		{"partial payment with chain", "应付金额 100.00\n已付金额 50.00\n待付金额 50.00", false, 0, "", "already paid"},
		{"remaining does not add up", "合计 2,880.00\n已付定金 1,000.00\n待付金额 2,880.00", false, 0, "", "already paid"},
		{"paid in full then zero due", "应收 68.00\n微信支付 68.00\n待付 0.00", false, 0, "", "already paid"},
		{"due before the payment", "应收 68.00\n微信支付 68.00", false, 0, "", "already paid"},
		{"cash with change is no partial payment", "合计 100.00\n现金 50.00\n找零 0.00\n待付 50.00", false, 0, "", "cash"},
		// Whole-yuan receipts, confirmed by their items.
		{"whole yuan", "单号: 0086\n牛肉面  2  30\n凉菜  1  8\n合计: 38", true, 3800, "0086", "合计"},
		{"whole yuan unconfirmed", "牛肉面  2  30\n合计: 38", false, 0, "", "does not match"},
		// Savings may or may not be taken off; rates name discounts.
		{"savings taken off", "烤鸭 168.00\n商品总价 168.00\n已优惠 25.00\n应付 143.00", true, 14300, "", "应付"},
		{"savings already in", "烤鸭 50.00\n合计 50.00\n已优惠 5.00", true, 5000, "", "合计"},
		{"member price annotations", "牛排 1 108.00 108.00\n  原价：128.00   会员价节省：20.00\n意面 1 52.00 52.00\n  原价：58.00   会员价节省：6.00\n原价合计 186.00\n会员共节省 26.00\n应付 160.00", true, 16000, "", "应付"},
		{"rate discount", "咖啡 30.00\n合计 30.00\n会员8.8折  -3.60\n应付 26.40", true, 2640, "", "应付"},
		{"happy hour disc", "Burger 98.00\nSubtotal 98.00\nHappy Hour Disc (9.80)\nBalance Due 88.20", true, 8820, "", "Balance Due"},
		// Labels followed by a bracketed note or count, 满N减M and 第N件X折.
		{"points with count", "吐司 1 16.00 16.00\n原价合计 16.00\n积分抵扣(200分)：  -2.00\n应收 14.00", true, 1400, "", "应收"},
		{"coupon with terms", "保温杯 1 128.00\n毛巾 1 39.00\n合计 167.00\n优惠券(满150减15)：  -15.00\n应收 152.00", true, 15200, "", "应收"},
		{"rate with note", "烧鹅 1 128.00\n合计 128.00\n会员9折(菜品)：  -12.80\n应收 115.20", true, 11520, "", "应收"},
		{"full reduction", "葡萄 1.102kg 43.86\n车厘子 0.861kg 76.63\n合计 120.49\n满100减20：  -20.00\n抹零 -0.49\n应付 100.00", true, 10000, "", "应付"},
		{"nth item rate", "T恤 1 99.00\nT恤 1 99.00\n小计 198.00\n第2件5折 -49.50\n应付 148.50", true, 14850, "", "应付"},
		{"second half price paren", "拿铁 2 68.00\n小计 68.00\n第二杯半价 (17.00)\n应付 51.00", true, 5100, "", "应付"},
		{"minus sign", "拿铁 2 68.00\n小计 68.00\n第二杯半价 −17.00\n应付 51.00", true, 5100, "", "应付"},
		// Signed rounding adjustments.
		{"rounding down", "苹果 1.236kg 12.11\n香蕉 0.918kg 6.41\n小计 18.52\n四舍五入 -0.02\n应收 18.50", true, 1850, "", "应收"},
		{"rounding up", "苹果 1.236kg 12.18\n小计 12.18\n尾数调整 +0.02\n应收 12.20", true, 1220, "", "应收"},
		{"rate in brackets", "咖啡 1 30.00\n合计 30.00\n会员折扣(9.5折)：-1.50\n应付 28.50", true, 2850, "", "应付"},
		{"full reduction with terms", "咖啡 2 200.00\n合计 200.00\n满减优惠 满200减30 -30.00\n应付 170.00", true, 17000, "", "应付"},
		{"english rounding up", "Coffee 1 30.00\nSubtotal 30.00\nRounding +0.02\nTOTAL 30.02", true, 3002, "", "TOTAL"},
		// A list price and a net price column: the discount is already in.
		{"net price column", "大衣 1 1299.00 909.30\n开衫 1 399.00 279.30\n折扣(7折) -509.40\n应收金额 1,188.60", true, 118860, "", "应收金额"},
		// Decisions for DESIGN §7.
		{"group-buy voucher", "套餐 1 128.00\n加菜 1 72.00\n消费合计 200.00\n美团团购券抵扣 -128.00\n待付 72.00", false, 0, "", "platform voucher"},
		{"douyin voucher", "套餐 1 99.00\n合计 99.00\n抖音券核销 -99.00\n应付 0.00", false, 0, "", "platform voucher"},
		{"platform voucher with a note", "套餐 1 99.00\n合计 99.00\n美团券 -50.00 (1张)\n应付 49.00", false, 0, "", "platform voucher"},
		{"platform promotion", "咖啡 1 30.00\n合计 30.00\n应付 30.00\n美团点评 扫码评价 领5元券", true, 3000, "", "应付"},
		{"platform promotion price", "咖啡 1 30.00\n合计 30.00\n应付 30.00\n抖音团购 99元双人餐", true, 3000, "", "应付"},
		{"platform review cashback", "咖啡 1 30.00\n合计 30.00\n应付 30.00\n大众点评五星好评返现5元", true, 3000, "", "应付"},
		{"shop coupon", "套餐 1 99.00\n合计 99.00\n代金券 -20.00\n应付 79.00", true, 7900, "", "应付"},
		{"line-cook ticket", "打荷单\n桌号 6\n水煮鱼 1 68.00\n合计 68.00", false, 0, "", "kitchen"},
		{"runner ticket", "划菜单\n水煮鱼 1 68.00\n合计 68.00", false, 0, "", "kitchen"},
		{"deposit paid", "婚纱照套餐 1 3999.00\n合计 3999.00\n定金 500.00\n未付 3499.00", false, 0, "", "already paid"},
		{"deposit due", "宴会 6桌 x 1888.00\n应付定金 2265.60\n未付", true, 226560, "", "应付定金"},
		{"top-up unpaid", "储值套餐 充1000送200 1 1000.00\n应收 1000.00\n请到前台付款", true, 100000, "", "应收"},
		{"card number before amount", "牛肉面 1 30.00\n合计 30.00\nVISA 1234 30.00", false, 0, "", "paid"},
		{"member card number", "牛肉面 1 30.00\n合计 30.00\n会员卡 8800 30.00", false, 0, "", "already paid"},
		{"cash with count after total", "牛肉面 1 30.00\n合计 30.00\n现金 2 30.00", false, 0, "", "paid"},
		{"payment word item counts", "微信 1 30.00\n牛肉面 1 30.00\n合计 30.00", false, 0, "", "does not match"},
		{"top-up without a count", "会员卡充值 2000.00\n应收 2000.00", true, 200000, "", "应收"},
		{"new card fee", "开卡工本费 20.00\n储值卡充值 500.00\n合计 520.00", true, 52000, "", "合计"},
		{"member card payment", "洗剪吹 1 88.00\n合计 88.00\n会员卡 88.00", false, 0, "", "already paid"},
		{"top-up paid", "储值套餐 充1000送200 1 1000.00\n应收 1000.00\n微信支付 1000.00", false, 0, "", "already paid"},
		{"fuel card", "加油金额 294.28\n实付金额 294.28\n支付方式：加油卡", false, 0, "", "already paid"},
		{"big5 no marker", "台北牛肉麵館\n牛肉麵 2 583.00\n總計 583.00\n謝謝光臨", false, 0, "", "traditional"},
		// Order labels.
		{"transaction serial", "交易流水：17261126105522\n合计 10.00", true, 1000, "17261126105522", "合计"},
		{"receipt number", "收据号：DJ2611260019\n合计 10.00", true, 1000, "DJ2611260019", "合计"},
		{"return number", "退货单\n退货单号：TH2611261033\n退款金额 10.00", false, 0, "TH2611261033", "refund"},
		{"ticket n.", "Ticket N. 00417\nTOTAL 7.20", true, 720, "00417", "TOTAL"},
		// Bad input.
		{"empty", "", false, 0, "", "no text"},
		{"blank", "   \n\t\n", false, 0, "", "no text"},
		{"garbage", "\x00\x01\xff\xfe@@@@", false, 0, "", "no amount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Default().Decide(lines(tc.in))
			if d.Payable != tc.payable {
				t.Fatalf("payable %v (%s), want %v", d.Payable, d.Reason, tc.payable)
			}
			if tc.payable && d.AmountFen != tc.amount {
				t.Errorf("amount %d, want %d", d.AmountFen, tc.amount)
			}
			if tc.payable && d.Currency != "CNY" {
				t.Errorf("currency %q", d.Currency)
			}
			if d.OrderNo != tc.order {
				t.Errorf("order %q, want %q", d.OrderNo, tc.order)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q lacks %q", d.Reason, tc.reason)
			}
		})
	}
}

func TestDecideItems(t *testing.T) {
	d := Default().Decide(lines(`
品名          数量     金额
宫保鸡丁       2      76.00
散装苹果       1.35   17.28
2  Beef Burger       176.00
6901234567890 可口可乐500ml
    2     3.50     7.00
小计: 276.28
合计: 276.28`))
	want := []Item{{"宫保鸡丁", "2", 7600}, {"散装苹果", "1.35", 1728}, {"Beef Burger", "2", 17600}, {"可口可乐500ml", "2", 700}}
	if !d.Payable || len(d.Items) != len(want) {
		t.Fatalf("payable %v (%s), items %+v", d.Payable, d.Reason, d.Items)
	}
	for i := range want {
		if d.Items[i] != want[i] {
			t.Errorf("item %d: %+v, want %+v", i, d.Items[i], want[i])
		}
	}
}

// TestBadInputBounded: enormous lines, thousands of candidate amounts and
// too many lines are not payable, with a reason.
func TestBadInputBounded(t *testing.T) {
	many := make([]string, 0, 5000)
	for i := 0; i < 5000; i++ {
		many = append(many, "合计 1.00 2.00")
	}
	huge := strings.Repeat("合计 12.00 ", 20000)
	many3 := make([]string, 1500)
	for i := range many3 {
		many3[i] = "合计 1.00 2.00 3.00"
	}
	tests := []struct {
		name   string
		in     []string
		reason string
	}{
		{"too many lines", many, "too long"},
		{"many numbers", many3, "too many numbers"},
		{"enormous line", []string{"单号: 1", huge}, "line 2 too long"},
		{"nul bytes", []string{strings.Repeat("\x00", 1000)}, "no text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Default().Decide(tc.in)
			if d.Payable || d.Reason == "" || !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("payable %v, reason %q (want %q)", d.Payable, d.Reason, tc.reason)
			}
		})
	}
}

// TestWorstCaseBounded: the largest receipt Decide reads (2000 lines of 1 KiB
// of pathological text) is decided, not payable, in bounded time. The limit
// is generous: the time is the behaviour, not a benchmark.
func TestWorstCaseBounded(t *testing.T) {
	for _, unit := range []string{"1,", "合计1 ", "合 ", "应收 1.00\t"} {
		line := strings.Repeat(unit, 1024/len(unit))
		in := make([]string, maxLines)
		for i := range in {
			in[i] = line
		}
		start := time.Now()
		d := Default().Decide(in)
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("%q: %v", unit, el)
		}
		if d.Payable || d.Reason == "" {
			t.Errorf("%q: payable %v, reason %q", unit, d.Payable, d.Reason)
		}
	}
}

// TestRemainingBalance: with remaining_balance on, a balance still owed after
// a deposit or a partial payment is payable when the arithmetic is exact.
func TestRemainingBalance(t *testing.T) {
	over, err := Parse([]byte(`{"version": "m1", "remaining_balance": true}`))
	if err != nil {
		t.Fatal(err)
	}
	set := Default().Merge(over)
	for _, tc := range []struct {
		name, in string
		payable  bool
		amount   int64
		reason   string
	}{
		{"deposit deducted", "合计 12,680.00\n已付定金 2,000.00\n应付 10,680.00", true, 1068000, "already paid"},
		{"partial member card", "烤鸭 552.00\n合计 552.00\n会员卡支付 500.00\n待付金额 52.00", true, 5200, "待付金额"},
		{"partial payment with chain", "应付金额 100.00\n已付金额 50.00\n待付金额 50.00", true, 5000, "待付金额"},
		{"remaining does not add up", "合计 2,880.00\n已付定金 1,000.00\n待付金额 2,880.00", false, 0, "already paid"},
		{"paid in full then zero due", "应收 68.00\n微信支付 68.00\n待付 0.00", false, 0, "zero total"},
		{"cash with change is no partial payment", "合计 100.00\n现金 50.00\n找零 0.00\n待付 50.00", false, 0, "cash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := set.Decide(lines(tc.in))
			if d.Payable != tc.payable || (tc.payable && d.AmountFen != tc.amount) || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("payable %v amount %d (%s), want %v %d (%s)", d.Payable, d.AmountFen, d.Reason, tc.payable, tc.amount, tc.reason)
			}
		})
	}
}
