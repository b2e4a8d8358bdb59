//go:build !windows

package winspool

import (
	"fmt"

	"printpay.dev/printpay/drivers"
)

// Open reports that print queues are a Windows matter.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	return nil, fmt.Errorf("winspool: Windows print queues exist only on Windows: %w", drivers.ErrUnsupported)
}

// List finds no queues outside Windows.
func List() ([]drivers.Found, error) { return nil, nil }
