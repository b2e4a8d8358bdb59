//go:build usb && cgo

package usb

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/gousb"

	"printpay.dev/printpay/drivers"
)

func TestMapGousbErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{gousb.ErrorNoDevice, drivers.ErrOffline},
		{gousb.ErrorIO, drivers.ErrOffline},
		{gousb.ErrorPipe, drivers.ErrOffline},
		{gousb.ErrorTimeout, drivers.ErrOffline},
		{gousb.ErrorBusy, drivers.ErrBusy},
		{gousb.ErrorAccess, drivers.ErrBusy},
		{gousb.ErrorNotFound, drivers.ErrNotFound},
		{gousb.ErrorNotSupported, drivers.ErrUnsupported},
		{gousb.TransferStall, drivers.ErrOffline},
		{gousb.TransferNoDevice, drivers.ErrOffline},
		{fmt.Errorf("claim: %w", gousb.ErrorBusy), drivers.ErrBusy},
		{unwrapGousb(errors.New("Can't detach kernel driver: libusb: device or resource busy [code -6]")), drivers.ErrBusy},
	} {
		if got := mapError("usb: x", tc.err); !errors.Is(got, tc.want) {
			t.Errorf("mapError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// On a machine without the wanted device gousb finds nothing and returns
// (nil, nil); Open must turn that into ErrNotFound, never a nil printer.
func TestOpenMissingDevice(t *testing.T) {
	for _, dev := range []string{"dead:beef", "dead:beef:NOPE"} {
		p, err := Open(drivers.Config{Device: dev})
		if err == nil {
			p.Close()
			t.Skipf("a device %s is attached", dev)
		}
		if !errors.Is(err, drivers.ErrNotFound) {
			t.Fatalf("Open(%s): %v", dev, err)
		}
	}
	if _, err := List(); err != nil {
		t.Fatalf("List: %v", err)
	}
}
