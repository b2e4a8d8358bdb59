// Package rules decides, from a receipt's printed lines, whether the
// receipt is payable, for how much (int64 fen, read exactly from the text,
// never through floating point), and under which POS order number.
//
// The keyword database is data: a JSON rule set, versioned. The built-in
// defaults (defaults.json, embedded) are returned by Default; a merchant's
// rules (sent by the server, or `printpay inspect --rules FILE`) are read with
// Parse and merged over the defaults with Merge. Decide is pure (no I/O, no
// clock) and bounded: linear in the size of the receipt, at most 2000 lines
// of 1 KiB and 4000 numbers are read, anything beyond is not payable with a
// reason.
//
// # Reading a line
//
// Each line (escpos.Line.Text; columns joined by "\t") is normalised:
// full-width digits, letters and punctuation become half-width (also in order
// numbers), the ideographic space becomes a space, ￥ becomes ¥. The line is
// then cut into (label, value) pairs: a value is a run of ASCII letters,
// digits and . , - / # $ € ¥ % holding a digit; the text before it, back to
// the previous value, is its label. Labels are compared compacted: lower
// case, without spaces (so letter-spaced "合　计" and "T O T A L" match),
// decoration, dot leaders, "(元)" and currency markers. A value is money when
// it has one or two decimals ("68.00", "1,280.50", "-5.00") or a currency
// marker ("68元", "¥68", "RMB 68"); dates, times, phone numbers, codes,
// counts ("4件", "x2", "1.35kg", "9折") and percentages never are. An amount
// alone on a line takes the label printed alone on the line above it, and a
// row of values under a row of headings ("数量合计   金额合计") takes the
// headings, when their counts agree. A money
// value with no label of its own after a count or percentage on the same line
// takes that value's label ("合计: 4件 ¥25.80", "服务费(10%): 20.30").
//
// # The decision
//
// A receipt is payable when all of these hold:
//   - no not-payable signal (refund, void, report, kitchen or bar ticket,
//     takeaway or delivery slip, card slip, tender or paid-by line with a
//     non-zero amount, payment-method line naming a payment type) shows,
//     unless a keep-payable word (待支付, 未付) on the same line, or alone
//     as a status on the next line, cancels it (paid-by and payment-method
//     lines only). Delivery slips are refused even cash on delivery. A
//     platform voucher (a label naming 美团, 大众点评, 抖音, 口碑, 团购, 核销)
//     is a payment made elsewhere, a paid-by line; a shop's own coupon (优惠券,
//     代金券, 满减) is a discount. A payment word in an item name (an amount
//     after a count: "储值套餐 充1000送200  1  1000.00") is no paid-by line. One exception,
//     only when the set has "remaining_balance": true (off by default, as
//     DESIGN §7 makes any paid-by line with an amount a refusal), a
//     remaining balance: when the only signals are paying labels with
//     amounts (已付定金 2,000.00, 会员卡支付 500.00) printed before a
//     first-tier amount due (应付, 待付金额), the receipt has no change line,
//     and a total printed before the payments less the payments is exactly
//     that amount, the balance is due;
//   - an amount-due label is found; the first tier of "amount_due" that has
//     one decides. Two different amounts in that tier are a conflict, unless
//     the lines between them account for the difference (合计 430.00, 服务费
//     43.00, 总计 473.00; fees and tax added, discounts and payments taken
//     off): then the last one is due. Tiers marked only_without_tender (实付,
//     实收) count only when no tender line exists; deposit_due labels (应付定金)
//     are first-tier amounts due that skip the cross-check below;
//   - the amount is in the home currency: its marker, and every marker on
//     the receipt, maps to currency.code ($, HK$, NT$, MOP, € and EUR do not,
//     unless the merchant maps them); Japanese receipts (¥ is yen) are not,
//     and a receipt in traditional characters (Hong Kong, Macau, Taiwan)
//     needs ¥, RMB, CNY or 人民币: 元 or a bare number there is not yuan;
//   - the amount is above zero;
//   - the cross-check passes: when items are listed (an item line's amount is
//     its line total), or a subtotal, a lower-tier or earlier total is
//     printed, one of them plus tax plus fees minus discounts (minus the
//     payments, for a remaining balance) plus adjustments (四舍五入, signed)
//     equals the amount; savings (已优惠, 会员共节省) may or may not have been
//     taken off already, so both are tried, and so is a discount when item
//     lines print a list price and a lower net total. A label ending in a
//     bracket closed after counts ("积分抵扣(200分)", "优惠券(满150减15)") is
//     the text before the bracket; a bracketed note ("会员9折(菜品)") is no
//     label; numbers inside a label ("满100减20", "第2件5折") are tried
//     without them. Lines under an item that carry a decoy or savings amount (原价：
//     128.00 会员价节省：20.00) are annotations, neither items nor terms.
//
// A receipt with no amount carrying decimals or a currency marker, but an
// integer under an amount-due label (合计: 58), is read in whole yuan; it is
// payable only when its items or a subtotal confirm the amount, since 合计: 5
// may count dishes.
//
// Otherwise Decision.Reason says why.
//
// # Rule set JSON
//
// Every key but "version" may be left out of a merchant's rules. Labels are
// written as printed; they are compacted the same way as the receipt's labels.
// Where a list is searched inside labels or lines (the *_contains lists,
// signal labels and contains, payment types, keep-payable words), words in
// Chinese are found anywhere, words in ASCII only as whole words or words run
// together: "card" is in "Visa Credit Card" and "creditcard" too, but "cash"
// is not in "Cashew" nor "vat" in "Private Room".
//
//	{
//	  "version": "builtin-2026.11.1",
//	  "currency": {"code": "CNY", "markers": {"¥": "CNY", "元": "CNY", "$": "USD", "HK$": "HKD"}},
//	  "amount_due": [
//	    {"labels": ["应收", "应付金额", "待付", "Amount Due", "Balance Due"]},
//	    {"labels": ["实付", "实收"], "only_without_tender": true},
//	    {"labels": ["合计", "总计", "消费合计", "TOTAL", "Grand Total"]}
//	  ],
//	  "subtotal": ["小计", "原价合计", "Subtotal"],
//	  "discount": ["优惠", "折扣", "会员折扣", "抹零", "Discount"],
//	  "discount_total": ["优惠合计"],
//	  "discount_contains": ["discount", "优惠", "折扣"],
//	  "tax": ["税额", "Tax", "VAT"],
//	  "fee": ["打包费", "服务费", "茶位费", "餐位费", "Service"],
//	  "adjustment": ["四舍五入", "尾数调整", "Rounding"],
//	  "deposit_due": ["应付定金", "应收订金"],
//	  "info": ["桌号", "人数", "积分", "会员价", "件数"],
//	  "info_contains": ["余额", "电话"],
//	  "category_suffix": ["小计", "合计"],
//	  "order_no": ["单号", "订单号", "流水号", "Order", "Check"],
//	  "order_no_weak": ["No", "TR"],
//	  "order_decoys": ["桌号", "取餐号", "收银员"],
//	  "order_suffix": ["单号", "流水号"],
//	  "order_suffix_except": ["原", "退", "取餐"],
//	  "tender": {
//	    "received": ["实收", "收款"],
//	    "change": ["找零", "Change"],
//	    "payment_types": ["现金", "微信", "支付宝", "Cash", "Card"],
//	    "method_labels": ["支付方式", "Payment"]
//	  },
//	  "not_payable": [
//	    {"reason": "refund or void", "titles": ["退款单", "作废"], "exact": ["refund", "void"]},
//	    {"reason": "already paid", "labels": ["微信支付", "已付", "Paid"], "titles": ["已支付"],
//	     "except": ["未付"], "keep_cancels": true}
//	  ],
//	  "keep_payable": ["待支付", "未付"]
//	}
//
// What each key means:
//   - amount_due: tiers of amount-due labels, by precedence.
//   - adjustment: signed rounding lines, added as printed; deposit_due:
//     labels of a deposit still to be collected (first tier, no cross-check).
//   - subtotal, discount, discount_total, tax, fee: the cross-check's terms;
//     discount_contains, tax_contains and fee_contains give the role to any
//     label containing the word ("Member Discount", "包间服务费");
//     labels ending in a category_suffix that are not listed anywhere
//     ("热菜小计", "酒水合计") are per-category sums and ignored.
//   - info: labels whose numbers are never amounts or items (decoys);
//     info_contains: the same for any label containing the word.
//   - order_no: order-number labels, tried first; order_no_weak only when no
//     strong label is found; order_decoys never give an order number; a
//     label ending in an order_suffix (销售单号) is an order label unless it
//     contains an order_suffix_except word (原单号, 退款单号). The number may
//     be printed on the line after its label.
//   - tender: see the decision above. A received line (实收 100.00) is a
//     tender line when it names a payment type or the receipt has a change
//     line.
//   - not_payable: signals, each with a reason and its forms: "labels" (a
//     label containing the word, with a non-zero amount), "label_suffixes"
//     (a label ending so, not an amount-due label, with a non-zero amount:
//     余额支付, 抖音支付), "titles" (a line
//     with no amount, at most six characters longer than the word, containing
//     it: "厨房单", "*** 作废 ***"), "exact" (the whole compacted line),
//     "contains" (anywhere), "except" (lines containing these never show the
//     signal), "keep_cancels" (a keep-payable word on the signal's line or
//     the next line cancels it: "支付方式: 微信支付" then "支付状态: 待支付"),
//     "cancelled_by" (one of these anywhere on the receipt turns the signal
//     off; none built in), "amount_last" (the labels count only when
//     their amount ends the line, but for a bracketed note: a platform
//     voucher "美团团购券抵扣 -128.00", not the promotion "抖音团购 99元双人餐"), "payment" (its labels are payment
//     lines: never items, and a remaining balance may follow them).
//   - keep_payable: words that keep a receipt payable despite paid-by lines.
//
// # Merging
//
// Merge adds the merchant's labels to the built-in lists, tier by tier and
// signal by signal (by reason); a marker maps to the merchant's currency
// ("$": "CNY" for a till that prints $ for yuan); "remove": [labels] drops
// built-in labels. The version becomes the merchant's.
package rules
