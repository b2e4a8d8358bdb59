package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"printpay.dev/printpay/agent/escpos"
	"printpay.dev/printpay/drivers/profiles"
)

// maxCLIJobBytes caps what splice and render read from a file or stdin.
const maxCLIJobBytes = 64 << 20

// cmdSplice writes the job with a QR block inserted (DESIGN §5):
//
//	printpay splice --code-url URL [--qr native|raster] [--profile NAME] [--receipt N|all|payable] FILE|-
//
// When no chosen receipt can take a QR (page mode, raster-only, Star Line
// Mode) the job is written unchanged, the reason goes to stderr and the exit
// status is 0.
func cmdSplice(_ context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("splice", flag.ContinueOnError)
	fs.SetOutput(s.err)
	codeURL := fs.String("code-url", "", "the payment URL the QR encodes (required)")
	qr := fs.String("qr", "", "raster (GS v 0) or native (GS ( k); default: the profile's")
	profile := fs.String("profile", profiles.Generic80, "printer profile (paper width, QR mode, encoding)")
	which := fs.String("receipt", "payable", "which receipt gets the QR: N, all or payable")
	fs.Usage = func() {
		fmt.Fprintln(s.err, "usage: printpay splice --code-url URL [--qr native|raster] [--profile NAME] [--receipt N|all|payable] FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *codeURL == "" || fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	prof, err := profiles.Lookup(*profile)
	if err != nil {
		fmt.Fprintf(s.err, "printpay splice: %v\n", err)
		return 2
	}
	mode := prof.QR
	if *qr != "" {
		mode = *qr
	}
	if mode != escpos.QRRaster && mode != escpos.QRNative {
		fmt.Fprintf(s.err, "printpay splice: --qr must be raster or native, not %q\n", mode)
		return 2
	}
	data, err := readCLIJob(s, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(s.err, "printpay splice: %v\n", err)
		return 1
	}

	job := escpos.Scan(data, escpos.Options{Encoding: prof.Encoding})
	payable, amounts := receiptRules(data, job)
	chosen, err := chooseReceipts(job, *which, payable)
	if err != nil {
		fmt.Fprintf(s.err, "printpay splice: %v\n", err)
		return 2
	}
	var ins []escpos.Insertion
	for _, i := range chosen {
		r := job.Receipts[i]
		if r.SpliceOffset < 0 {
			fmt.Fprintf(s.err, "printpay splice: receipt %d gets no QR: %s\n", i, r.SpliceReason)
			continue
		}
		var amount int64
		if i < len(amounts) {
			amount = amounts[i]
		}
		block, err := escpos.QRBlock(escpos.QROptions{
			URL: *codeURL, Mode: mode, PaperDots: prof.PaperDots, ModuleSize: nativeModule(mode, prof),
			AmountFen: amount, Encoding: job.Encoding, State: r.State,
		})
		if err != nil {
			fmt.Fprintf(s.err, "printpay splice: receipt %d: %v\n", i, err)
			return 1
		}
		ins = append(ins, escpos.Insertion{Offset: r.SpliceOffset, Block: block})
	}
	if _, err := s.out.Write(escpos.Splice(data, ins)); err != nil {
		fmt.Fprintf(s.err, "printpay splice: write: %v\n", err)
		return 1
	}
	return 0
}

// receiptRules reports, per receipt, whether the rules find it payable and
// for how much. The rule engine's per-receipt report (agent/receipt) is not
// part of this build yet, so no receipt is known payable: --receipt payable
// takes the last receipt and the block has no amount line.
func receiptRules(_ []byte, job *escpos.Job) (payable []bool, amountFen []int64) {
	return make([]bool, len(job.Receipts)), make([]int64, len(job.Receipts))
}

// nativeModule is the module size the profile asks for native QR; raster
// QR sizes itself to the paper.
func nativeModule(mode string, p profiles.Profile) int {
	if mode == escpos.QRNative {
		return p.ModuleSize
	}
	return 0
}

// chooseReceipts turns --receipt into receipt indexes: "all", a number, or
// "payable" (the first receipt the rules find payable, else the last one).
func chooseReceipts(job *escpos.Job, which string, payable []bool) ([]int, error) {
	n := len(job.Receipts)
	switch which {
	case "all":
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all, nil
	case "payable":
		for i := 0; i < n && i < len(payable); i++ {
			if payable[i] {
				return []int{i}, nil
			}
		}
		return []int{n - 1}, nil
	}
	i, err := strconv.Atoi(which)
	if err != nil || i < 0 {
		return nil, fmt.Errorf("--receipt must be N, all or payable, not %q", which)
	}
	if i >= n {
		return nil, fmt.Errorf("--receipt %d: the job has %d receipts", i, n)
	}
	return []int{i}, nil
}

// errCLIJobTooLarge is returned for input over maxCLIJobBytes.
var errCLIJobTooLarge = errors.New("job larger than 64 MiB")

// readCLIJob reads FILE, or stdin for "-", up to maxCLIJobBytes bytes.
func readCLIJob(s stdio, name string) ([]byte, error) {
	var r io.Reader = s.in
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxCLIJobBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCLIJobBytes {
		return nil, errCLIJobTooLarge
	}
	return data, nil
}
