//go:build windows

package link

import (
	"errors"
	"syscall"

	"printpay.dev/printpay/drivers"
)

func mapErrno(err error) error {
	var e syscall.Errno
	if !errors.As(err, &e) {
		return drivers.ErrOffline
	}
	switch e {
	case syscall.ERROR_FILE_NOT_FOUND, syscall.ERROR_PATH_NOT_FOUND:
		return drivers.ErrNotFound
	case syscall.ERROR_ACCESS_DENIED:
		return drivers.ErrBusy
	}
	return drivers.ErrOffline
}
