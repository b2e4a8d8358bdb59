package usb

import (
	"fmt"
	"strconv"
	"strings"

	"printpay.dev/printpay/drivers"
)

// Printer-class request codes (USB Printer Class 1.1, §4.2).
const (
	classPrinter     = 7
	reqGetDeviceID   = 0 // bmRequestType 0xA1
	reqGetPortStatus = 1 // bmRequestType 0xA1
	rtClassIn        = 0xa1
)

// spec is a parsed Config.Device.
type spec struct {
	any      bool // first printer-class interface
	vid, pid uint16
	serial   string
}

func parseSpec(s string) (spec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return spec{any: true}, nil
	}
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 {
		return spec{}, fmt.Errorf("usb: device %q: want VID:PID or VID:PID:serial in hex: %w", s, drivers.ErrNotFound)
	}
	v, err1 := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(parts[0]), "0x"), 16, 16)
	p, err2 := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(parts[1]), "0x"), 16, 16)
	if err1 != nil || err2 != nil {
		return spec{}, fmt.Errorf("usb: device %q: want VID:PID or VID:PID:serial in hex: %w", s, drivers.ErrNotFound)
	}
	sp := spec{vid: uint16(v), pid: uint16(p)}
	if len(parts) == 3 {
		sp.serial = parts[2]
	}
	return sp, nil
}

func (s spec) String() string {
	switch {
	case s.any:
		return "first USB printer"
	case s.serial != "":
		return fmt.Sprintf("%04x:%04x:%s", s.vid, s.pid, s.serial)
	}
	return fmt.Sprintf("%04x:%04x", s.vid, s.pid)
}
