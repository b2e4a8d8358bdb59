//go:build !unix && !windows

package link

import "printpay.dev/printpay/drivers"

func mapErrno(error) error { return drivers.ErrOffline }
