package main

import (
	"context"
	"flag"
	"fmt"

	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/drivers/profiles"
)

// cmdCheck checks a configuration file: "ok" and exit 0, or each error as
// FILE:LINE: message and exit 1.
//
//	printpay check [--config FILE]
func cmdCheck(_ context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(s.err)
	cfgPath := fs.String("config", "", "configuration file (TOML; default "+config.DefaultFile()+")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(s.err, "printpay check: unexpected arguments:", fs.Args())
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil {
		err = checkProfiles(cfg)
	}
	if err != nil {
		fmt.Fprintln(s.err, err)
		return 1
	}
	fmt.Fprintln(s.out, "ok")
	return 0
}

// checkProfiles reports a [[printer]] whose profile is not built in.
func checkProfiles(cfg config.Config) error {
	for _, p := range cfg.Printers {
		if _, err := profiles.Lookup(p.Profile); err != nil {
			return &config.Error{File: cfg.File, Line: p.Line, Msg: fmt.Sprintf("printer %q: profile %q is not known (%v)", p.Name, p.Profile, profiles.Names())}
		}
	}
	return nil
}
