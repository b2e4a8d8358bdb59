package receipt_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/rules"
	"printpay.dev/printpay/internal/receiptgen"
)

func job(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(receiptsDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encode(t *testing.T, src string) []byte {
	t.Helper()
	b, err := receiptgen.Encode([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestQRCopies: with two payable copies in one job, the first gets the QR,
// or both with qr_copies = "all".
func TestQRCopies(t *testing.T) {
	data := job(t, "meituan-pos-two-copies.bin")
	for _, tc := range []struct {
		copies string
		want   []int
	}{{"", []int{0}}, {receipt.CopiesFirst, []int{0}}, {receipt.CopiesAll, []int{0, 1}}} {
		rep := receipt.Analyze(data, receipt.Options{QRCopies: tc.copies})
		if len(rep.Receipts) != 2 || !rep.Receipts[0].Payable || !rep.Receipts[1].Payable {
			t.Fatalf("want two payable copies, got %+v", rep.Receipts)
		}
		if !slices.Equal(rep.QR, tc.want) {
			t.Errorf("copies %q: QR on %v, want %v", tc.copies, rep.QR, tc.want)
		}
	}
}

// TestFirstPayableOnTop: a kitchen ticket then the bill: the bill's decision
// is the job's.
func TestFirstPayableOnTop(t *testing.T) {
	rep := receipt.Analyze(job(t, "kitchen-then-bill.bin"), receipt.Options{})
	if len(rep.Receipts) != 2 || rep.Receipts[0].Payable || !rep.Receipts[1].Payable {
		t.Fatalf("receipts: %+v", rep.Receipts)
	}
	if !rep.Payable || *rep.AmountFen != 6000 || *rep.OrderNo != "2611260888" || rep.Reason != rep.Receipts[1].Reason {
		t.Errorf("top: payable %v amount %v order %v reason %q", rep.Payable, rep.AmountFen, rep.OrderNo, rep.Reason)
	}
	if !slices.Equal(rep.QR, []int{1}) {
		t.Errorf("QR on %v", rep.QR)
	}
	if !strings.Contains(rep.Receipts[0].Reason, "kitchen") {
		t.Errorf("kitchen ticket reason %q", rep.Receipts[0].Reason)
	}
}

// TestNonePayableTop: when nothing is payable the first receipt speaks.
func TestNonePayableTop(t *testing.T) {
	rep := receipt.Analyze(job(t, "../corpus/receiptful__escpost/cafe-order-voucher.bin"), receipt.Options{})
	if rep.Payable || len(rep.QR) != 0 || rep.Reason != rep.Receipts[0].Reason || *rep.AmountFen != 730 || *rep.OrderNo != "1847" {
		t.Errorf("top: %v %v %v %q", rep.Payable, rep.AmountFen, rep.OrderNo, rep.Reason)
	}
}

func TestRasterOnly(t *testing.T) {
	rep := receipt.Analyze(job(t, "../corpus/lukevp__ESC-POS-.NET/output-juliogamasso.bin"), receipt.Options{})
	if !rep.RasterOnly || rep.Payable || !strings.Contains(rep.Reason, "raster-only") {
		t.Errorf("raster only %v payable %v reason %q", rep.RasterOnly, rep.Payable, rep.Reason)
	}
}

// TestNoSplicePoint: a payable text that ends in page mode cannot take a QR.
func TestNoSplicePoint(t *testing.T) {
	data := encode(t, "encoding: gbk\n\n单号: 12\n@raw 1B 4C\n合计 68.00\n@cut\n")
	rep := receipt.Analyze(data, receipt.Options{})
	r := rep.Receipts[0]
	if r.SpliceOffset != nil {
		t.Skipf("the reader found a splice point at %d in page mode", *r.SpliceOffset)
	}
	if rep.Payable || !r.Decision.Payable || !strings.Contains(rep.Reason, "no QR can go") {
		t.Errorf("payable %v (rules %v), reason %q", rep.Payable, r.Decision.Payable, rep.Reason)
	}
}

// TestReportFields: offsets, currency, items and warnings as DESIGN §5 has
// them.
func TestReportFields(t *testing.T) {
	rep := receipt.Analyze(job(t, "keruyun-prebill-gbk.bin"), receipt.Options{})
	r := rep.Receipts[0]
	if r.CutOffset == nil || r.SpliceOffset == nil || *r.SpliceOffset > *r.CutOffset {
		t.Errorf("cut %v splice %v", r.CutOffset, r.SpliceOffset)
	}
	if r.Currency == nil || *r.Currency != "CNY" || len(r.Items) != 3 || r.Items[1] != (receipt.Item{Name: "水煮鱼", Qty: "1", AmountFen: 6800}) {
		t.Errorf("currency %v items %+v", r.Currency, r.Items)
	}
	if rep.Encoding == "" || len(r.Lines) == 0 || r.Lines[0] != "老街小馆" {
		t.Errorf("encoding %q lines %q", rep.Encoding, r.Lines)
	}
	re := regexp.MustCompile(`^offset \d+: .+`)
	for _, w := range rep.Warnings {
		if !re.MatchString(w) {
			t.Errorf("warning %q", w)
		}
	}
	// No cut: cut_offset is null, the QR still goes at the end.
	rep = receipt.Analyze(encode(t, "encoding: gbk\n\n合计 12.00\n@feed 3\n"), receipt.Options{})
	if r := rep.Receipts[0]; r.CutOffset != nil || r.SpliceOffset == nil || !r.Payable {
		t.Errorf("no cut: cut %v splice %v payable %v (%s)", r.CutOffset, r.SpliceOffset, r.Payable, r.Reason)
	}
}

// TestMerchantRules: Options.Rules replaces the defaults.
func TestMerchantRules(t *testing.T) {
	over, err := rules.Parse([]byte(`{"version": "m1", "currency": {"markers": {"$": "CNY"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	data := job(t, "en-total-usd.bin")
	if receipt.Analyze(data, receipt.Options{}).Payable {
		t.Fatal("USD receipt payable under the defaults")
	}
	if rep := receipt.Analyze(data, receipt.Options{Rules: rules.Default().Merge(over)}); !rep.Payable || *rep.AmountFen != 2300 {
		t.Errorf("with $ mapped: %v %v %s", rep.Payable, rep.AmountFen, rep.Reason)
	}
}

func TestEmptyAndGarbage(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte("\x1b\x1d\x1c\xff\xfe\x00\x10\x04" + strings.Repeat("\x1d(k", 100)),
	} {
		rep := receipt.Analyze(data, receipt.Options{})
		if rep.Payable || rep.Reason == "" || rep.Warnings == nil || rep.Receipts == nil {
			t.Errorf("%s: payable %v reason %q", name, rep.Payable, rep.Reason)
		}
	}
}

func BenchmarkAnalyze(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(receiptsDir, "keruyun-prebill-gbk.bin"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		receipt.Analyze(data, receipt.Options{})
	}
}
