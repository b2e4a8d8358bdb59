package api_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// TestMain doubles as the idle-connection node of TestIdleConnections when
// started with PRINTPAY_HELPER_NODE set.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PRINTPAY_HELPER_NODE"); dir != "" {
		n, _ := strconv.Atoi(os.Getenv("PRINTPAY_HELPER_DEVICES"))
		if err := helperNode(dir, n); err != nil {
			fmt.Fprintln(os.Stderr, "helper node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
