package main

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
)

// TestMain doubles as a `printpay-server serve --config $PRINTPAY_HELPER_SERVE`
// process for TestScaleOutProcesses: it serves until its stdin closes.
func TestMain(m *testing.M) {
	if cfg := os.Getenv("PRINTPAY_HELPER_SERVE"); cfg != "" {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			bufio.NewReader(os.Stdin).ReadString('\n')
			cancel()
		}()
		os.Exit(dispatch(ctx, stdio{strings.NewReader(""), os.Stderr, os.Stderr}, []string{"serve", "--config", cfg}))
	}
	os.Exit(m.Run())
}
