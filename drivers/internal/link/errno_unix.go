//go:build unix

package link

import (
	"errors"

	"golang.org/x/sys/unix"

	"printpay.dev/printpay/drivers"
)

func mapErrno(err error) error {
	var e unix.Errno
	if !errors.As(err, &e) {
		return drivers.ErrOffline
	}
	switch e {
	case unix.ENOENT, unix.ENXIO:
		return drivers.ErrNotFound
	case unix.EBUSY, unix.EACCES, unix.EPERM, unix.EAGAIN:
		return drivers.ErrBusy
	case unix.ENOTTY, unix.EINVAL, unix.EOPNOTSUPP:
		return drivers.ErrUnsupported
	}
	// EIO, ENODEV (unplugged), EPIPE, ECONNRESET, ...
	return drivers.ErrOffline
}
