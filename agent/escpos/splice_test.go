package escpos_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"printpay.dev/printpay/agent/escpos"
)

// TestSplice checks that Splice inserts exactly the blocks, at their
// offsets, in offset order, and leaves its input alone.
func TestSplice(t *testing.T) {
	data := []byte("abcdef")
	tests := []struct {
		name string
		ins  []escpos.Insertion
		want string
	}{
		{"none", nil, "abcdef"},
		{"start", []escpos.Insertion{{0, []byte("<")}}, "<abcdef"},
		{"middle", []escpos.Insertion{{3, []byte("<>")}}, "abc<>def"},
		{"end", []escpos.Insertion{{6, []byte(">")}}, "abcdef>"},
		{"several, unsorted", []escpos.Insertion{{4, []byte("2")}, {1, []byte("1")}}, "a1bcd2ef"},
		// Equal offsets keep the callers' order.
		{"same offset", []escpos.Insertion{{2, []byte("x")}, {2, []byte("y")}}, "abxycdef"},
		// A bad offset moves the block to the nearest end, never into garbage.
		{"clamped", []escpos.Insertion{{-5, []byte("<")}, {99, []byte(">")}}, "<abcdef>"},
		{"empty block", []escpos.Insertion{{3, nil}}, "abcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := escpos.Splice(data, tc.ins)
			if string(got) != tc.want {
				t.Errorf("Splice = %q, want %q", got, tc.want)
			}
			if string(data) != "abcdef" {
				t.Fatalf("Splice modified its input: %q", data)
			}
		})
	}
	// The result never aliases the input.
	out := escpos.Splice(data, nil)
	out[0] = 'X'
	if data[0] != 'a' {
		t.Error("Splice without insertions returned the input slice")
	}
}

// spliceGolden is testdata/splice/offsets.json.
type spliceGolden struct {
	Comment string `json:"comment"`
	Files   []struct {
		File     string `json:"file"`
		Receipts []struct {
			Index        int    `json:"index"`
			SpliceOffset int    `json:"splice_offset"`
			Comment      string `json:"comment"`
		} `json:"receipts"`
	} `json:"files"`
}

func readSpliceGolden(t *testing.T) spliceGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "splice", "offsets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g spliceGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("offsets.json: %v", err)
	}
	return g
}

