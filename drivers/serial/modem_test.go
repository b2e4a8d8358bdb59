package serial

import (
	"context"
	"testing"
	"time"

	"go.bug.st/serial"

	"printpay.dev/printpay/drivers"
)

// modemPort is a serial.Port whose modem lines the test sets; ptys have
// none (TIOCMGET fails with ENOTTY), so this is how CTS-based detection
// is covered.
type modemPort struct {
	serial.Port
	bits *serial.ModemStatusBits
	err  error
}

func (m modemPort) GetModemStatusBits() (*serial.ModemStatusBits, error) { return m.bits, m.err }

func TestStatusFromModemLines(t *testing.T) {
	tests := []struct {
		name string
		flow string
		port modemPort
		want drivers.PrinterState
	}{
		{"CTS low with rtscts", "rtscts", modemPort{bits: &serial.ModemStatusBits{CTS: false, DSR: true}}, drivers.StateOffline},
		{"CTS high", "rtscts", modemPort{bits: &serial.ModemStatusBits{CTS: true}}, drivers.StateOnline},
		{"no flow control: lines ignored", "none", modemPort{bits: &serial.ModemStatusBits{}}, drivers.StateOnline},
		{"ENOTTY: unsupported, not an error", "rtscts", modemPort{err: &serial.PortError{}}, drivers.StateOnline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := new(drivers.StatusCache)
			cache.Set(drivers.Status{State: drivers.StateOnline, Since: time.Now()})
			p := &printer{cfg: drivers.Config{Flow: tc.flow}, cache: cache, port: tc.port}
			s, err := p.Status(context.Background())
			if err != nil || s.State != tc.want {
				t.Fatalf("%v %v, want %v", s.State, err, tc.want)
			}
		})
	}
}
