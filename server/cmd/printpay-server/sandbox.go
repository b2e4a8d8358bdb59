package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"

	"printpay.dev/printpay/server/sandbox"
)

// cmdSandbox runs the WeChat Pay v3 sandbox on one plain-HTTP listener and
// writes a demo merchant's credentials where a server config can point at
// them.
func cmdSandbox(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(s.err)
	listen := fs.String("listen", "127.0.0.1:9290", "address to listen on (plain HTTP)")
	remote := fs.Bool("allow-remote", false, "allow a non-loopback --listen address")
	out := fs.String("out", "", "folder for the demo merchant's credentials (default: a new temporary folder)")
	modeName := fs.String("mode", "public-key", "signing mode: public-key, certificate or migrating")
	partner := fs.Bool("partner", false, "make the demo merchant a service provider with a sub-merchant")
	fast := fs.Int64("retry-divisor", 1, "divide WeChat's notification retry schedule by this (e.g. 1000 for demos)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.err, "printpay-server sandbox: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	mode, err := sandbox.ParseMode(*modeName)
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server sandbox:", err)
		return 2
	}
	if !*remote && !loopbackAddr(*listen) {
		fmt.Fprintf(s.err, "printpay-server sandbox: %s is not a loopback address (use --allow-remote)\n", *listen)
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: level}))

	sb, err := sandbox.New(sandbox.Config{Mode: mode, RetrySchedule: sandbox.ScaledRetrySchedule(*fast), Logger: log})
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server sandbox:", err)
		return 1
	}
	m := sandbox.Merchant{}
	if *partner {
		m.SubMchID = "1900000901"
	}
	creds, err := sb.AddMerchant(m)
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server sandbox:", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server sandbox:", err)
		return 1
	}
	addr := ln.Addr().String()
	dir := *out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "printpay-sandbox-"); err != nil {
			ln.Close()
			fmt.Fprintln(s.err, "printpay-server sandbox:", err)
			return 1
		}
	}
	if err := creds.WriteFiles(dir, addr); err != nil {
		ln.Close()
		fmt.Fprintln(s.err, "printpay-server sandbox:", err)
		return 1
	}
	fmt.Fprintf(s.out, "sandbox: http://%s\n", addr)
	fmt.Fprintf(s.out, "mode: %s\n", mode)
	fmt.Fprintf(s.out, "credentials: %s (see %s)\n", dir, sandbox.FileMerchantTOML)
	fmt.Fprintf(s.out, "merchant: %s mchid=%s appid=%s", creds.Mode, creds.MchID, creds.AppID)
	if creds.SubMchID != "" {
		fmt.Fprintf(s.out, " sub_mchid=%s", creds.SubMchID)
	}
	fmt.Fprintln(s.out)
	fmt.Fprintf(s.out, "pay: POST http://%s/sandbox/pay/{out_trade_no}\n", addr)
	if err := sb.Serve(ctx, ln); err != nil {
		fmt.Fprintln(s.err, "printpay-server sandbox:", err)
		return 1
	}
	return 0
}

// loopbackAddr reports whether host:port names a loopback host.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
