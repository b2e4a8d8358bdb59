package escpos

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"printpay.dev/printpay/internal/receiptgen"
)

// FuzzSplit: any bytes tokenize into tokens that tile the input exactly,
// and streaming the bytes in chunks (sizes drawn from the input's own
// bytes) gives the whole-buffer tokens.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("\x1b@Hello\n\x1dVA\x03"), uint8(3))
	f.Add([]byte("\x1d8L\xff\xff\xff\x7f0p"), uint8(1))
	f.Add([]byte("\x1b&\x03\x20\x7e\x02"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole := tokens(data)
		checkTiling(t, data, whole)
		for _, tok := range whole {
			if tok.Kind == KindCmd && tok.Len == 1 && !tok.Trunc {
				t.Fatalf("one-byte command at %d not marked truncated", tok.Off)
			}
		}
		i := 0
		chunk := func() int {
			i++
			return int(step) + i%3 - 1
		}
		if got := mergeText(streamTokens(data, chunk)); !equalTokens(got, mergeText(whole)) {
			t.Fatalf("streamed tokens differ from whole-buffer tokens")
		}
	})
}

// FuzzScan: any bytes give a sound Job, and the input is not modified.
func FuzzScan(f *testing.F) {
	f.Add([]byte("\x1b@\x1c&\xba\xcf\xbc\xc6\n\x1dVA\x00"))
	f.Add([]byte("\x1bL\x1b$\x10\x00text\x0c\x1dV\x00after"))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		j := Scan(data, Options{})
		checkJob(t, "fuzz", data, j)
		if !bytes.Equal(orig, data) {
			t.Fatal("Scan modified its input")
		}
		for _, r := range j.Receipts {
			for _, l := range r.Lines {
				if !utf8.ValidString(l.Text) {
					t.Fatalf("line %q is not valid UTF-8", l.Text)
				}
			}
		}
	})
}

// FuzzDecode: text runs in every encoding, configured or detected, decode
// to valid UTF-8 without panics, and the choice is one of ours.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\xba\xcf\xbc\xc6\xa3\xba68.00"), uint8(0))
	f.Add([]byte("\x81\x30\x81\x30\xa6\x58"), uint8(1))
	f.Add([]byte("Caf\x82 \xc3\xa9"), uint8(2))
	for _, src := range []string{
		"encoding: gbk\n\n合计：68.00\n谢谢惠顾\n",
		"encoding: big5\n\n合計：370\n謝謝光臨\n",
		"encoding: gb18030\n\n拉条子 لەغمەن 𠀀\n",
		"encoding: utf8\n\n合计 Café\n",
	} {
		b, err := receiptgen.Encode([]byte(src))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(len(b)))
	}
	encs := []string{"", "gb18030", "big5", "utf-8", "cp437", "cp858", "cp1252", "katakana-nope"}
	prefixes := [][]byte{nil, {0x1C, 0x26}, {0x1C, 0x28, 0x43, 0x02, 0x00, 0x30, 0x02}, {0x1B, 0x74, 0x01}, {0x1B, 0x74, 0x13}, {0x1B, 0x74, 0xFF}}
	f.Fuzz(func(t *testing.T, text []byte, sel uint8) {
		job := append(append([]byte{}, prefixes[int(sel)%len(prefixes)]...), text...)
		j := Scan(job, Options{Encoding: encs[int(sel/8)%len(encs)]})
		if j.Encoding == "" {
			t.Fatal("no encoding reported")
		}
		for _, r := range j.Receipts {
			for _, l := range r.Lines {
				if !utf8.ValidString(l.Text) {
					t.Fatalf("line %q is not valid UTF-8", l.Text)
				}
			}
		}
	})
}
