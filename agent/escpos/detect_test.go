package escpos

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"printpay.dev/printpay/internal/receiptgen"
)

// TestDetectShort: even a single short line, written the way POS software
// writes it without any hint in the job, reads back as written.
func TestDetectShort(t *testing.T) {
	phrases := map[string][]string{
		"gbk":     {"合计：68.00", "谢谢", "牛肉面 1 28.00", "总计 5.00", "单号：123", "奶茶", "找零", "鸡排饭", "卤肉饭", "桌号 A1", "现金", "欢迎光临", "中", "茶"},
		"gbk-fs":  {"合计：68.00", "谢谢", "欢迎光临"},
		"gb18030": {"合计：68.00", "拉条子 لەغمەن", "𠀀"},
		"big5":    {"合計：68", "謝謝", "牛肉麵 1 28", "總計 5", "單號：123", "奶茶", "找零", "雞排飯", "滷肉飯", "桌號 A1", "現金", "歡迎光臨"},
		"utf8":    {"合计：68.00", "謝謝", "Café 3.50", "Grüße", "Spätzle mit Käse", "Ñandú", "Übergröße", "€ 5", "中"},
		"cp437":   {"Café 3.50", "Grüße", "Ñandú", "Übergröße"},
	}
	for enc, list := range phrases {
		for _, txt := range list {
			b, err := receiptgen.Encode([]byte("encoding: " + enc + "\n\n" + txt + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := Scan(b, Options{}).Receipts[0].Lines[0].Text; got != txt {
				t.Errorf("%s %q read as %q", enc, txt, got)
			}
		}
	}
}

// TestDetectUTF8OrGBK: bytes that are valid UTF-8 and valid GBK at once
// read the way they were written. Latin-1 symbols and letters from two
// UTF-8 bytes where Latin text puts them are UTF-8; short GBK words whose
// bytes happen to be valid UTF-8 stay Chinese.
func TestDetectUTF8OrGBK(t *testing.T) {
	tests := []struct{ enc, text string }{
		// C2 A5 is ¥ in UTF-8 and 楼 in GBK.
		{"utf8", "Grand Total           ¥ 78.00"},
		{"utf8", "Total ¥78.00"},
		{"utf8", "Total £12.50"},
		{"utf8", "Total € 9.90"},
		{"utf8", "Crème brûlée 7.50"},
		{"utf8", "Café 3.50"},
		{"utf8", "Oven 180°C"},
		{"utf8", "Pack 2 × 6"},
		{"utf8", "Latte · Large"},
		{"utf8", "Coca-Cola® 330ml"},
		// GBK whose bytes are valid UTF-8: 2¥, лл, һԪ, Сʱ, ţƤ, ·.
		{"gbk", "2楼"},
		{"gbk", "谢谢"},
		{"gbk", "一元"},
		{"gbk", "小时"},
		{"gbk", "牛皮"},
		{"gbk", "3路"},
		{"gbk", "卤 2"},
		{"gbk", "每kg"},
		// Full-width spaces and punctuation (A1A1–A1FE, A3A0–A3FE) are
		// Chinese text, not noise.
		{"gbk", "合　　计：　　　　　　　76.00"},
		{"gbk", "单　　号：B-0716"},
		{"gbk", "　　　　"},
		{"gbk", "【外卖】《菜单》“好”"},
	}
	for _, tc := range tests {
		b, err := receiptgen.Encode([]byte("encoding: " + tc.enc + "\n\n" + tc.text + "\n@cut\n"))
		if err != nil {
			t.Fatal(err)
		}
		j := Scan(b, Options{})
		want := map[string]string{"utf8": "utf-8", "gbk": "gb18030"}[tc.enc]
		if got := j.Receipts[0].Lines[0].Text; got != tc.text || j.Encoding != want {
			t.Errorf("%s %q read as %q (%s)", tc.enc, tc.text, got, j.Encoding)
		}
	}
}

func TestLookupEncoding(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GBK", "gb18030"}, {"gb2312", "gb18030"}, {"GB18030", "gb18030"}, {"Big5", "big5"},
		{"UTF8", "utf-8"}, {"utf-8", "utf-8"}, {"CP437", "cp437"}, {"PC437", "cp437"},
		{"cp858", "cp858"}, {"windows-1252", "cp1252"}, {"ISO-8859-15", "iso-8859-15"},
		{"cp737", "cp737"}, {"cp857", "cp857"}, {"ascii", "cp437"},
	}
	for _, tc := range tests {
		if got, ok := LookupEncoding(tc.in); !ok || got != tc.want {
			t.Errorf("LookupEncoding(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	if _, ok := LookupEncoding("ebcdic"); ok {
		t.Error("LookupEncoding(ebcdic) ok")
	}
}

func TestInternationalSets(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"UK pound", job("x:1B5203", "#5 $5", "x:0A"), "£5 $5"},
		{"China yen", job("x:1B520F", "$68.00", "x:0A"), "¥68.00"},
		{"Japan yen", job("x:1B5208", "\\500", "x:0A"), "¥500"},
		{"Germany", job("x:1B5202", "Gr}e [pfel", "x:0A"), "Grüe Äpfel"},
		// GBK trail bytes in 40–7E are part of characters, never remapped.
		{"China in Chinese mode", job("x:1C26 1B520F", "x:B5A5 BAC5", "$1", "x:0A"), "单号¥1"},
		{"ESC @ resets", job("x:1B5203", "x:1B40", "#1", "x:0A"), "#1"},
	}
	for _, tc := range tests {
		if got := Scan(tc.data, Options{}).Receipts[0].Lines[0].Text; got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	for n, set := range intlSets {
		if set == nil {
			continue
		}
		k := 0
		for _, r := range set {
			if r != 0 {
				k++
			}
		}
		if k != 12 {
			t.Errorf("ESC R %d maps %d positions, want 12", n, k)
		}
	}
}

// TestDetectPage0Chinese: ESC t 0 followed by GBK, as POS software for
// Chinese printers sends it, reads as Chinese; CP437 text under ESC t 0
// stays CP437.
func TestDetectPage0Chinese(t *testing.T) {
	gbk, err := receiptgen.Encode([]byte("encoding: gbk\n\n@codepage 0\n合计：68.00\n谢谢惠顾\n"))
	if err != nil {
		t.Fatal(err)
	}
	j := Scan(gbk, Options{})
	if got := j.Receipts[0].Lines[0].Text; got != "合计：68.00" || j.Encoding != "gb18030" {
		t.Errorf("GBK under ESC t 0: %q (%s), want 合计：68.00 (gb18030)", got, j.Encoding)
	}
	latin, err := receiptgen.Encode([]byte("encoding: cp437\n\n@codepage 0\nCafé crème 3,50\nÜbergröße\n"))
	if err != nil {
		t.Fatal(err)
	}
	j = Scan(latin, Options{})
	if got := j.Receipts[0].Lines[0].Text; got != "Café crème 3,50" || j.Encoding != "cp437" {
		t.Errorf("CP437 under ESC t 0: %q (%s)", got, j.Encoding)
	}
}

// TestAppendGBMatchesXText: the table-driven GB18030 reading equals the
// x/text decoder's on every two-byte pair, on four-byte sequences, on
// broken sequences and on random bytes.
func TestAppendGBMatchesXText(t *testing.T) {
	d := &decoder{}
	check := func(src []byte) {
		t.Helper()
		want := appendTransform(nil, simplifiedchinese.GB18030.NewDecoder(), src)
		if got := d.appendGB(nil, src); !bytes.Equal(got, want) {
			t.Fatalf("% X: %q, x/text %q", src, got, want)
		}
	}
	for lead := 0x80; lead <= 0xFF; lead++ {
		for trail := 0x00; trail <= 0xFF; trail++ {
			check([]byte{byte(lead), byte(trail)})
			check([]byte{'a', byte(lead), byte(trail), 'b'})
		}
	}
	check([]byte("\x81\x30\x81\x30 \x95\x32\x82\x36 \xb2\xe8\x81\x30 \x81"))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = 0x30 + byte(rng.IntN(16)) // four-byte sequence second and fourth bytes
			case 1:
				b[i] = []byte{0x7F, 0x80, 0x81, 0xFE, 0xFF, 0x40, 0xA1}[rng.IntN(7)]
			default:
				b[i] = byte(rng.IntN(256))
			}
		}
		check(b)
	}
}

