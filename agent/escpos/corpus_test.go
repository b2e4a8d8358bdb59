package escpos

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden dumps in testdata/escpos")

const (
	corpusDir = "../../testdata/corpus"
	goldenDir = "../../testdata/escpos"
)

// corpusFiles lists the real jobs of testdata/corpus (PROVENANCE.md says
// where each comes from).
func corpusFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".md") {
			out = append(out, f)
		}
	}
	if len(out) < 20 {
		t.Fatalf("found %d corpus files in %s", len(out), corpusDir)
	}
	return out
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenName maps testdata/corpus/<dir>/<name>.<ext> to
// testdata/escpos/<dir>__<name>.golden.
func goldenName(f string) string {
	dir := filepath.Base(filepath.Dir(f))
	name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
	return filepath.Join(goldenDir, dir+"__"+name+".golden")
}

// Dump renders a job as the readable listing kept in the golden files.
func Dump(j *Job) string {
	var b strings.Builder
	fmt.Fprintf(&b, "encoding: %s\n", j.Encoding)
	if j.RasterOnly {
		b.WriteString("raster-only\n")
	}
	if j.Star {
		b.WriteString("star line mode\n")
	}
	for _, w := range j.Warnings {
		fmt.Fprintf(&b, "warning @%d: %s\n", w.Offset, w.Msg)
	}
	for _, r := range j.Receipts {
		fmt.Fprintf(&b, "\nreceipt %d [%d,%d) cut @%d splice @%d", r.Index, r.Start, r.End, r.CutOffset, r.SpliceOffset)
		if r.SpliceReason != "" {
			fmt.Fprintf(&b, " (%s)", r.SpliceReason)
		}
		if r.Drawer {
			b.WriteString(" drawer")
		}
		s := r.State
		fmt.Fprintf(&b, "\n  state: align=%s size=%dx%d mode=%d bold=%v underline=%d reverse=%v codepage=%d chinese=%v utf8=%v midline=%v\n",
			s.Align, s.Width, s.Height, s.Mode, s.Bold, s.Underline, s.Reverse, s.CodePage, s.Chinese, s.UTF8, s.MidLine)
		for _, l := range r.Lines {
			bold := " "
			if l.Bold {
				bold = "B"
			}
			fmt.Fprintf(&b, "  %6d %-6s %s %dx%d ", l.Offset, l.Align, bold, l.Width, l.Height)
			switch l.Kind {
			case LineText:
				fmt.Fprintf(&b, "| %s\n", strings.ReplaceAll(l.Text, "\t", `\t`))
			default:
				fmt.Fprintf(&b, "[%s] %q\n", l.Kind, l.Data)
			}
		}
	}
	return b.String()
}

// TestCorpusGolden compares each corpus job's dump with its golden file.
// Run with -update to rewrite them, then read the diff.
func TestCorpusGolden(t *testing.T) {
	for _, f := range corpusFiles(t) {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			data := readFile(t, f)
			got := "# " + strings.TrimPrefix(f, "../../") + "\n" + Dump(Scan(data, Options{}))
			g := goldenName(f)
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(g, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(g)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("dump differs from %s (go test -update rewrites it):\n%s", g, diffLines(string(want), got))
			}
		})
	}
}

// diffLines shows the first differing lines.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 2000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// TestCorpusTokenizes checks that every job tokenizes to its end, with a
// warning for each truncated command, and that the receipts tile the job.
func TestCorpusTokenizes(t *testing.T) {
	for _, f := range corpusFiles(t) {
		data := readFile(t, f)
		ts := tokens(data)
		checkTiling(t, data, ts)
		j := Scan(data, Options{})
		checkJob(t, f, data, j)
		for _, tok := range ts {
			if tok.Trunc && !hasWarningAt(j, tok.Off) {
				t.Errorf("%s: truncated %v at %d without a warning", f, tok.Op, tok.Off)
			}
		}
	}
}

