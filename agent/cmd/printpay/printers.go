package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/all"
	"printpay.dev/printpay/drivers/profiles"
	"printpay.dev/printpay/drivers/usb"
)

// listPrinters is what `printpay printers` asks; tests replace it.
var listPrinters = all.List

// cmdPrinters lists the printers this machine can see (DESIGN §5):
//
//	printpay printers
//
// USB printers with their IEEE 1284 IDs (builds with libusb), Linux usblp
// nodes, serial ports and Windows print queues, each with the profile its
// 1284 ID or USB VID:PID selects, then a suggested [[printer]] block for
// the configuration (DESIGN §6.1). Exit status 0, also when nothing is
// found; 1 only when listing failed and found nothing; 2 on usage errors.
func cmdPrinters(_ context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("printers", flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() { fmt.Fprintln(s.err, "usage: printpay printers") }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	found, err := listPrinters()
	if err != nil {
		fmt.Fprintf(s.err, "printpay printers: %v\n", err)
		if len(found) == 0 {
			return 1
		}
	}
	groups := []struct{ driver, title string }{
		{"usb", "USB printers (libusb)"},
		{"usblp", "USB printers (Linux usblp)"},
		{"serial", "Serial ports"},
		{"winspool", "Windows print queues"},
	}
	for _, g := range groups {
		fmt.Fprintf(s.out, "%s:\n", g.title)
		n := 0
		for _, f := range found {
			if f.Driver != g.driver {
				continue
			}
			n++
			printFound(s.out, f)
		}
		if n == 0 {
			switch {
			case g.driver == "usb" && !usb.Supported:
				fmt.Fprintln(s.out, "  (this build has no libusb support; use the usblp driver on Linux)")
			default:
				fmt.Fprintln(s.out, "  (none)")
			}
		}
	}
	fmt.Fprintln(s.out)
	fmt.Fprintln(s.out, "Suggested configuration:")
	fmt.Fprintln(s.out)
	suggest(s.out, found)
	return 0
}

func printFound(w io.Writer, f drivers.Found) {
	line := "  " + f.Device
	if f.Description != "" {
		line += "  " + f.Description
	}
	if f.VID != 0 || f.PID != 0 {
		line += fmt.Sprintf("  [%04x:%04x]", f.VID, f.PID)
	}
	fmt.Fprintln(w, line)
	if f.DeviceID != "" {
		fmt.Fprintf(w, "      1284 ID: %s\n", printable(f.DeviceID))
	}
	if p, ok := profileFor(f); ok {
		fmt.Fprintf(w, "      profile: %s (%s)\n", p.Name, p.Description)
	}
}

func profileFor(f drivers.Found) (profiles.Profile, bool) {
	return profiles.MatchDevice(drivers.ParseDeviceID(f.DeviceID), f.VID, f.PID)
}

// suggest prints a [[printer]] block for the most direct printer found:
// USB through libusb, then usblp, then a Windows queue, then a serial
// port; with nothing found, the preview printer.
func suggest(w io.Writer, found []drivers.Found) {
	var pick *drivers.Found
	for _, d := range []string{"usb", "usblp", "winspool", "serial"} {
		for i := range found {
			if found[i].Driver == d {
				pick = &found[i]
				break
			}
		}
		if pick != nil {
			break
		}
	}
	fmt.Fprintln(w, "[[printer]]")
	fmt.Fprintln(w, `name = "front"`)
	if pick == nil {
		fmt.Fprintln(w, `driver = "file"                 # no printer found: the preview printer`)
		fmt.Fprintln(w, `device = "preview"`)
		fmt.Fprintln(w, `profile = "generic-80mm"`)
		return
	}
	fmt.Fprintf(w, "driver = %s\n", tomlString(pick.Driver))
	fmt.Fprintf(w, "device = %s\n", tomlString(pick.Device))
	if pick.Driver == "serial" {
		fmt.Fprintln(w, `baud = 9600                     # check the printer's self-test page`)
		fmt.Fprintln(w, `parity = "none"`)
		fmt.Fprintln(w, `flow = "none"                   # "rtscts" when the cable carries RTS/CTS`)
	}
	p, ok := profileFor(*pick)
	if ok {
		fmt.Fprintf(w, "profile = %s\n", tomlString(p.Name))
	} else {
		fmt.Fprintf(w, "profile = %s  # unknown model: %s for 58 mm paper\n", tomlString(p.Name), profiles.Generic58)
	}
	fmt.Fprintln(w, `qr = "auto"`)
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// printable keeps a device's 1284 ID to one readable line.
func printable(s string) string {
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '.'
		}
		return r
	}, s)
}
