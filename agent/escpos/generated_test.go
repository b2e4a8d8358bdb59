package escpos_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/internal/receiptgen"
)

// Receipt bodies in UTF-8 (the receiptgen format). The tests encode them
// the way POS software does and expect the decoded lines to equal the
// source lines.
const (
	bodySimplified = `@align center
@size 2x2
川味小馆
@size 1x1
地址：成都市武侯区人民南路四段12号
电话：028-85551234
@align left
单号：20260315-0086    桌号：A12
日期：2026-03-15 12:31  收银员：王芳
--------------------------------
菜品	数量	金额
宫保鸡丁	1	38.00
麻婆豆腐	1	22.00
鱼香肉丝	2	56.00
米饭	3	6.00
酸梅汤	2	16.00
--------------------------------
@bold on
@size 2x2
合计{col 200}138.00
@size 1x1
@bold off
优惠：-8.00
应收金额：130.00
实收现金：150.00
找零：20.00
@align center
谢谢惠顾，欢迎再次光临！
@feed 3
@cut
`
	bodyTraditional = `@align center
台北小吃店
@align left
單號：TP-1024
日期：2026/03/15 18:02
滷肉飯	2	70
牛肉麵	1	150
珍珠奶茶	2	110
燙青菜	1	40
合計：370
現金：400  找零：30
謝謝光臨，歡迎再來！
@cut
`
	// GB18030 four-byte characters: Uyghur dish names (Arabic script),
	// CJK extension B and a rare ideograph.
	bodyUyghur = `@align center
新疆风味餐厅
@align left
单号：XJ-0519
拉条子 لەغمەن	1	32.00
烤包子 سامسا	4	24.00
手抓饭 پولۇ	1	35.00
𠀀𪚥䶮特色菜	1	18.00
合计：109.00
@cut
`
	bodyLatin = `@align center
Café Zürich
@align left
Crème brûlée	1	7,50
Spätzle mit Käse	2	23,00
@@ Bahnhofstraße
Summe: 30,50
@cut
`
)

// sourceLines is what a receipt prints, per its source: text lines with
// TAB and {col N} as one "\t" between columns, "@@" as "@", trailing
// spaces of lines and columns and blank lines dropped.
func sourceLines(body string) []string {
	col := regexp.MustCompile(`\{col \d+\}`)
	tabs := regexp.MustCompile(`( *\t)+`)
	var out []string
	for _, l := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(l, "@@"):
			l = l[1:]
		case strings.HasPrefix(l, "@"):
			continue
		}
		l = tabs.ReplaceAllString(col.ReplaceAllString(l, "\t"), "\t")
		l = strings.TrimRight(strings.TrimLeft(l, "\t"), " \t")
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestReceiptSources decodes every receipt of testdata/receipts (the
// labelled set) and testdata/receipts-check (the independent check set),
// both written in the receiptgen format, and expects the lines of its
// source, whatever the encoding.
func TestReceiptSources(t *testing.T) {
	var files []string
	for _, dir := range []string{"receipts", "receipts-check"} {
		fs, err := filepath.Glob("../../testdata/" + dir + "/*.txt")
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			t.Errorf("no receipt sources in testdata/%s", dir)
		}
		files = append(files, fs...)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		job, err := receiptgen.Encode(src)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		body := string(src)
		if k, _, _ := strings.Cut(body, ":"); k == "encoding" || k == "init" || k == "crlf" {
			_, body, _ = strings.Cut(body, "\n\n")
		}
		var got []string
		for _, r := range escpos.Scan(job, escpos.Options{}).Receipts {
			for _, l := range r.Lines {
				if l.Kind == escpos.LineText {
					got = append(got, l.Text)
				}
			}
		}
		if want := sourceLines(body); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: decoded lines differ from the source:\n got %q\nwant %q", f, got, want)
		}
	}
}

