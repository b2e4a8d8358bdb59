package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"printpay.dev/printpay/drivers"
)

func runPrinters(t *testing.T, found []drivers.Found, err error) (string, string, int) {
	t.Helper()
	old := listPrinters
	listPrinters = func() ([]drivers.Found, error) { return found, err }
	defer func() { listPrinters = old }()
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), stdio{strings.NewReader(""), &out, &errb}, []string{"printers"})
	return out.String(), errb.String(), code
}

// suggestion decodes the [[printer]] block the command prints.
func suggestion(t *testing.T, out string) map[string]any {
	t.Helper()
	i := strings.Index(out, "[[printer]]")
	if i < 0 {
		t.Fatalf("no [[printer]] block in:\n%s", out)
	}
	var cfg struct {
		Printer []map[string]any `toml:"printer"`
	}
	if _, err := toml.Decode(out[i:], &cfg); err != nil {
		t.Fatalf("suggested block is not TOML: %v\n%s", err, out[i:])
	}
	if len(cfg.Printer) != 1 {
		t.Fatalf("%d printers", len(cfg.Printer))
	}
	return cfg.Printer[0]
}

func TestPrintersKnownUSBModel(t *testing.T) {
	out, _, code := runPrinters(t, []drivers.Found{
		{Driver: "serial", Device: "/dev/ttyS0", Description: "serial port"},
		{Driver: "usblp", Device: "/dev/usb/lp0", DeviceID: "MFG:Virtual;MDL:POS58;CMD:ESC/POS;CLS:PRINTER;", VID: 0x0416, PID: 0x5011},
		{Driver: "usb", Device: "04b8:0202", Description: "EPSON TM-T88VI", DeviceID: "MFG:EPSON;CMD:ESC/POS;MDL:TM-T88VI;CLS:PRINTER;", VID: 0x04b8, PID: 0x0202},
	}, nil)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"/dev/ttyS0", "/dev/usb/lp0", "1284 ID: MFG:EPSON", "profile: epson-tm-t88", "profile: xprinter-xp58"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	got := suggestion(t, out)
	if got["driver"] != "usb" || got["device"] != "04b8:0202" || got["profile"] != "epson-tm-t88" || got["name"] != "front" {
		t.Fatalf("%v", got)
	}
}

func TestPrintersSerialOnly(t *testing.T) {
	out, _, code := runPrinters(t, []drivers.Found{{Driver: "serial", Device: "COM3"}}, nil)
	got := suggestion(t, out)
	if code != 0 || got["driver"] != "serial" || got["device"] != "COM3" || got["baud"] != int64(9600) || got["profile"] != "generic-80mm" {
		t.Fatalf("%d %v", code, got)
	}
}

func TestPrintersWindowsQueueNameQuoted(t *testing.T) {
	out, _, _ := runPrinters(t, []drivers.Found{{Driver: "winspool", Device: `\\shop-pc\POS "80"`}}, nil)
	if got := suggestion(t, out); got["device"] != `\\shop-pc\POS "80"` {
		t.Fatalf("%v", got)
	}
}

func TestPrintersNothingAndErrors(t *testing.T) {
	out, _, code := runPrinters(t, nil, nil)
	if got := suggestion(t, out); code != 0 || got["driver"] != "file" {
		t.Fatalf("%d %v", code, got)
	}
	_, errOut, code := runPrinters(t, nil, errors.New("serial: list ports: boom"))
	if code != 1 || !strings.Contains(errOut, "boom") {
		t.Fatalf("%d %q", code, errOut)
	}
	out, _, code = runPrinters(t, []drivers.Found{{Driver: "usblp", Device: "/dev/usb/lp1", DeviceID: strings.Repeat("\x00\xffMDL:", 400)}}, errors.New("partial"))
	if code != 0 || strings.ContainsRune(out, 0) {
		t.Fatalf("garbage ID: %d", code)
	}
	if _, _, code := runPrinters(t, nil, nil); code != 0 {
		t.Fatal(code)
	}
}

func TestPrintersUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch(context.Background(), stdio{strings.NewReader(""), &out, &errb}, []string{"printers", "extra"}); code != 2 {
		t.Fatalf("exit %d", code)
	}
}

// On this machine, with the real drivers: exit 0 and a valid block.
func TestPrintersReal(t *testing.T) {
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), stdio{strings.NewReader(""), &out, &errb}, []string{"printers"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	suggestion(t, out.String())
}
