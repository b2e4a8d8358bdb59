package all

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/file"
	"printpay.dev/printpay/drivers/serial"
	"printpay.dev/printpay/drivers/tcp"
	"printpay.dev/printpay/drivers/usb"
	"printpay.dev/printpay/drivers/usblp"
	"printpay.dev/printpay/drivers/winspool"
)

// ErrUnknownDriver wraps drivers.ErrUnsupported for a driver name no
// package answers to.
var ErrUnknownDriver = fmt.Errorf("all: unknown driver: %w", drivers.ErrUnsupported)

var openers = map[string]func(drivers.Config) (drivers.Printer, error){
	"usb":      usb.Open,
	"usblp":    usblp.Open,
	"serial":   serial.Open,
	"tcp":      tcp.Open,
	"winspool": winspool.Open,
	"file":     file.Open,
}

// Names lists the driver names Open accepts.
func Names() []string {
	out := make([]string, 0, len(openers))
	for n := range openers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Open opens the printer cfg describes with the driver cfg.Driver.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	open, ok := openers[strings.ToLower(strings.TrimSpace(cfg.Driver))]
	if !ok {
		return nil, fmt.Errorf("%w %q for printer %q (known: %s)", ErrUnknownDriver, cfg.Driver, cfg.Name, strings.Join(Names(), ", "))
	}
	p, err := open(cfg)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("all: driver %s returned no printer: %w", cfg.Driver, drivers.ErrNotFound)
	}
	return p, nil
}

// List asks every driver for the printers it can see. Drivers that cannot
// list in this build (usb without the usb tag, winspool off Windows) are
// skipped; other failures are returned joined, next to what was found.
func List() ([]drivers.Found, error) {
	var out []drivers.Found
	var errs []error
	for _, l := range []func() ([]drivers.Found, error){usb.List, usblp.List, serial.List, winspool.List} {
		fs, err := l()
		out = append(out, fs...)
		if err != nil && !errors.Is(err, drivers.ErrUnsupported) {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}
