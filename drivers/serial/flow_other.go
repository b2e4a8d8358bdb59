//go:build !linux && !windows

package serial

import (
	"fmt"

	"go.bug.st/serial"

	"printpay.dev/printpay/drivers"
)

// openPort opens the port; flow control other than none is only set on
// Linux and Windows (go.bug.st/serial has no API for it).
func openPort(path string, mode *serial.Mode, flow string) (serial.Port, error) {
	if flow != "" && flow != "none" {
		return nil, fmt.Errorf("flow %q on this system: %w", flow, drivers.ErrUnsupported)
	}
	return serial.Open(path, mode)
}