// TestCorpusSpliceOffsets checks Scan's splice point for every receipt of
// every corpus job against the hand-checked golden, then splices a QR
// block there and checks that the output is the input plus exactly that
// block, and that the block ends by restoring the state Scan reports.
func TestCorpusSpliceOffsets(t *testing.T) {
	g := readSpliceGolden(t)
	corpus := filepath.Join("..", "..", "testdata", "corpus")
	seen := map[string]bool{}
	for _, f := range g.Files {
		seen[f.File] = true
		t.Run(f.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpus, f.File))
			if err != nil {
				t.Fatal(err)
			}
			job := escpos.Scan(data, escpos.Options{})
			if len(job.Receipts) != len(f.Receipts) {
				t.Fatalf("Scan found %d receipts, golden has %d", len(job.Receipts), len(f.Receipts))
			}
			for i, want := range f.Receipts {
				r := job.Receipts[i]
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					if r.SpliceOffset != want.SpliceOffset {
						t.Fatalf("SpliceOffset = %d (reason %q), golden %d: %s", r.SpliceOffset, r.SpliceReason, want.SpliceOffset, want.Comment)
					}
					if r.SpliceOffset < 0 {
						if r.SpliceReason == "" {
							t.Error("SpliceOffset -1 without a reason")
						}
						return
					}
					checkSplicedBlock(t, data, r, job.Encoding)
				})
			}
		})
	}
	// Every corpus job has a golden.
	err := filepath.WalkDir(corpus, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) == ".md" {
			return err
		}
		rel, _ := filepath.Rel(corpus, p)
		if !seen[filepath.ToSlash(rel)] {
			t.Errorf("corpus job %s has no golden splice offsets in testdata/splice/offsets.json", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkSplicedBlock splices a QR block at r's splice point and checks the
// result byte for byte and the block's restoring tail.
func checkSplicedBlock(t *testing.T, data []byte, r escpos.Receipt, enc string) {
	t.Helper()
	block, err := escpos.QRBlock(escpos.QROptions{
		URL: "weixin://wxpay/bizpayurl?pr=AbCdEfG", AmountFen: 15300,
		Encoding: enc, State: r.State, PaperDots: escpos.Paper80mm,
	})
	if err != nil {
		t.Fatal(err)
	}
	out := escpos.Splice(data, []escpos.Insertion{{Offset: r.SpliceOffset, Block: block}})
	off := r.SpliceOffset
	if len(out) != len(data)+len(block) ||
		!bytes.Equal(out[:off], data[:off]) ||
		!bytes.Equal(out[off:off+len(block)], block) ||
		!bytes.Equal(out[off+len(block):], data[off:]) {
		t.Fatal("spliced output is not the input plus exactly the block at the splice offset")
	}
	if r.State.MidLine != (block[0] == '\n') {
		t.Errorf("MidLine %v but block starts with %#x", r.State.MidLine, block[0])
	}
	checkRestores(t, block, r.State)
}

// checkRestores decodes the last six commands of a block with Split and
// checks each one puts a tracked setting back to st.
func checkRestores(t *testing.T, block []byte, st escpos.State) {
	t.Helper()
	var toks [][]byte
	var ops []escpos.Op
	for off := 0; off < len(block); {
		n, tok := escpos.Split(block[off:], true)
		if n <= 0 || tok.Trunc {
			t.Fatalf("block does not tokenize at %d", off)
		}
		toks = append(toks, block[off:off+n])
		ops = append(ops, tok.Op)
		off += n
	}
	if len(toks) < 6 {
		t.Fatalf("block has %d tokens", len(toks))
	}
	w, h := max(st.Width, 1), max(st.Height, 1)
	want := []struct {
		op  escpos.Op
		cmd []byte
	}{
		{escpos.OpMode, []byte{0x1B, 0x21, st.Mode}},
		{escpos.OpSize, []byte{0x1D, 0x21, byte((w-1)<<4 | (h - 1))}},
		{escpos.OpBold, []byte{0x1B, 0x45, b2byte(st.Bold)}},
		{escpos.OpUnderline, []byte{0x1B, 0x2D, byte(st.Underline)}},
		{escpos.OpReverse, []byte{0x1D, 0x42, b2byte(st.Reverse)}},
		{escpos.OpAlign, []byte{0x1B, 0x61, byte(st.Align)}},
	}
	tail := toks[len(toks)-6:]
	tailOps := ops[len(ops)-6:]
	for i, w := range want {
		if tailOps[i] != w.op || !bytes.Equal(tail[i], w.cmd) {
			t.Errorf("restore %d = % X (%v), want % X (%v)", i, tail[i], tailOps[i], w.cmd, w.op)
		}
	}
	// Nothing in the block changes Chinese mode, the code page or UTF-8:
	// the caption is written in the encoding already in force.
	for i, op := range ops {
		switch op {
		case escpos.OpChineseOn, escpos.OpChineseOff, escpos.OpCodePage, escpos.OpEncoding, escpos.OpInit:
			t.Errorf("block token %d (% X) changes the printer's encoding state", i, toks[i])
		}
	}
}

func b2byte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// FuzzSplice splices a block at every splice point Scan finds in random
// input and checks that removing the blocks gives the input back, that
// every splice point is a token boundary, and that none is inside or
// after a command whose declared length runs past the end of the data
// (the printer reads the rest of the job as its data).
func FuzzSplice(f *testing.F) {
	for _, s := range []string{
		"\x1b@Hello\n\x1dVA\x03",
		"text without a cut",
		"\x1bL page\x0c\x1dV\x00",
		"\x1d8L\xff\xff\x00\x00\x30\x70",
		"A\nB\x1dV\x01C\n\x1dV\x00\x1bp\x00\x19\xfa",
	} {
		f.Add([]byte(s))
	}
	block := escpos.PaidBlock(15300, "gbk", escpos.State{Width: 1, Height: 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		job := escpos.Scan(data, escpos.Options{})
		bounds := map[int]bool{0: true, len(data): true}
		truncAt := len(data) // start of a command that runs past the end of the data
		for off := 0; off < len(data); {
			n, tok := escpos.Split(data[off:], true)
			if n <= 0 {
				t.Fatalf("Split returned %d at %d", n, off)
			}
			// Cut short by the end of the data, or a declared length
			// over MaxCommandLen (more than any fuzz input holds).
			if tok.Trunc && tok.Op != escpos.OpBarcode && off < truncAt {
				truncAt = off
			}
			off += n
			bounds[off] = true
		}
		var ins []escpos.Insertion
		prev := 0
		for _, r := range job.Receipts {
			if r.SpliceOffset < 0 {
				continue
			}
			if r.SpliceOffset > truncAt {
				t.Fatalf("receipt %d: splice offset %d after the command at %d that runs past the end of the data", r.Index, r.SpliceOffset, truncAt)
			}
			if !bounds[r.SpliceOffset] {
				t.Fatalf("receipt %d: splice offset %d is not a token boundary", r.Index, r.SpliceOffset)
			}
			if r.SpliceOffset < prev {
				t.Fatalf("receipt %d: splice offset %d before the previous one %d", r.Index, r.SpliceOffset, prev)
			}
			prev = r.SpliceOffset
			ins = append(ins, escpos.Insertion{Offset: r.SpliceOffset, Block: block})
		}
		out := escpos.Splice(data, ins)
		if !bytes.Equal(data, orig) {
			t.Fatal("Scan or Splice modified the input")
		}
		// Remove the blocks again, from the back.
		back := bytes.Clone(out)
		for i := len(ins) - 1; i >= 0; i-- {
			at := ins[i].Offset + i*len(block)
			if !bytes.Equal(back[at:at+len(block)], block) {
				t.Fatalf("block %d not found at %d", i, at)
			}
			back = append(back[:at:at], back[at+len(block):]...)
		}
		if !bytes.Equal(back, orig) {
			t.Fatal("output minus the blocks differs from the input")
		}
	})
}
