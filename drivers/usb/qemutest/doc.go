// Package qemutest runs the USB drivers against a real printer-class
// device: a QEMU (TCG) guest with Debian's kernel, dummy_hcd and the
// configfs printer gadget, whose gadget side (/dev/g_printer0) plays the
// printer. run.sh builds the guest test binary (go test -c with the usb
// and qemuguest tags), an initramfs with busybox, the kernel modules and
// the binary's shared libraries, boots the guest, and checks its console:
//
//	gousb:  a job arrives byte-exact at the gadget (sha256), a DLE EOT
//	        reply comes back over bulk IN into the status cache, the 1284
//	        ID is read, GET_PORT_STATUS reports paper-out, and jobs written
//	        while the gadget is unbound print in order once it is rebound;
//	usblp:  the same job, reply and 1284 ID through /dev/usb/lp0;
//	        then gousb again with usblp bound (kernel driver detached).
//
// Run it with `make -C drivers/usb/qemutest` (about 45 s; needs
// qemu-system-x86, busybox-static, cpio, libusb-1.0-0-dev, pkg-config and
// the Debian kernel package, which the script fetches with apt-get
// download). The guest tests are in guest_test.go behind the qemuguest
// build tag, so `go test ./...` on the host does not run them.
package qemutest
