package receipt_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"printpay.dev/printpay/agent/receipt"
)

// label is one line of testdata/receipts/labels.jsonl.
type label struct {
	File      string  `json:"file"`
	Payable   bool    `json:"payable"`
	AmountFen *int64  `json:"amount_fen"`
	OrderNo   *string `json:"order_no"`
	Note      string  `json:"note"`
}

const (
	receiptsDir = "../../testdata/receipts"
	// checkDir holds a second set written independently of the rules, to
	// catch rules that fit only their own labelled set.
	checkDir = "../../testdata/receipts-check"
	// check2Dir holds a third set, also written independently, of the long
	// tail of shops (vouchers, deposits, top-ups, kitchen-side tickets).
	check2Dir = "../../testdata/receipts-check2"
)

func readLabels(t testing.TB) []label { return readLabelsIn(t, receiptsDir) }

func readLabelsIn(t testing.TB, dir string) []label {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []label
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l label
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("labels.jsonl:%d: %v", n, err)
		}
		out = append(out, l)
	}
	return out
}

func show[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// TestAccuracy runs Analyze on every labelled job and compares the decision
// of the receipt that would get the QR with the label. Amounts and order
// numbers are compared for receipts labelled payable. Any wrong decision
// fails.
func TestAccuracy(t *testing.T) {
	t.Run("labelled", func(t *testing.T) { accuracy(t, "accuracy", receiptsDir, 90) })
	t.Run("check", func(t *testing.T) { accuracy(t, "check set", checkDir, 60) })
	t.Run("check2", func(t *testing.T) { accuracy(t, "check2 set", check2Dir, 80) })
}

func accuracy(t *testing.T, name, dir string, atLeast int) {
	labels := readLabelsIn(t, dir)
	if len(labels) < atLeast {
		t.Fatalf("only %d labelled receipts in %s", len(labels), dir)
	}
	var right, falsePay, wrongAmt, wrongOrder int
	var report []string
	for _, l := range labels {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(l.File)))
		if err != nil {
			t.Fatalf("%s: %v", l.File, err)
		}
		rep := receipt.Analyze(data, receipt.Options{})
		ok := rep.Payable == l.Payable
		if rep.Payable && !l.Payable {
			falsePay++
		}
		if ok && l.Payable {
			if l.AmountFen == nil || rep.AmountFen == nil || *l.AmountFen != *rep.AmountFen {
				wrongAmt++
				ok = false
			}
			if show(l.OrderNo) != show(rep.OrderNo) {
				wrongOrder++
				ok = false
			}
		}
		if ok {
			right++
			continue
		}
		report = append(report, fmt.Sprintf("  wrong: %s: want payable=%v amount=%s order=%s, got payable=%v amount=%s order=%s (%s) [%s]",
			l.File, l.Payable, show(l.AmountFen), show(l.OrderNo), rep.Payable, show(rep.AmountFen), show(rep.OrderNo), rep.Reason, l.Note))
	}
	fmt.Printf("%s: %d/%d right, %d false payable, %d wrong amounts, %d wrong order numbers\n", name, right, len(labels), falsePay, wrongAmt, wrongOrder)
	for _, r := range report {
		fmt.Println(r)
	}
	if right != len(labels) {
		t.Errorf("%d of %d labelled receipts decided wrongly", len(labels)-right, len(labels))
	}
}
