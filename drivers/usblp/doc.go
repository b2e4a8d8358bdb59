// Package usblp drives a USB printer through the Linux kernel's usblp
// driver (/dev/usb/lpN), which needs no C library: jobs are written to the
// device node, the printer's replies are read from it (bidirectional
// printers only) into the status cache, the IEEE 1284 device ID comes from
// the LPIOC_GET_DEVICE_ID ioctl and the port status from LPGETSTATUS.
//
// On other systems Open returns drivers.ErrUnsupported. After the printer
// is unplugged the next Write opens the node again (it reappears with the
// same name when it is the only printer).
package usblp

// LPIOC_GET_DEVICE_ID(len) is _IOC(_IOC_READ, 'P', 1, len) in
// drivers/usb/class/usblp.c; LPGETSTATUS is 0x060b in <linux/lp.h>.
const (
	iocRead     = 2
	lpGetStatus = 0x060b
	idBufLen    = 1024
)

func iocGetDeviceID(n int) uint {
	return iocRead<<30 | uint(n)<<16 | uint('P')<<8 | 1
}
