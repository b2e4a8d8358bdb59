package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"printpay.dev/printpay/agent/render"
	"printpay.dev/printpay/drivers/profiles"
)

// cmdRender draws a job as the printer would print it (DESIGN §5):
//
//	printpay render -o OUT.png [--profile NAME] [--paper DOTS] [--encoding ENC] FILE|-
//
// Problems drawing (missing glyphs, page mode, truncated commands) are
// warnings on stderr; the picture is still written and the exit status is 0.
func cmdRender(_ context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(s.err)
	out := fs.String("o", "", "the PNG file to write (required)")
	profile := fs.String("profile", profiles.Generic80, "printer profile (paper width, encoding)")
	paper := fs.Int("paper", 0, "paper width in dots (384 for 58 mm, 576 for 80 mm); default: the profile's")
	enc := fs.String("encoding", "", "the printer's text encoding; default: the profile's, else detected")
	fs.Usage = func() {
		fmt.Fprintln(s.err, "usage: printpay render -o OUT.png [--profile NAME] [--paper DOTS] [--encoding ENC] FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	prof, err := profiles.Lookup(*profile)
	if err != nil {
		fmt.Fprintf(s.err, "printpay render: %v\n", err)
		return 2
	}
	opt := render.Options{PaperDots: prof.PaperDots, Encoding: prof.Encoding}
	if *paper != 0 {
		opt.PaperDots = *paper
	}
	if *enc != "" {
		opt.Encoding = *enc
	}
	data, err := readCLIJob(s, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(s.err, "printpay render: %v\n", err)
		return 1
	}
	png, warnings, err := render.PNG(data, opt)
	for _, w := range warnings {
		fmt.Fprintf(s.err, "printpay render: warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(s.err, "printpay render: %v\n", err)
		return 1
	}
	if err := os.WriteFile(*out, png, 0o644); err != nil {
		fmt.Fprintf(s.err, "printpay render: %v\n", err)
		return 1
	}
	return 0
}
