package serial

import (
	"fmt"
	"reflect"

	"go.bug.st/serial"
	"golang.org/x/sys/windows"

	"printpay.dev/printpay/drivers"
)

// DCB flag bits (winbase.h) the library does not export.
const (
	dcbOutxCtsFlow = 0x00000004
	dcbOutX        = 0x00000100
	dcbInX         = 0x00000200
	dcbRTSMask     = 0x00003000
)

// openPort opens the port with go.bug.st/serial, then sets flow control in
// the port's DCB, which the library does not expose. The handle is read
// from the library's unexported windowsPort.handle (go.bug.st/serial
// v1.8.0); should a later version rename it, flow control other than none
// fails with ErrUnsupported instead of being silently off.
func openPort(path string, mode *serial.Mode, flow string) (serial.Port, error) {
	port, err := serial.Open(path, mode)
	if err != nil || flow == "" || flow == "none" {
		return port, err
	}
	h, ok := portHandle(port)
	if !ok {
		port.Close()
		return nil, fmt.Errorf("flow %q: cannot reach the port handle: %w", flow, drivers.ErrUnsupported)
	}
	var dcb windows.DCB
	dcb.DCBlength = uint32(reflect.TypeOf(dcb).Size())
	if err := windows.GetCommState(h, &dcb); err != nil {
		port.Close()
		return nil, fmt.Errorf("flow control: %w: %w", drivers.ErrUnsupported, err)
	}
	dcb.Flags &^= dcbOutxCtsFlow | dcbOutX | dcbInX | dcbRTSMask
	switch flow {
	case "rtscts":
		dcb.Flags |= dcbOutxCtsFlow | windows.RTS_CONTROL_HANDSHAKE
	case "xonxoff":
		dcb.Flags |= dcbOutX | dcbInX | windows.RTS_CONTROL_ENABLE
		dcb.XonChar, dcb.XoffChar = 0x11, 0x13
		dcb.XonLim, dcb.XoffLim = 512, 512
	}
	if err := windows.SetCommState(h, &dcb); err != nil {
		port.Close()
		return nil, fmt.Errorf("flow control: %w: %w", drivers.ErrUnsupported, err)
	}
	return port, nil
}

func portHandle(port serial.Port) (windows.Handle, bool) {
	v := reflect.ValueOf(port)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return 0, false
	}
	f := v.Elem().FieldByName("handle")
	if !f.IsValid() || f.Kind() != reflect.Uintptr {
		return 0, false
	}
	return windows.Handle(f.Uint()), true
}
