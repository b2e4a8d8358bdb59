package receiptgen

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// h decodes a hex fixture with spaces and "|" separators.
func h(s string) []byte {
	s = strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEncodeGolden(t *testing.T) {
	src := "encoding: gbk-fs\ncrlf: yes\n\n" +
		"@align center\n" +
		"@size 2x2\n" +
		"合计\n" +
		"@size 1x1\n" +
		"@align left\n" +
		"Tea\t1{col 300}9.50\n" +
		"@@home\n" +
		"@bold on\n" +
		"@feed 3\n" +
		"@cut\n"
	want := h(
		"1B 40" + // ESC @ (init: yes by default)
			"1B 61 01" + // @align center
			"1D 21 11" + // @size 2x2
			"1C 26" + // FS & before the first Chinese text (gbk-fs)
			"BA CF BC C6 | 0D 0A" + // 合计 in GBK, CR LF
			"1D 21 00" + // @size 1x1
			"1B 61 00" + // @align left
			"54 65 61 | 09 | 31 | 1B 24 2C 01 | 39 2E 35 30 | 0D 0A" + // Tea HT 1 ESC $ 300 9.50
			"40 68 6F 6D 65 | 0D 0A" + // @@home prints "@home"
			"1B 45 01" + // @bold on
			"1B 64 03" + // @feed 3
			"1D 56 41 00" + // @cut: GS V 65 0
			"1C 2E") // FS . at the end
	got, err := Encode([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode:\n got % X\nwant % X", got, want)
	}
}

func TestEncodeDirectives(t *testing.T) {
	tests := []struct {
		name, src string
		want      []byte
	}{
		{"no header, no init", "init: no\n\nA", h("41 0A")},
		{"default init", "A\n", h("1B 40 41 0A")},
		{"body line looking like a header", "Total: 5\n", append(h("1B 40"), "Total: 5\n"...)},
		{"empty line prints LF", "init: no\n\nA\n\nB\n", h("41 0A 0A 42 0A")},
		{"cut forms", "init: no\n\n@cut full\n@cut partial\n@cut esci", h("1D 56 00 1D 56 01 1B 69")},
		{"kick and init", "init: no\n\n@kick\n@init", h("1B 70 00 19 FA 1B 40")},
		{"mode underline codepage", "init: no\n\n@mode 56\n@underline on\n@codepage 16", h("1B 21 38 1B 2D 01 1B 74 10")},
		{"lf", "init: no\n\n@lf 3", h("0A 0A 0A")},
		{"raw", "init: no\n\n@raw 1b 40 0a", h("1B 40 0A")},
		{"chinese", "init: no\n\n@chinese on\n@chinese off", h("1C 26 1C 2E")},
		{"barcode", "init: no\n\n@barcode 123", h("1D 6B 49 05 7B 42 31 32 33")},
		{"qr", "init: no\n\n@qr AB", h("1D286B0400314132 00 1D286B03003143 06 1D286B03003145 31 1D286B0500315030 4142 1D286B0300315130")},
		{"logo 10x2", "init: no\n\n@logo 10 2", h("1D 76 30 00 02 00 02 00 FF 00 FF 00")},
		{"utf8-fsc", "encoding: utf8-fsc\ninit: no\n\n¥1", h("1C 28 43 02 00 30 02 C2 A5 31 0A")},
		{"cp858", "encoding: cp858\n\n€ü", h("1B 40 1B 74 13 D5 81 0A")},
		{"gb18030 four-byte", "encoding: gb18030\ninit: no\n\n𠀀", h("95 32 82 36 0A")},
		{"big5", "encoding: big5\ninit: no\n\n合計", h("A6 58 AD 70 0A")},
		{"literal brace", "init: no\n\n{x}{col}", h("7B 78 7D 7B 63 6F 6C 7D 0A")},
		{"CRLF source", "init: no\r\n\r\nA\r\nB\r\n", h("41 0A 42 0A")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got % X\nwant % X", got, tc.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown encoding", "encoding: koi8\n\nA", `receiptgen: line 1: unknown encoding "koi8"`},
		{"unknown key", "encoding: gbk\nfont: b\n\nA", `receiptgen: line 2: unknown header key "font"`},
		{"bad yes/no", "crlf: maybe\n\nA", `receiptgen: line 1: crlf: want yes or no, got "maybe"`},
		{"unknown directive", "A\n@blink on", "receiptgen: line 2: unknown directive @blink"},
		{"gbk has no four-byte characters", "encoding: gbk\n\n𠀀", `receiptgen: line 3: '𠀀' cannot be written in gbk`},
		{"ascii", "encoding: ascii\n\né", `receiptgen: line 3: "é" is not ASCII`},
		{"size", "@size 9x1", `receiptgen: line 1: @size: want WxH with W and H 1..8, got "9x1"`},
		{"raw", "@raw 1g", `receiptgen: line 1: @raw: bad hex "1g"`},
		{"cut", "@cut half", `receiptgen: line 1: @cut: want nothing, full, partial or esci, got "half"`},
		{"col range", "{col 70000}", "receiptgen: line 1: {col 70000}: position out of range 0..65535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode([]byte(tc.src))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want prefix %q", err, tc.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
		})
	}
}
