package escpos

import (
	"strings"
	"testing"
)

// job builds a job from parts: "x:…" is hex, anything else is text.
func job(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		if h, ok := strings.CutPrefix(p, "x:"); ok {
			b = append(b, hx(h)...)
		} else {
			b = append(b, p...)
		}
	}
	return b
}

func texts(r Receipt) []string {
	var out []string
	for _, l := range r.Lines {
		if l.Kind == LineText {
			out = append(out, l.Text)
		} else {
			out = append(out, "["+l.Kind.String()+"]")
		}
	}
	return out
}

func TestScanLines(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"LF", job("a", "x:0A", "b", "x:0A"), []string{"a", "b"}},
		{"CR only", job("a", "x:0D", "b", "x:0D"), []string{"a", "b"}},
		{"CRLF is one break", job("a", "x:0D0A", "x:0D0A", "b"), []string{"a", "b"}},
		{"ESC d and ESC J break lines", job("a", "x:1B6403", "b", "x:1B4A18", "c"), []string{"a", "b", "c"}},
		{"FF breaks a line", job("a", "x:0C", "b"), []string{"a", "b"}},
		{"HT columns", job("Tea", "x:09", "2", "x:09", "9.00", "x:0A"), []string{"Tea\t2\t9.00"}},
		{"ESC $ and ESC \\ columns, never doubled", job("合", "x:1B249000", "x:09", "x:1B5C1000", "5", "x:0A"), []string{"合\t5"}},
		{"column at line start adds no tab", job("x:09", "x:1B241000", "a", "x:0A"), []string{"a"}},
		{"spaces before a column and at the end trimmed", job("a   ", "x:09", "b  ", "x:0A"), []string{"a\tb"}},
		{"blank lines dropped", job("x:0A0A", "   ", "x:0A", "a"), []string{"a"}},
		{"ESC @ discards unprinted text", job("junk", "x:1B40", "a", "x:0A"), []string{"a"}},
		{"text split by style commands is one line", job("To", "x:1B4501", "tal", "x:1B4500", " 5", "x:0A"), []string{"Total 5"}},
		{"image, barcode and QR lines", job("x:1D7630000100010080", "x:1D6B490541424344 45", "x:1D286B0500315030 5859", "x:1D286B0300315130"), []string{"[image]", "[barcode]", "[qr]"}},
		{"stored graphics print only with fn 50", job("x:1D284C0B0030703001013108000100FF", "a", "x:0A", "x:1D284C02003032"), []string{"a", "[image]"}},
		{"PDF417 is a barcode line, not QR", job("x:1D286B0500305030 5859", "x:1D286B0300305130"), []string{"[barcode]"}},
		{"lone DLE is not text", job("a", "x:10", "b"), []string{"ab"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := Scan(tc.data, Options{})
			got := texts(j.Receipts[0])
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("lines %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScanStyle(t *testing.T) {
	data := job(
		"x:1B6101", "x:1D2111", "BIG", "x:0A", // centred, 2x2
		"x:1D2100", "x:1B6100", "x:1B2138", "Mode", "x:0A", // ESC ! 0x38: bold, double height and width
		"x:1B2100", "x:1B4501", "bold", "x:0A",
		"x:1B4500", "x:1B6132", "right", "x:0A", // ESC a '2'
		"x:1B6100", "x:1D2177", "max", "x:0A", // 8x8
	)
	type style struct {
		align Align
		bold  bool
		w, h  int
	}
	want := []style{{AlignCenter, false, 2, 2}, {AlignLeft, true, 2, 2}, {AlignLeft, true, 1, 1}, {AlignRight, false, 1, 1}, {AlignLeft, false, 8, 8}}
	lines := Scan(data, Options{}).Receipts[0].Lines
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		if got := (style{l.Align, l.Bold, l.Width, l.Height}); got != want[i] {
			t.Errorf("line %q: %+v, want %+v", l.Text, got, want[i])
		}
	}
}

func TestScanReceipts(t *testing.T) {
	type rc struct {
		start, end, cut, splice int
		reason                  string
	}
	tests := []struct {
		name string
		data []byte
		want []rc
	}{
		{
			// "A\n" [0,2) then ESC d 3 [2,5), GS V 65 0 [5,9): the LF
			// that ends "A" belongs to its line; the block goes after
			// it, at the start of a line, before the tail ESC d.
			"walk back over the tail",
			job("A", "x:0A", "x:1B6403", "x:1D564100"),
			[]rc{{0, 9, 5, 2, ""}},
		},
		{
			// CR LF is one line end: the block goes after both.
			"CR LF ends the last line",
			job("A", "x:0D0A", "x:0D0A 0D0A", "x:1D5601"),
			[]rc{{0, 10, 7, 3, ""}},
		},
		{
			// Blank text and the LF after it are tail.
			"blank line is tail",
			job("A", "x:0A", "  ", "x:0A", "x:1D5601"),
			[]rc{{0, 8, 5, 2, ""}},
		},
		{
			// The last text has no line end before the cut: the block
			// goes right after it and must start with its own LF.
			"last text without a line end",
			job("A", "x:1B4500", "x:1D5601"),
			[]rc{{0, 7, 4, 1, ""}},
		},
		{
			// After a barcode the print position is at the start of a
			// line: every LF after it is a trailing feed.
			"LF after a barcode is tail",
			job("x:1D6B04 41 00", "x:0A", "x:1D5601"),
			[]rc{{0, 9, 6, 5, ""}},
		},
		{
			// State setters between content and cut are tail too.
			"state setters are tail",
			job("A", "x:0A", "x:1B6100 1D2100 1B4500", "x:1D5600"),
			[]rc{{0, 14, 11, 2, ""}},
		},
		{
			// Drawer kick and ESC @ after the cut stay with the receipt.
			"bytes after the last cut that print nothing",
			job("A", "x:0A", "x:1D5600", "x:1B700019FA", "x:1B40", "x:00 00"),
			[]rc{{0, 14, 2, 2, ""}},
		},
		{
			"text after the last cut starts a receipt",
			job("A", "x:0A", "x:1D5600", "B", "x:0A"),
			[]rc{{0, 5, 2, 2, ""}, {5, 7, -1, 7, ""}},
		},
		{
			// GS V 1 then GS V 0 with nothing between: one receipt, the
			// splice before the first cut.
			"two cuts in a row",
			job("A", "x:0A", "x:1D5601", "x:1D5600"),
			[]rc{{0, 8, 2, 2, ""}},
		},
		{
			"two receipts",
			job("x:1B40", "A", "x:0A", "x:1D564200", "x:1B40", "B", "x:0A", "x:1D564200"),
			[]rc{{0, 8, 4, 4, ""}, {8, 16, 12, 12, ""}},
		},
		{
			// Without a cut: before the trailing feeds, ESC @, drawer kick
			// and status queries.
			"no cut",
			job("A", "x:0A0A", "x:1B6405", "x:1B40", "x:100401", "x:1B700019FA"),
			[]rc{{0, 16, -1, 2, ""}},
		},
		{
			"page mode at the cut",
			job("x:1B4C", "A", "x:1B0C", "x:1D5600", "x:1B53"),
			[]rc{{0, 10, 5, -1, "page mode"}},
		},
		{
			// FF leaves page mode: the block goes after it.
			"page mode ended by FF",
			job("x:1B4C", "A", "x:0C", "x:0A", "x:1D5600"),
			[]rc{{0, 8, 5, 4, ""}},
		},
		{
			// GS ( 0 declares 0x1D30 bytes and runs past the end: the
			// printer reads the GS V 48 the analyser resynchronises on,
			// and the "0" after it, as its data. The point is found by
			// walking back from that command; no later receipt gets one.
			"command running past the end swallows the cut",
			[]byte("0\x1d(00\x1dV00"),
			[]rc{{0, 8, 5, 1, ""}, {8, 9, -1, -1, ReasonSwallowed}},
		},
		{
			// A GS v 0 image declaring 2x16 bytes with 2 present: the
			// block goes before it, after the LF that ends the text.
			"truncated image at the end",
			job("Total 5.00", "x:0A", "x:1B6403", "x:1D763000 0200 1000 FFFF"),
			[]rc{{0, 24, -1, 11, ""}},
		},
		{"empty job", nil, []rc{{0, 0, -1, -1, "nothing printed"}}},
		{"only feeds", job("x:1B40 0A0A"), []rc{{0, 4, -1, -1, "nothing printed"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := Scan(tc.data, Options{})
			checkJob(t, tc.name, tc.data, j)
			var got []rc
			for _, r := range j.Receipts {
				got = append(got, rc{r.Start, r.End, r.CutOffset, r.SpliceOffset, r.SpliceReason})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("receipts %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("receipt %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestScanSpliceState(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want State
	}{
		{
			// The state of the last content, not the reset that follows it.
			"state of the last line",
			job("x:1B6101 1D2111 1B4501", "TOTAL 5.00", "x:0A", "x:1B6100 1D2100 1B4500", "x:1D564100"),
			State{Align: AlignCenter, Width: 2, Height: 2, Bold: true},
		},
		{
			"code page and Chinese mode",
			job("x:1B7413 1C26 1B2D01 1D4201", "A", "x:0A", "x:1D5600"),
			State{Width: 1, Height: 1, CodePage: 19, Chinese: true, Underline: 1, Reverse: true},
		},
		{
			"UTF-8 mode and ESC ! mode",
			job("x:1C2843020030 02 1B2130", "A", "x:0A", "x:1D5600"),
			State{Width: 2, Height: 2, Mode: 0x30, UTF8: true},
		},
		{
			// Text with no line end before the cut: the block must
			// begin with its own LF.
			"mid-line",
			job("x:1B4501", "A", "x:1B4500", "x:1D5600"),
			State{Width: 1, Height: 1, Bold: true, MidLine: true},
		},
		{
			// An image ends at a line boundary: no LF needed.
			"after an image",
			job("Logo below", "x:0A", "x:1D7630000100010080", "x:1B6403", "x:1D5600"),
			State{Width: 1, Height: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Scan(tc.data, Options{}).Receipts[0]
			if r.SpliceOffset < 0 {
				t.Fatalf("no splice point: %s", r.SpliceReason)
			}
			if r.State != tc.want {
				t.Errorf("state %+v\nwant  %+v", r.State, tc.want)
			}
		})
	}
}

func TestScanJobKinds(t *testing.T) {
	band := "x:1D7630000200180" + strings.Repeat("0", 1) + strings.Repeat("AA", 48)
	tests := []struct {
		name       string
		data       []byte
		rasterOnly bool
		star       bool
		reason     string
	}{
		{
			// Generic Chinese driver output: vendor init, raster bands
			// and ESC J feeds, no text (escpos.md §10).
			"raster-only driver job",
			job("x:1B40", "x:1D55420218", band, "x:1B4A18", band, "x:1B4AFF", "x:1D53 1B72 1D54"),
			true, false, "raster-only job",
		},
		{
			// Star Line Mode: ESC GS a n alignment, ESC GS t code page,
			// cut ESC d 3.
			"Star Line Mode",
			job("x:1B40", "x:1B1D6101", "Star receipt", "x:0A", "x:1B1D7400", "Total 5.00", "x:0A", "x:1B6403"),
			false, true, "Star Line Mode",
		},
		{
			"mangled by a UTF-8 layer",
			job("x:1B40", "Caf", "x:EFBFBD", " 3.50", "x:0A", "x:1D5600"),
			false, false, "mangled text capture (UTF-8 replacement characters)",
		},
		{
			"Latin-1 doubled",
			job("x:1B40", "Gr", "x:C383C2BC", "n ", "x:C383C2A9", "t", "x:0A", "x:1D5600"),
			false, false, "mangled text capture (Latin-1 doubled UTF-8)",
		},
		{
			"plain ESC/POS with GS commands",
			job("x:1B40", "x:1D2111", "A", "x:0A", "x:1B6403", "x:1D5600"),
			false, false, "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := Scan(tc.data, Options{})
			checkJob(t, tc.name, tc.data, j)
			if j.RasterOnly != tc.rasterOnly || j.Star != tc.star {
				t.Errorf("raster-only %v star %v, want %v %v", j.RasterOnly, j.Star, tc.rasterOnly, tc.star)
			}
			if r := j.Receipts[len(j.Receipts)-1]; r.SpliceReason != tc.reason {
				t.Errorf("splice %d reason %q, want %q", r.SpliceOffset, r.SpliceReason, tc.reason)
			}
		})
	}
}

func TestScanEncodings(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		opt  Options
		enc  string
		text string
	}{
		{"CP437 default", job("x:1B40", "Caf", "x:82", "x:0A"), Options{}, "cp437", "Café"},
		{"ESC t 16 is CP1252", job("x:1B7410", "x:80", " 5", "x:0A"), Options{}, "cp1252", "€ 5"},
		{"ESC t 19 is CP858", job("x:1B7413", "x:D5", " 5", "x:0A"), Options{}, "cp858", "€ 5"},
		{"ESC t 17 is CP866", job("x:1B7411", "x:82A5E0AEA9", "x:0A"), Options{}, "cp866", "Верой"},
		{"ESC t 1 is katakana", job("x:1B7401", "x:B1B2B3", "x:0A"), Options{}, "katakana", "ｱｲｳ"},
		{"configured single-byte page", job("x:80", " 5", "x:0A"), Options{Encoding: "cp1252"}, "cp1252", "€ 5"},
		{"configured gbk reads as GB18030", job("x:BACF BCC6", "x:0A"), Options{Encoding: "GBK"}, "gb18030", "合计"},
		{"FS & GBK", job("x:1C26", "x:BACFBCC6 A3BA", "68.00", "x:0A"), Options{}, "gb18030", "合计：68.00"},
		{"GB18030 four-byte in Chinese mode", job("x:1C26", "x:81308130", "x:0A"), Options{}, "gb18030", "\u0080"},
		{"FS ( C UTF-8", job("x:1C2843020030 02", "x:E59088E8AEA1", "x:0A"), Options{}, "utf-8", "合计"},
		{"FS ( C back to single-byte", job("x:1C2843020030 02", "x:1C2843020030 01", "x:82", "x:0A"), Options{}, "cp437", "é"},
		{"unknown configured name detects", job("x:1B40", "A", "x:0A"), Options{Encoding: "ebcdic"}, "cp437", "A"},
		{"a lead byte before a command does not swallow it", job("x:1C26", "x:BACF BC", "x:0A", "B", "x:0A"), Options{}, "gb18030", "合\uFFFD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := Scan(tc.data, tc.opt)
			if j.Encoding != tc.enc {
				t.Errorf("encoding %q, want %q", j.Encoding, tc.enc)
			}
			if got := j.Receipts[0].Lines[0].Text; got != tc.text {
				t.Errorf("text %q, want %q", got, tc.text)
			}
		})
	}
}

func TestScanWarnings(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		off  int
		msg  string
	}{
		{"unknown command", job("A", "x:1D55", "x:0A"), 1, "unknown command GS U skipped as 2 bytes"},
		{"truncated image", job("A", "x:0A", "x:1D76300010001000FFFF"), 2, "GS v: truncated, 10 bytes to the end of the job"},
		{"length over the cap", job("x:1D384CFFFFFFFF3070", "A"), 0, "GS 8 L: declared length over 4194304 bytes; treated as corrupt"},
		{"guessed Chinese", job("x:1B40", "x:BACFBCC6A3BA", "68.00", "x:0A"), 2, "no FS & in the job: Chinese text guessed, decoded as gb18030"},
		{"unsupported code page", job("x:1B7421", "x:80", "x:0A"), 3, "ESC t 33: code page not supported here; decoded as cp437"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := Scan(tc.data, Options{})
			for _, w := range j.Warnings {
				if w.Offset == tc.off && w.Msg == tc.msg {
					return
				}
			}
			t.Errorf("warnings %+v, want {%d %q}", j.Warnings, tc.off, tc.msg)
		})
	}
}

func TestScanWarningsBounded(t *testing.T) {
	data := []byte(strings.Repeat("\x1dU", 10000))
	j := Scan(data, Options{})
	if len(j.Warnings) > maxWarnings+1 {
		t.Fatalf("%d warnings for 10000 unknown commands, want at most %d", len(j.Warnings), maxWarnings+1)
	}
	if last := j.Warnings[len(j.Warnings)-1]; last.Msg != "9936 more warnings not shown" {
		t.Errorf("last warning %q", last.Msg)
	}
}

// TestScanResync: a broken length that overruns the job, followed by a
// clean tail with a cut (corpus retail.bin), is resynchronised.
func TestScanResync(t *testing.T) {
	data := job("A", "x:0A", "x:1D384C FF000000 3070", "x:00FF00FF", "x:1B6101", "Thanks", "x:0A", "x:1D564105")
	j := Scan(data, Options{})
	r := j.Receipts[0]
	if got := texts(r); strings.Join(got, "|") != "A|Thanks" {
		t.Errorf("lines %q, want A and Thanks", got)
	}
	if r.CutOffset != len(data)-4 {
		t.Errorf("cut %d, want %d", r.CutOffset, len(data)-4)
	}
}

func TestScanDrawer(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []bool
	}{
		{"kick after the cut", job("A", "x:0A", "x:1D5600", "x:1B700019FA"), []bool{true}},
		{"real-time pulse", job("A", "x:0A", "x:10140100 05", "x:1D5600"), []bool{true}},
		{"only the second receipt", job("A", "x:0A", "x:1D5600", "B", "x:0A", "x:1B700019FA", "x:1D5600"), []bool{false, true}},
		{"none", job("A", "x:0A", "x:1D5600"), []bool{false}},
	}
	for _, tc := range tests {
		j := Scan(tc.data, Options{})
		var got []bool
		for _, r := range j.Receipts {
			got = append(got, r.Drawer)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: drawer %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}
