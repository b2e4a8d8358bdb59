//go:build !(usb && cgo)

package usb

import (
	"errors"
	"strings"
	"testing"

	"printpay.dev/printpay/drivers"
)

func TestStubPointsToUsblp(t *testing.T) {
	_, err := Open(drivers.Config{Device: "0416:5011"})
	if !errors.Is(err, drivers.ErrUnsupported) || !strings.Contains(err.Error(), "usblp") {
		t.Fatalf("%v", err)
	}
	if _, err := List(); !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("%v", err)
	}
}
