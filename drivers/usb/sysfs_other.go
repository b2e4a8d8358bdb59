//go:build !linux

package usb

// kernelDriverBound: only Linux binds kernel drivers libusb must detach.
func kernelDriverBound(bus int, path []int, cfg, iface int) bool { return false }

const kernelDriverSupported = false

var sysfsRoot string
