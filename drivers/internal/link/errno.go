package link

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"printpay.dev/printpay/drivers"
)

// MapOSError translates an operating-system error from opening, reading or
// writing a device into the drivers sentinels, keeping the original in the
// chain. what names the operation ("serial: write /dev/ttyUSB0"). Errors
// already carrying a sentinel are only prefixed.
func MapOSError(what string, err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{drivers.ErrOffline, drivers.ErrBusy, drivers.ErrNotFound, drivers.ErrPaperOut, drivers.ErrUnsupported} {
		if errors.Is(err, s) {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	var sentinel error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		sentinel = drivers.ErrNotFound
	case errors.Is(err, fs.ErrPermission):
		sentinel = drivers.ErrBusy
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrClosed),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, io.ErrShortWrite):
		sentinel = drivers.ErrOffline
	default:
		sentinel = mapErrno(err)
	}
	return fmt.Errorf("%s: %w: %w", what, sentinel, err)
}
