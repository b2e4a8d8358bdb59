package rules

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecide reads arbitrary text as receipt lines: Decide must not panic,
// must always give a reason, and a payable decision must be a positive CNY
// amount. Amounts that parse must round-trip through FormatFen.
func FuzzDecide(f *testing.F) {
	for _, s := range []string{
		"单号: 0012\n宫保鸡丁  1  38.00\n合计: 38.00",
		"合　计：￥１２８．００",
		"TOTAL $27.20",
		"合计: 4件 ¥25.80\n实收 现金 50.00\n找零 24.20",
		"应收金额:\n￥36.00",
		"-¥5.00\t1,280.50元\tRMB 12",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Default().Decide(strings.Split(s, "\n"))
		if d.Reason == "" {
			t.Fatalf("no reason for %q", s)
		}
		if d.Payable && (d.AmountFen <= 0 || d.Currency != "CNY" || !d.AmountFound) {
			t.Fatalf("payable with amount %d %s for %q", d.AmountFen, d.Currency, s)
		}
		if !utf8.ValidString(d.OrderNo) || len(d.OrderNo) > 32 {
			t.Fatalf("order %q", d.OrderNo)
		}
		for _, field := range strings.Fields(s) {
			if fen, _, ok := ParseAmount(field); ok {
				if back, _, ok := ParseAmount(FormatFen(fen)); !ok || back != fen {
					t.Fatalf("%q -> %d -> %q -> %d", field, fen, FormatFen(fen), back)
				}
			}
		}
	})
}

// benchReceipt is a 40-line restaurant pre-bill.
var benchReceipt = lines(`
老街小馆(国贸店)
预结单
桌号: A08                人数: 4
单号: 2611260012
开台时间: 2026-11-26 12:05
收银员: 王丽
--------------------------------
品名            数量        金额
宫保鸡丁        1          38.00
水煮鱼          1          68.00
麻婆豆腐        1          26.00
回锅肉          1          42.00
酸梅汤          2          16.00
清炒时蔬        1          18.00
米饭            4           8.00
干煸豆角        1          32.00
鱼香肉丝        1          36.00
可乐            2          10.00
--------------------------------
消费合计:                 294.00
会员折扣:                 -29.40
茶位费:                     8.00
应收金额:                 272.60
--------------------------------
会员卡余额: 1,280.50
本次积分: 272  累计积分: 3560
打印时间: 2026-11-26 13:02:11
电话: 0755-26881234
地址: 深圳市南山区海岸城5楼
谢谢惠顾,欢迎再次光临
支持微信、支付宝付款
--------------------------------
WiFi: laojie-guest
密码: 88888888
关注公众号领取优惠券
满100减20活动进行中
会员日每周三八八折
营业时间 10:00-22:00
投诉电话 400-800-1234
欢迎下次光临
`)

// BenchmarkDecide measures one 40-line receipt (goal: <= 50 µs) and a
// 400-line one (linear: about ten times as long).
func BenchmarkDecide(b *testing.B) {
	if len(benchReceipt) != 40 {
		b.Fatalf("bench receipt has %d lines", len(benchReceipt))
	}
	if d := Default().Decide(benchReceipt); !d.Payable || d.AmountFen != 27260 {
		b.Fatalf("bench receipt: %+v", d)
	}
	long := make([]string, 0, 400)
	for i := 0; i < 10; i++ {
		long = append(long, benchReceipt...)
	}
	for _, bc := range []struct {
		name string
		in   []string
	}{{"40lines", benchReceipt}, {"400lines", long}} {
		size := 0
		for _, l := range bc.in {
			size += len(l) + 1
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				Default().Decide(bc.in)
			}
		})
	}
}