func TestGeneratedReceipts(t *testing.T) {
	tests := []struct {
		name, header, body string
		encoding           string // Job.Encoding
		chinese            bool   // Chinese mode in force at the splice point
		guessed            bool   // a warning says the encoding was guessed
	}{
		{"gbk raw", "encoding: gbk", bodySimplified, "gb18030", false, true},
		{"gbk with FS &", "encoding: gbk-fs", bodySimplified, "gb18030", true, false},
		{"gbk CRLF", "encoding: gbk-fs\ncrlf: yes", bodySimplified, "gb18030", true, false},
		{"gbk traditional characters", "encoding: gbk-fs", bodyTraditional, "gb18030", true, false},
		{"gb18030 four-byte", "encoding: gb18030", bodyUyghur, "gb18030", false, true},
		{"gb18030 simplified", "encoding: gb18030\ninit: no", bodySimplified, "gb18030", false, true},
		{"big5", "encoding: big5", bodyTraditional, "big5", false, true},
		{"big5 CRLF", "encoding: big5\ncrlf: yes", bodyTraditional, "big5", false, true},
		{"utf-8 raw", "encoding: utf8", bodySimplified, "utf-8", false, true},
		{"utf-8 raw traditional", "encoding: utf8", bodyTraditional, "utf-8", false, true},
		{"utf-8 raw uyghur", "encoding: utf8", bodyUyghur, "utf-8", false, true},
		{"utf-8 via FS ( C", "encoding: utf8-fsc", bodySimplified, "utf-8", false, false},
		{"cp437", "encoding: cp437", bodyLatin, "cp437", false, false},
		{"cp858", "encoding: cp858\ncrlf: yes", bodyLatin, "cp858", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job, err := receiptgen.Encode([]byte(tc.header + "\n\n" + tc.body))
			if err != nil {
				t.Fatal(err)
			}
			j := escpos.Scan(job, escpos.Options{})
			if j.Encoding != tc.encoding {
				t.Errorf("Encoding = %q, want %q (warnings %v)", j.Encoding, tc.encoding, j.Warnings)
			}
			if len(j.Receipts) != 1 {
				t.Fatalf("%d receipts, want 1", len(j.Receipts))
			}
			r := j.Receipts[0]
			var got []string
			for _, l := range r.Lines {
				got = append(got, l.Text)
			}
			want := sourceLines(tc.body)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("decoded lines differ from the source:\n got %q\nwant %q", got, want)
			}
			if r.SpliceOffset < 0 || r.CutOffset < 0 || r.State.Chinese != tc.chinese {
				t.Errorf("splice %d (%s), cut %d, chinese %v; want a splice point, a cut, chinese %v",
					r.SpliceOffset, r.SpliceReason, r.CutOffset, r.State.Chinese, tc.chinese)
			}
			guessed := false
			for _, w := range j.Warnings {
				if strings.Contains(w.Msg, "guessed") || strings.Contains(w.Msg, "decoded as") {
					guessed = true
				}
			}
			if guessed != tc.guessed {
				t.Errorf("guess warning = %v, want %v: %v", guessed, tc.guessed, j.Warnings)
			}
		})
	}
}

// TestGeneratedReceiptsConfigured decodes with the printer's configured
// encoding, which wins over detection.
func TestGeneratedReceiptsConfigured(t *testing.T) {
	tests := []struct{ header, body, enc, want string }{
		{"encoding: big5", bodyTraditional, "big5", "big5"},
		{"encoding: gbk", bodySimplified, "gbk", "gb18030"},
		{"encoding: utf8", bodyUyghur, "utf-8", "utf-8"},
		{"encoding: cp437", bodyLatin, "cp437", "cp437"},
	}
	for _, tc := range tests {
		job, err := receiptgen.Encode([]byte(tc.header + "\n\n" + tc.body))
		if err != nil {
			t.Fatal(err)
		}
		j := escpos.Scan(job, escpos.Options{Encoding: tc.enc})
		if j.Encoding != tc.want {
			t.Errorf("%s: Encoding = %q, want %q", tc.enc, j.Encoding, tc.want)
		}
		var got []string
		for _, l := range j.Receipts[0].Lines {
			got = append(got, l.Text)
		}
		if want := sourceLines(tc.body); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: got %q\nwant %q", tc.enc, got, want)
		}
	}
}

// TestGeneratedLineStyle checks alignment, size and bold against the
// directives of the source.
func TestGeneratedLineStyle(t *testing.T) {
	job, err := receiptgen.Encode([]byte("encoding: gbk-fs\n\n" + bodySimplified))
	if err != nil {
		t.Fatal(err)
	}
	lines := escpos.Scan(job, escpos.Options{}).Receipts[0].Lines
	type style struct {
		align escpos.Align
		bold  bool
		w, h  int
	}
	want := map[string]style{
		"川味小馆":            {escpos.AlignCenter, false, 2, 2},
		"电话：028-85551234": {escpos.AlignCenter, false, 1, 1},
		"合计\t138.00":      {escpos.AlignLeft, true, 2, 2},
		"找零：20.00":        {escpos.AlignLeft, false, 1, 1},
		"谢谢惠顾，欢迎再次光临！":    {escpos.AlignCenter, false, 1, 1},
	}
	seen := 0
	for _, l := range lines {
		if w, ok := want[l.Text]; ok {
			seen++
			if got := (style{l.Align, l.Bold, l.Width, l.Height}); got != w {
				t.Errorf("%q: %+v, want %+v", l.Text, got, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of %d lines", seen, len(want))
	}
}
