//go:build !(usb && cgo)

package usb

import (
	"fmt"

	"printpay.dev/printpay/drivers"
)

// Supported reports whether this build talks to USB devices itself.
const Supported = false

// Open reports that this build has no libusb support.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	return nil, fmt.Errorf("usb: this build has no libusb support (built without the usb tag or cgo); "+
		"on Linux use driver = \"usblp\" with device = \"/dev/usb/lp0\": %w", drivers.ErrUnsupported)
}

// List reports that this build cannot enumerate USB devices.
func List() ([]drivers.Found, error) {
	return nil, fmt.Errorf("usb: listing needs a build with the usb tag and cgo: %w", drivers.ErrUnsupported)
}
