// Package usb drives USB printer-class devices (class 7) directly through
// libusb (github.com/google/gousb). It is built only with the usb build tag
// and cgo (release builds use -tags usb); every other build gets a stub
// whose Open returns drivers.ErrUnsupported and points to the usblp driver
// (Linux /dev/usb/lpN), which needs no C library.
//
// Config.Device is "VID:PID" or "VID:PID:serial" in hex (e.g. "0416:5011"),
// or empty for the first printer-class interface found. Jobs go out on the
// interface's bulk OUT endpoint; everything the printer sends on bulk IN
// feeds the status cache. The IEEE 1284 GET_DEVICE_ID and GET_PORT_STATUS
// class requests give the device ID and a paper/online status.
//
// A kernel driver (usblp) is detached only when one is bound to the
// interface: asking libusb to auto-detach when none is bound makes the
// claim fail with "busy" (libusb 1.0.26, kernel 6.1). After the device is
// unplugged or re-enumerates, the next Write opens it again.
package usb
