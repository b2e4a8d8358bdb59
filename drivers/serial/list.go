package serial

import (
	"go.bug.st/serial"

	"printpay.dev/printpay/drivers"
)

// List returns the serial ports the system knows (ptys are not listed).
func List() ([]drivers.Found, error) {
	ports, err := serial.GetPortsList()
	if err != nil {
		return nil, mapError("serial: list ports", err)
	}
	out := make([]drivers.Found, 0, len(ports))
	for _, p := range ports {
		out = append(out, drivers.Found{Driver: "serial", Device: p, Description: "serial port"})
	}
	return out, nil
}
