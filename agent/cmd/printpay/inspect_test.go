package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func runInspect(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), stdio{in: bytes.NewReader(stdin), out: &out, err: &errb}, append([]string{"inspect"}, args...))
	return code, out.String(), errb.String()
}

func jobFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"../../../testdata/corpus", "../../../testdata/receipts"} {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".bin") || strings.HasSuffix(p, ".escpos")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 100 {
		t.Fatalf("found only %d jobs", len(files))
	}
	return files
}

func keysOf(m map[string]json.RawMessage) string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

const (
	topKeys     = "amount_fen,encoding,order_no,payable,raster_only,reason,receipts,warnings"
	receiptKeys = "amount_fen,currency,cut_offset,index,items,lines,order_no,payable,reason,splice_offset"
)

// TestInspectJSONEveryJob: `inspect --json` prints one valid JSON object with
// exactly the keys of DESIGN §5 for every corpus job and labelled receipt,
// and the top-level decision is that of the first payable receipt (or the
// first receipt).
func TestInspectJSONEveryJob(t *testing.T) {
	for _, f := range jobFiles(t) {
		code, out, errs := runInspect(t, nil, "--json", f)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, errs)
		}
		var top map[string]json.RawMessage
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&top); err != nil {
			t.Fatalf("%s: %v\n%s", f, err, out)
		}
		if dec.More() {
			t.Fatalf("%s: more than one JSON value", f)
		}
		if got := keysOf(top); got != topKeys {
			t.Fatalf("%s: top-level keys %s, want %s", f, got, topKeys)
		}
		var rep struct {
			Payable   bool    `json:"payable"`
			AmountFen *int64  `json:"amount_fen"`
			OrderNo   *string `json:"order_no"`
			Reason    string  `json:"reason"`
			Warnings  []string
			Receipts  []map[string]json.RawMessage
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if rep.Warnings == nil || len(rep.Receipts) == 0 {
			t.Fatalf("%s: warnings must be a list and receipts non-empty:\n%s", f, out)
		}
		want := -1
		for i, r := range rep.Receipts {
			if got := keysOf(r); got != receiptKeys {
				t.Fatalf("%s: receipt %d keys %s, want %s", f, i, got, receiptKeys)
			}
			if string(r["items"]) == "null" || string(r["lines"]) == "null" {
				t.Fatalf("%s: receipt %d: items and lines must be lists", f, i)
			}
			if want < 0 && string(r["payable"]) == "true" {
				want = i
			}
		}
		if want < 0 {
			want = 0
		}
		r := rep.Receipts[want]
		if string(r["payable"]) != boolJSON(rep.Payable) || string(r["amount_fen"]) != rawJSON(rep.AmountFen) ||
			string(r["order_no"]) != rawJSON(rep.OrderNo) || string(r["reason"]) != rawJSON(&rep.Reason) {
			t.Errorf("%s: top-level decision is not that of receipt %d", f, want)
		}
	}
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func rawJSON[T any](p *T) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func TestInspectStdin(t *testing.T) {
	data, err := os.ReadFile("../../../testdata/receipts/keruyun-prebill-gbk.bin")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runInspect(t, data, "--json", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Payable   bool   `json:"payable"`
		AmountFen int64  `json:"amount_fen"`
		OrderNo   string `json:"order_no"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Payable || rep.AmountFen != 11060 || rep.OrderNo != "2611260012" {
		t.Errorf("got %+v, want payable 11060 2611260012", rep)
	}
}

// TestInspectPlain: the readable form shows the lines, the decision and the
// reason.
func TestInspectPlain(t *testing.T) {
	code, out, errs := runInspect(t, nil, "../../../testdata/receipts/meituan-pos-two-copies.bin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"receipt 0 (cut at", "receipt 1 (cut at", "  | 订单号: MT20261126190502",
		"=> payable, gets the QR; amount 71.00 CNY; order MT20261126190502", "reason: amount due: 应付 71.00",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "gets the QR") != 1 {
		t.Errorf("only the first copy gets the QR:\n%s", out)
	}
	code, out, _ = runInspect(t, nil, "../../../testdata/receipts/existing-qr-invoice.bin")
	if code != 0 || !strings.Contains(out, "  | [QR https://fapiao.example.cn/i/YGF0311]") {
		t.Errorf("QR line: exit %d\n%s", code, out)
	}
	code, out, _ = runInspect(t, nil, "../../../testdata/receipts/refund-slip.bin")
	if code != 0 || !strings.Contains(out, "=> not payable") || !strings.Contains(out, `reason: refund or void: "退款单"`) {
		t.Errorf("refund slip: exit %d\n%s", code, out)
	}
}

// TestInspectRules: --rules merges a merchant's rules over the built-ins; a
// till that prints $ for yuan maps the marker.
func TestInspectRules(t *testing.T) {
	job := "../../../testdata/receipts/en-total-usd.bin"
	code, out, _ := runInspect(t, nil, "--json", job)
	if code != 0 || !strings.Contains(out, `"payable": false`) {
		t.Fatalf("without rules: exit %d\n%s", code, out)
	}
	f := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(f, []byte(`{"version": "shop-1", "currency": {"markers": {"$": "CNY"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runInspect(t, nil, "--json", "--rules", f, job)
	if code != 0 || !strings.Contains(out, `"payable": true`) || !strings.Contains(out, `"amount_fen": 2300`) {
		t.Errorf("with $ mapped to CNY: exit %d %s\n%s", code, errs, out)
	}
}

func TestInspectUsage(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version": "x", "amount_dew": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	job := "../../../testdata/receipts/keruyun-prebill-gbk.bin"
	tests := []struct {
		name    string
		args    []string
		code    int
		inError string
	}{
		{"no file", nil, 2, "usage: printpay inspect"},
		{"two files", []string{job, job}, 2, "usage: printpay inspect"},
		{"unknown flag", []string{"--yaml", job}, 2, "usage: printpay inspect"},
		{"flag after file", []string{job, "--json"}, 2, "usage: printpay inspect"},
		{"unknown encoding", []string{"--encoding", "klingon", job}, 2, `unknown encoding "klingon"`},
		{"misspelt rules key", []string{"--rules", bad, job}, 2, `unknown field "amount_dew"`},
		{"missing rules file", []string{"--rules", bad + ".none", job}, 1, "no such file"},
		{"missing job", []string{"/nonexistent/job.bin"}, 1, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runInspect(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.inError) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.inError)
			}
		})
	}
}

// TestInspectEncodingFlag: --encoding overrides detection.
func TestInspectEncodingFlag(t *testing.T) {
	code, out, errs := runInspect(t, nil, "--json", "--encoding", "big5", "../../../testdata/receipts/big5-cny-prebill.bin")
	if code != 0 || !strings.Contains(out, `"encoding": "big5"`) || !strings.Contains(out, `"amount_fen": 11440`) {
		t.Errorf("exit %d %s\n%s", code, errs, out)
	}
}
