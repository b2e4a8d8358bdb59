package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/agent/receipt"
	"printpay.dev/printpay/agent/rules"
)

// maxInspectBytes caps what inspect reads, as intake's default max_job_bytes.
const maxInspectBytes = 32 << 20

// cmdInspect shows what printpay reads in a job (DESIGN §5):
//
//	printpay inspect [--json] [--rules FILE] [--encoding ENC] FILE|-
//
// With --json it prints the report of agent/receipt as one JSON object;
// otherwise, per receipt, its lines, then the decision and its reason.
// Exit status: 0 on success, 2 on usage errors (also an unknown encoding or
// an invalid rules file), 1 when the job or the rules file cannot be read.
func cmdInspect(_ context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(s.err)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rulesFile := fs.String("rules", "", "a merchant rules file (JSON), merged over the built-in rules")
	enc := fs.String("encoding", "", "the printer's text encoding (gb18030, big5, utf-8, cp437 …); default: detect")
	fs.Usage = func() {
		fmt.Fprintln(s.err, "usage: printpay inspect [--json] [--rules FILE] [--encoding ENC] FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	opt := receipt.Options{Rules: rules.Default()}
	if *enc != "" {
		canon, ok := escpos.LookupEncoding(*enc)
		if !ok {
			fmt.Fprintf(s.err, "printpay inspect: unknown encoding %q\n", *enc)
			return 2
		}
		opt.Encoding = canon
	}
	if *rulesFile != "" {
		b, err := os.ReadFile(*rulesFile)
		if err != nil {
			fmt.Fprintf(s.err, "printpay inspect: %v\n", err)
			return 1
		}
		over, err := rules.Parse(b)
		if err != nil {
			fmt.Fprintf(s.err, "printpay inspect: %s: %v\n", *rulesFile, err)
			return 2
		}
		opt.Rules = rules.Default().Merge(over)
	}
	data, err := readInspectJob(s, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(s.err, "printpay inspect: %v\n", err)
		return 1
	}
	rep := receipt.Analyze(data, opt)
	if *asJSON {
		e := json.NewEncoder(s.out)
		e.SetEscapeHTML(false)
		e.SetIndent("", "  ")
		if err := e.Encode(rep); err != nil {
			fmt.Fprintf(s.err, "printpay inspect: %v\n", err)
			return 1
		}
		return 0
	}
	printReport(s.out, rep, len(data))
	return 0
}

var errInspectTooLarge = errors.New("job larger than 32 MiB")

func readInspectJob(s stdio, name string) ([]byte, error) {
	var r io.Reader = s.in
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInspectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxInspectBytes {
		return nil, fmt.Errorf("%s: %w", name, errInspectTooLarge)
	}
	return data, nil
}

// printReport writes the human-readable form: per receipt its lines, then
// the decision and the reason.
func printReport(w io.Writer, rep receipt.Report, size int) {
	kind := ""
	switch {
	case rep.RasterOnly:
		kind = ", raster only"
	case rep.Star:
		kind = ", Star Line Mode"
	}
	fmt.Fprintf(w, "job: %d bytes, %d receipt(s), encoding %s%s\n", size, len(rep.Receipts), rep.Encoding, kind)
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	qr := map[int]bool{}
	for _, i := range rep.QR {
		qr[i] = true
	}
	for _, r := range rep.Receipts {
		fmt.Fprintf(w, "\nreceipt %d (cut at %s, QR at %s)\n", r.Index, offset(r.CutOffset), offset(r.SpliceOffset))
		for _, l := range r.Escpos.Lines {
			switch l.Kind {
			case escpos.LineImage:
				fmt.Fprintln(w, "  | [image]")
			case escpos.LineBarcode:
				fmt.Fprintf(w, "  | [barcode %s]\n", l.Data)
			case escpos.LineQR:
				fmt.Fprintf(w, "  | [QR %s]\n", l.Data)
			default:
				fmt.Fprintf(w, "  | %s\n", l.Text)
			}
		}
		verdict := "not payable"
		if r.Payable {
			verdict = "payable"
			if qr[r.Index] {
				verdict += ", gets the QR"
			}
		}
		fmt.Fprintf(w, "  => %s", verdict)
		if r.AmountFen != nil {
			cur := ""
			if r.Currency != nil {
				cur = " " + *r.Currency
			}
			fmt.Fprintf(w, "; amount %s%s", rules.FormatFen(*r.AmountFen), cur)
		}
		if r.OrderNo != nil {
			fmt.Fprintf(w, "; order %s", *r.OrderNo)
		}
		if len(r.Items) > 0 {
			fmt.Fprintf(w, "; %d item(s)", len(r.Items))
		}
		fmt.Fprintf(w, "\n  reason: %s\n", r.Reason)
	}
}

func offset(p *int) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
