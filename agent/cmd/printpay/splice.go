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
	"printpay.dev/printpay/agent/receipt"
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

	rep := receipt.Analyze(data, receipt.Options{Encoding: prof.Encoding})
	chosen, err := chooseReceipts(rep, *which)
	if err != nil {
		fmt.Fprintf(s.err, "printpay splice: %v\n", err)
		return 2
	}
	var ins []escpos.Insertion
	for _, i := range chosen {
		rc := rep.Receipts[i]
		r := rc.Escpos
		if r.SpliceOffset < 0 {
			fmt.Fprintf(s.err, "printpay splice: receipt %d gets no QR: %s\n", i, r.SpliceReason)
			continue
		}
		// The amount line shows what the rules found due, in CNY; a
		// receipt they do not find payable gets no amount line.
		var amount int64
		if rc.Payable && rc.AmountFen != nil {
			amount = *rc.AmountFen
		}
		block, err := escpos.QRBlock(escpos.QROptions{
			URL: *codeURL, Mode: mode, PaperDots: prof.PaperDots, ModuleSize: nativeModule(mode, prof),
			AmountFen: amount, Encoding: rep.Encoding, State: r.State,
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

// nativeModule is the module size the profile asks for native QR; raster
// QR sizes itself to the paper.
func nativeModule(mode string, p profiles.Profile) int {
	if mode == escpos.QRNative {
		return p.ModuleSize
	}
	return 0
}

// chooseReceipts turns --receipt into receipt indexes: "all", a number, or
// "payable" (the receipts Analyze gives the QR, else the last receipt).
func chooseReceipts(rep receipt.Report, which string) ([]int, error) {
	n := len(rep.Receipts)
	switch which {
	case "all":
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all, nil
	case "payable":
		if len(rep.QR) > 0 {
			return rep.QR, nil
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
