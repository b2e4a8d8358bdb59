package link

import (
	"io"

	"printpay.dev/printpay/drivers"
)

// ReadBack copies what the printer sends back into cache until r fails,
// and returns that error. It holds at most one 256-byte buffer, so a
// printer flooding its back channel costs CPU, never memory. A read of
// zero bytes with no error (a serial read timeout) is not an error.
func ReadBack(r io.Reader, cache *drivers.StatusCache) error {
	var buf [256]byte
	for {
		n, err := r.Read(buf[:])
		if n > 0 {
			cache.Feed(buf[:n])
		}
		if err != nil {
			return err
		}
	}
}
