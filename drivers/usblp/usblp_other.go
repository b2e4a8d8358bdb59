//go:build !linux

package usblp

import (
	"fmt"

	"printpay.dev/printpay/drivers"
)

// Open reports that usblp is a Linux driver.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	return nil, fmt.Errorf("usblp: /dev/usb/lpN exists only on Linux: %w", drivers.ErrUnsupported)
}

// List finds nothing outside Linux.
func List() ([]drivers.Found, error) { return nil, nil }
