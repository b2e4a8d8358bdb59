//go:build usb && cgo

package usb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/gousb"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/link"
)

// Supported reports whether this build talks to USB devices itself.
const Supported = true

// Every open and every listing uses its own libusb context, closed with
// it. libusb's device list is kept current by udev events; without a udev
// daemon (minimal systems, the QEMU test guest) a long-lived context never
// sees a printer that was unplugged and plugged in again, while a fresh
// context scans the bus anew.

// Open claims the printer interface of the device cfg.Device names.
func Open(cfg drivers.Config) (drivers.Printer, error) {
	sp, err := parseSpec(cfg.Device)
	if err != nil {
		return nil, err
	}
	return newPrinter(cfg, sp.String(), func() (device, error) { return openDevice(sp) }, mapError)
}

// printerIface finds the first printer-class interface setting with a
// bulk OUT endpoint in the device's configurations.
func printerIface(desc *gousb.DeviceDesc) (cfg int, set gousb.InterfaceSetting, ok bool) {
	for _, c := range desc.Configs {
		for _, intf := range c.Interfaces {
			for _, alt := range intf.AltSettings {
				if alt.Class != classPrinter {
					continue
				}
				for _, ep := range alt.Endpoints {
					if ep.Direction == gousb.EndpointDirectionOut && ep.TransferType == gousb.TransferTypeBulk {
						return c.Number, alt, true
					}
				}
			}
		}
	}
	return 0, gousb.InterfaceSetting{}, false
}

func openDevice(sp spec) (device, error) {
	ctx := gousb.NewContext()
	devs, err := ctx.OpenDevices(func(desc *gousb.DeviceDesc) bool {
		if !sp.any && (uint16(desc.Vendor) != sp.vid || uint16(desc.Product) != sp.pid) {
			return false
		}
		_, _, ok := printerIface(desc)
		return ok
	})
	// OpenDevices may return devices and an error from another device in
	// the list; a match wins over that error. Nothing matching can come
	// back as (nil, nil).
	var chosen *gousb.Device
	for _, d := range devs {
		if chosen == nil && (sp.serial == "" || serialOf(d) == sp.serial) {
			chosen = d
			continue
		}
		d.Close()
	}
	if chosen == nil {
		ctx.Close()
		if err != nil {
			return nil, mapError("usb: open "+sp.String(), err)
		}
		return nil, fmt.Errorf("usb: no printer matches %s: %w", sp, drivers.ErrNotFound)
	}
	d, err := claim(chosen)
	if err != nil {
		chosen.Close()
		ctx.Close()
		return nil, mapError("usb: claim "+sp.String(), err)
	}
	d.ctx = ctx
	return d, nil
}

func serialOf(d *gousb.Device) string {
	s, _ := d.SerialNumber()
	return s
}

type gdev struct {
	ctx  *gousb.Context
	dev  *gousb.Device
	cfg  *gousb.Config
	intf *gousb.Interface
	out  *gousb.OutEndpoint
	in   *gousb.InEndpoint // nil when the interface has no bulk IN
	idx  uint16
	once sync.Once
}

// claim selects the configuration and claims the printer interface,
// detaching a kernel driver only when one is bound; if the claim still
// reports busy with the other choice, it is retried once with it.
func claim(d *gousb.Device) (*gdev, error) {
	cfgNum, set, _ := printerIface(d.Desc)
	bound := kernelDriverBound(d.Desc.Bus, d.Desc.Path, cfgNum, set.Number)
	g, err := claimWith(d, cfgNum, set, bound)
	if err != nil && errors.Is(err, gousb.ErrorBusy) {
		g, err = claimWith(d, cfgNum, set, !bound)
	}
	return g, err
}

func claimWith(d *gousb.Device, cfgNum int, set gousb.InterfaceSetting, detach bool) (*gdev, error) {
	if err := d.SetAutoDetach(detach); err != nil {
		return nil, err
	}
	cfg, err := d.Config(cfgNum)
	if err != nil {
		return nil, unwrapGousb(err)
	}
	intf, err := cfg.Interface(set.Number, set.Alternate)
	if err != nil {
		cfg.Close()
		return nil, unwrapGousb(err)
	}
	g := &gdev{dev: d, cfg: cfg, intf: intf, idx: uint16(set.Number)<<8 | uint16(set.Alternate)}
	for _, ep := range set.Endpoints {
		if ep.TransferType != gousb.TransferTypeBulk {
			continue
		}
		if ep.Direction == gousb.EndpointDirectionOut && g.out == nil {
			if g.out, err = intf.OutEndpoint(ep.Number); err != nil {
				g.release()
				return nil, err
			}
		}
		if ep.Direction == gousb.EndpointDirectionIn && g.in == nil {
			g.in, _ = intf.InEndpoint(ep.Number)
		}
	}
	return g, nil
}

