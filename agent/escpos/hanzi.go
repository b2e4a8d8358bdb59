package escpos

// Common Chinese characters, simplified and traditional: the most frequent
// characters of general text plus the vocabulary of receipts (amounts,
// payment, food, addresses). Decoding Chinese bytes with the wrong table
// (GBK read as Big5 or the reverse) yields valid but rare characters, so
// the share of decoded characters found here tells the readings apart.
const commonSimplified = "" +
	"的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持音价类" +
	"零壹贰叁肆伍陆柒捌玖拾佰仟角号店址话谢惠顾欢迎临单订桌台编序找赎现刷卡券码扫微支付宝银行储值折扣优会积余额票税抬备注卖堂食包配送顾客户姓商称规格杯瓶碗盘斤克盒套只菜米饭面饺馒粥汤鸡鸭鱼肉牛羊猪排骨虾蟹蛋豆腐青土茄番西柿瓜辣椒葱姜蒜酱醋油盐糖奶茶咖啡拿铁汁乐雪碧啤酒冰热减甜酸麻香炒烧烤煎炸蒸煮炖焖卤凉拌宫婆锅烫串饼蛋糕披萨汉堡薯沙拉治餐早午晚夜宵厅楼超便层街县镇村广场厦款退货换签确认印补存根厨催叫取牌账结算消费明细清应已待抹舍含增值专联份两小计合计实收应收找零欢迎光临谢谢惠顾收银员服务费日期时间地址电话订单号流水数量单价金额小票会员积分余额优惠折扣现金微信支付宝团购外卖堂食打包配送备注"

const commonTraditional = "" +
	"的一是不了人我在有他這中大來上國個到說們為子和你地出道也時年得就那要下以生會自著去之過家學對可她裡後小麼心多天而能好都然沒日於起還發成事只作當想看文無開手十用主行方又如前所本見經頭面公同三已老從動兩長知民樣現分將外但身些與高意進把法此實回二理美點月明其種聲全工己話兒者向情部正名定女問力機給等幾很業最間新什打便位因重被走電四第門相次東政海口使教西再平真聽世氣信北少關並內加化由卻代軍產入先山五太水萬市眼體別處總才場師書比住員九笑性通目華報立馬命張活難神數件安表原車白應路期叫死常提感金何更反合放做系計或司利受光王果親界及今京務制解各任至清物台象記邊共風戰乾接它許八特覺望直服毛林題建南度統色字請交愛讓認算論百吃義科怎元社術結六功指思非流每青管夫連遠資隊跟帶花快條院變聯言權往展該領傳近留紅治決周保達辦運武半候七必城父強步完革深區即求品士轉量空甚眾技輕程告江語英基派滿式李息寫呢識極令黃德收臉錢黨倒未持音價類" +
	"零壹貳參肆伍陸柒捌玖拾佰仟角號店址謝惠顧歡迎臨單訂桌臺編序找贖現刷卡券碼掃微支付寶銀行儲值折扣優會積餘額票稅備註賣堂食包配送客戶姓商稱規格杯瓶碗盤斤克盒套隻菜米飯麵餃饅粥湯雞鴨魚肉牛羊豬排骨蝦蟹蛋豆腐青土茄番瓜辣椒蔥薑蒜醬醋油鹽糖奶茶咖啡拿鐵汁樂雪碧啤酒冰熱減甜酸麻香炒燒烤煎炸蒸煮燉燜滷涼拌宮婆鍋燙串餅糕披薩漢堡薯沙拉治餐早午晚夜宵廳樓超層街縣鎮村廣場廈款退貨換簽確認列印補存根廚催取牌帳結算消費明細清應已待含營統珍珠便當籠幣灣港澳"

// hanBase and the bit set cover the CJK Unified Ideographs block.
const (
	hanBase = 0x4E00
	hanEnd  = 0xA000
)

var commonHan = func() (set [(hanEnd - hanBase) / 64]uint64) {
	for _, s := range [...]string{commonSimplified, commonTraditional} {
		for _, r := range s {
			if r >= hanBase && r < hanEnd {
				i := r - hanBase
				set[i/64] |= 1 << (i % 64)
			}
		}
	}
	return set
}()

// isCommonHan reports whether r is one of the common characters above.
func isCommonHan(r rune) bool {
	if r < hanBase || r >= hanEnd {
		return false
	}
	i := r - hanBase
	return commonHan[i/64]&(1<<(i%64)) != 0
}
