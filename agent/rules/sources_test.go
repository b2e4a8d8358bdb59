package rules

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sourceReceipts reads a receiptgen source (testdata/receipts/*.txt) the way
// the printer would print it, without the ESC/POS round trip: directives
// dropped, "{col N}" as a column break, receipts split at "@cut".
func sourceReceipts(t testing.TB, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(b), "\n\n")
	var out [][]string
	var cur []string
	for _, l := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(l, "@@"):
			l = l[1:]
		case strings.HasPrefix(l, "@cut"):
			out = append(out, cur)
			cur = nil
			continue
		case strings.HasPrefix(l, "@"):
			continue
		}
		for {
			i := strings.Index(l, "{col ")
			if i < 0 {
				break
			}
			j := strings.IndexByte(l[i:], '}')
			if j < 0 {
				break
			}
			l = l[:i] + "\t" + l[i+j+1:]
		}
		cur = append(cur, strings.TrimRight(l, " "))
	}
	if strings.TrimSpace(strings.Join(cur, "")) != "" {
		out = append(out, cur)
	}
	return out
}

// TestLabelledSources decides every labelled receipt source directly from its
// UTF-8 text (the ESC/POS path is agent/receipt's TestAccuracy): the first
// payable receipt of a job, or the first receipt, must match the label.
func TestLabelledSources(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "receipts")
	b, err := os.ReadFile(filepath.Join(dir, "labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var lab struct {
			File      string  `json:"file"`
			Payable   bool    `json:"payable"`
			AmountFen *int64  `json:"amount_fen"`
			OrderNo   *string `json:"order_no"`
			Note      string  `json:"note"`
		}
		if err := json.Unmarshal(sc.Bytes(), &lab); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(lab.File, "../") {
			continue // corpus jobs have no source
		}
		n++
		receipts := sourceReceipts(t, filepath.Join(dir, strings.TrimSuffix(lab.File, ".bin")+".txt"))
		var d Decision
		for i, r := range receipts {
			if di := Default().Decide(r); i == 0 || di.Payable {
				d = di
				if di.Payable {
					break
				}
			}
		}
		if d.Payable != lab.Payable {
			t.Errorf("%s: payable %v (%s), want %v [%s]", lab.File, d.Payable, d.Reason, lab.Payable, lab.Note)
			continue
		}
		if !lab.Payable {
			continue
		}
		if lab.AmountFen == nil || d.AmountFen != *lab.AmountFen {
			t.Errorf("%s: amount %d, want %v", lab.File, d.AmountFen, lab.AmountFen)
		}
		if lab.OrderNo == nil || d.OrderNo != *lab.OrderNo {
			t.Errorf("%s: order %q, want %v", lab.File, d.OrderNo, lab.OrderNo)
		}
	}
	if n < 90 {
		t.Errorf("only %d labelled sources", n)
	}
}