func hasWarningAt(j *Job, off int) bool {
	for _, w := range j.Warnings {
		if w.Offset == off {
			return true
		}
	}
	return false
}

// checkJob asserts the invariants of a Job for data.
func checkJob(t testing.TB, name string, data []byte, j *Job) {
	t.Helper()
	if len(j.Receipts) == 0 {
		t.Fatalf("%s: no receipts", name)
	}
	off := 0
	for i, r := range j.Receipts {
		if r.Index != i || r.Start != off || r.End < r.Start {
			t.Fatalf("%s: receipt %d is [%d,%d) index %d; want start %d", name, i, r.Start, r.End, r.Index, off)
		}
		off = r.End
		if r.CutOffset >= 0 && (r.CutOffset < r.Start || r.CutOffset >= r.End) {
			t.Errorf("%s: receipt %d cut %d outside [%d,%d)", name, i, r.CutOffset, r.Start, r.End)
		}
		if r.SpliceOffset >= 0 {
			if r.SpliceOffset < r.Start || r.SpliceOffset > r.End || (r.CutOffset >= 0 && r.SpliceOffset > r.CutOffset) {
				t.Errorf("%s: receipt %d splice %d outside [%d, cut %d]", name, i, r.SpliceOffset, r.Start, r.CutOffset)
			}
			if r.SpliceReason != "" {
				t.Errorf("%s: receipt %d has splice %d and reason %q", name, i, r.SpliceOffset, r.SpliceReason)
			}
		} else if r.SpliceReason == "" {
			t.Errorf("%s: receipt %d has no splice point and no reason", name, i)
		}
		for _, l := range r.Lines {
			if l.Offset < r.Start || l.Offset >= r.End {
				t.Errorf("%s: receipt %d line at %d outside it", name, i, l.Offset)
			}
			if l.Width < 1 || l.Width > 8 || l.Height < 1 || l.Height > 8 {
				t.Errorf("%s: line at %d size %dx%d", name, l.Offset, l.Width, l.Height)
			}
		}
	}
	if off != len(data) {
		t.Fatalf("%s: receipts end at %d of %d", name, off, len(data))
	}
}

// TestCorpusTruncated cuts every job at every offset: Split must tile
// every prefix, and Scan must return a sound Job for prefixes (every
// offset for jobs under 4 KB, about 1500 prefixes for bigger ones, to keep the
// quadratic work bounded).
func TestCorpusTruncated(t *testing.T) {
	for _, f := range corpusFiles(t) {
		data := readFile(t, f)
		stride := 1
		if len(data) > 4000 {
			stride = len(data)/1500 + 1
		}
		whole := tokens(data)
		k := 0 // whole[k] is the token holding byte n-1
		for n := 0; n <= len(data); n++ {
			p := data[:n]
			for k < len(whole) && whole[k].Off+whole[k].Len < n {
				k++
			}
			// Tokens that end before n cannot change; split the rest of
			// the prefix again.
			start := 0
			if k < len(whole) && n > 0 {
				start = whole[k].Off
			}
			tail := tokens(p[start:])
			for i := range tail {
				tail[i].Off += start
			}
			checkTiling(t, p[start:], shift(tail, -start))
			if n%stride == 0 || n == len(data) {
				checkJob(t, fmt.Sprintf("%s[:%d]", f, n), p, Scan(p, Options{}))
			}
		}
	}
}

func shift(ts []Token, d int) []Token {
	out := make([]Token, len(ts))
	for i, t := range ts {
		t.Off += d
		out[i] = t
	}
	return out
}

func TestCorpusUnchanged(t *testing.T) {
	for _, f := range corpusFiles(t) {
		data := readFile(t, f)
		c := bytes.Clone(data)
		Scan(data, Options{})
		if !bytes.Equal(c, data) {
			t.Fatalf("%s: Scan changed its input", f)
		}
	}
}