// TestMangledRunOnePass: the one-pass check finds what a search for
// EF BF BD followed by the Latin-1 doubling check finds.
func TestMangledRunOnePass(t *testing.T) {
	ref := func(run []byte) string {
		if bytes.Contains(run, []byte{0xEF, 0xBF, 0xBD}) {
			return ReasonMangled + " (UTF-8 replacement characters)"
		}
		doubled, streak, streaks := 0, 0, 0
		for i := 0; i+1 < len(run); i++ {
			c := run[i]
			if (c == 0xC2 || c == 0xC3) && run[i+1] >= 0x80 && run[i+1] <= 0xBF {
				if c == 0xC3 && (run[i+1] == 0x82 || run[i+1] == 0x83) && i+3 < len(run) && run[i+2] == 0xC2 && run[i+3] >= 0x80 && run[i+3] <= 0xBF {
					doubled++
				}
				streak++
				if streak == 4 {
					streaks++
				}
				i++
				continue
			}
			streak = 0
		}
		if doubled >= 2 || streaks >= 2 {
			return ReasonMangled + " (Latin-1 doubled UTF-8)"
		}
		return ""
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0xC2, 0xC3, 0x82, 0x83, 0xA9, 0xEF, 0xBF, 0xBD, 'a', 0x80, 0xC4}
	for k := range 50000 {
		b := make([]byte, rng.IntN(16+k%32))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
			if rng.IntN(k%4+1) != 0 { // long stretches without C2, C3, EF
				b[i] = []byte{'a', 0x80, 0xC4, 0xBF, 0xD0}[rng.IntN(5)]
			}
		}
		if got, want := mangledRun(b), ref(b); got != want {
			t.Fatalf("% X: %q, want %q", b, got, want)
		}
	}
}
