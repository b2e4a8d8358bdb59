package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

var version = "0.1.0-dev"

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type command struct {
	run     func(ctx context.Context, s stdio, args []string) int
	summary string
}

var commands = map[string]command{
	"serve":    {cmdServe, "run the server (--config FILE)"},
	"sandbox":  {cmdSandbox, "run the WeChat Pay v3 sandbox (--listen ADDR)"},
	"migrate":  {cmdMigrate, "apply database migrations (--config FILE)"},
	"merchant": {cmdMerchant, "merchant add|code: set up a merchant, mint a pairing code"},
	"version":  {cmdVersion, "print the version"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, stdio{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, s stdio, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(s.err)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(s.err, "printpay-server: unknown command %q\n\n", args[0])
		usage(s.err)
		return 2
	}
	return c.run(ctx, s, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: printpay-server COMMAND [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
}

func cmdVersion(_ context.Context, s stdio, _ []string) int {
	fmt.Fprintln(s.out, "printpay-server", version)
	return 0
}

func notYet(s stdio, name string) int {
	fmt.Fprintf(s.err, "printpay-server %s: not available in this build yet\n", name)
	return 2
}
