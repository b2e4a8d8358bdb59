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

// version is set at link time by `make dist` (-X main.version=...).
var version = "0.1.0-dev"

// stdio is what a subcommand may read and write, so tests can run commands
// in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type command struct {
	run     func(ctx context.Context, s stdio, args []string) int
	summary string
}

var commands = map[string]command{
	"demo":      {cmdDemo, "agent + local server + WeChat Pay sandbox + preview printer on loopback"},
	"run":       {cmdRun, "run the agent in the foreground (--config FILE)"},
	"check":     {cmdCheck, "check a configuration file (--config FILE)"},
	"send":      {cmdSend, "send a job to a raw 9100 listener: send ADDR FILE"},
	"inspect":   {cmdInspect, "show what printpay reads in a job: inspect [--json] [--rules FILE] [--encoding ENC] FILE|-"},
	"splice":    {cmdSplice, "insert a QR block: splice --code-url URL [--qr native|raster] [--profile NAME] [--receipt N|all|payable] FILE|-"},
	"render":    {cmdRender, "draw a job as the printer would print it: render -o OUT.png FILE"},
	"enroll":    {cmdEnroll, "pair this till with a server: enroll --server URL --code CODE"},
	"printers":  {cmdPrinters, "list the printers this machine can see, with a suggested [[printer]] block"},
	"install":   {cmdService, "install the service [--printer-queue]"},
	"uninstall": {cmdService, "remove the service"},
	"start":     {cmdService, "start the service"},
	"stop":      {cmdService, "stop the service"},
	"status":    {cmdService, "show the service's state"},
	"version":   {cmdVersion, "print the version"},
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
		fmt.Fprintf(s.err, "printpay: unknown command %q\n\n", args[0])
		usage(s.err)
		return 2
	}
	if c.run == nil {
		return 2
	}
	// Service commands need to know which one they are.
	if args[0] == "install" || args[0] == "uninstall" || args[0] == "start" || args[0] == "stop" || args[0] == "status" {
		return c.run(ctx, s, args)
	}
	return c.run(ctx, s, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: printpay COMMAND [flags] [args]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

func cmdVersion(_ context.Context, s stdio, _ []string) int {
	fmt.Fprintln(s.out, "printpay", version)
	return 0
}

// notYet reports a command whose implementation has not landed.
func notYet(s stdio, name string) int {
	fmt.Fprintf(s.err, "printpay %s: not available in this build yet\n", name)
	return 2
}
