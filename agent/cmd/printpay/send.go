package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// cmdSend sends a job to a raw (9100) listener: connect, write the file,
// half-close, and wait for the listener to close (bounded).
//
//	printpay send [--timeout 10s] ADDR FILE|-
func cmdSend(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(s.err)
	timeout := fs.Duration("timeout", 10*time.Second, "bound on connecting, sending and the listener's close")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(s.err, "usage: printpay send [--timeout 10s] ADDR FILE|-")
		return 2
	}
	addr, name := fs.Arg(0), fs.Arg(1)
	var src io.Reader = s.in
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(s.err, "printpay send:", err)
			return 1
		}
		defer f.Close()
		src = f
	}
	n, err := send(ctx, addr, src, *timeout)
	if err != nil {
		fmt.Fprintln(s.err, "printpay send:", err)
		return 1
	}
	fmt.Fprintf(s.out, "sent %d bytes to %s\n", n, addr)
	return 0
}

func send(ctx context.Context, addr string, src io.Reader, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	n, err := io.Copy(c, src)
	if err != nil {
		return n, fmt.Errorf("after %d bytes: %w", n, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return n, err
		}
	}
	// The listener may answer status queries in the job; drain until it
	// closes its side.
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) {
		if ctx.Err() != nil {
			return n, fmt.Errorf("sent %d bytes; the listener did not close within %s", n, timeout)
		}
		return n, err
	}
	return n, nil
}