// unwrapGousb recovers the libusb error code from gousb's %v-formatted
// errors (Config wraps them as text), so mapError can classify them.
func unwrapGousb(err error) error {
	var ge gousb.Error
	if errors.As(err, &ge) {
		return err
	}
	for _, code := range []gousb.Error{gousb.ErrorBusy, gousb.ErrorAccess, gousb.ErrorNoDevice, gousb.ErrorNotFound, gousb.ErrorIO, gousb.ErrorNotSupported} {
		if strings.Contains(err.Error(), code.Error()) {
			return fmt.Errorf("%w (%v)", code, err)
		}
	}
	return err
}

func (g *gdev) Write(ctx context.Context, p []byte) (int, error) {
	return g.out.WriteContext(ctx, p)
}

func (g *gdev) Read(ctx context.Context, p []byte) (int, error) {
	if g.in == nil {
		return 0, errNoIn
	}
	return g.in.ReadContext(ctx, p)
}

func (g *gdev) Control(rType, request uint8, val, idx uint16, data []byte) (int, error) {
	return g.dev.Control(rType, request, val, idx, data)
}

func (g *gdev) Index() uint16 { return g.idx }

func (g *gdev) release() {
	g.once.Do(func() {
		g.intf.Close()
		g.cfg.Close()
	})
}

func (g *gdev) Close() error {
	g.release()
	err := g.dev.Close()
	if g.ctx != nil {
		g.ctx.Close()
	}
	return err
}

// List returns the printer-class devices libusb can see, with their 1284
// IDs where the device answers GET_DEVICE_ID without being claimed.
func List() ([]drivers.Found, error) {
	ctx := gousb.NewContext()
	defer ctx.Close()
	devs, err := ctx.OpenDevices(func(desc *gousb.DeviceDesc) bool {
		_, _, ok := printerIface(desc)
		return ok
	})
	var out []drivers.Found
	for _, d := range devs {
		f := drivers.Found{Driver: "usb", VID: uint16(d.Desc.Vendor), PID: uint16(d.Desc.Product)}
		f.Serial = serialOf(d)
		f.Device = fmt.Sprintf("%04x:%04x", f.VID, f.PID)
		if f.Serial != "" {
			f.Device += ":" + f.Serial
		}
		mfr, _ := d.Manufacturer()
		prod, _ := d.Product()
		f.Description = trimJoin(mfr, prod)
		_, set, _ := printerIface(d.Desc)
		buf := make([]byte, 1024)
		if n, err := d.Control(rtClassIn, reqGetDeviceID, 0, uint16(set.Number)<<8|uint16(set.Alternate), buf); err == nil {
			f.DeviceID = drivers.DeviceIDFromWire(buf[:n])
		}
		d.Close()
		out = append(out, f)
	}
	if err != nil && len(out) == 0 {
		return nil, mapError("usb: list devices", err)
	}
	return out, nil
}

func trimJoin(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

// mapError translates libusb errors and transfer statuses into the
// drivers sentinels.
func mapError(what string, err error) error {
	if err == nil {
		return nil
	}
	var ge gousb.Error
	if errors.As(err, &ge) {
		var s error
		switch ge {
		case gousb.ErrorNotFound:
			s = drivers.ErrNotFound
		case gousb.ErrorBusy, gousb.ErrorAccess:
			s = drivers.ErrBusy
		case gousb.ErrorNotSupported, gousb.ErrorInvalidParam:
			s = drivers.ErrUnsupported
		default: // IO, NoDevice, Timeout, Pipe, Overflow, Interrupted, ...
			s = drivers.ErrOffline
		}
		return fmt.Errorf("%s: %w: %w", what, s, err)
	}
	var ts gousb.TransferStatus
	if errors.As(err, &ts) {
		return fmt.Errorf("%s: %w: %w", what, drivers.ErrOffline, err)
	}
	return link.MapOSError(what, err)
}
