package profiles

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"printpay.dev/printpay/drivers"
)

func TestBuiltins(t *testing.T) {
	for _, tc := range []struct {
		name string
		dots int
		qr   string
	}{
		{Generic58, 384, "raster"},
		{Generic80, 576, "raster"},
		{"epson-tm-t88", 512, "native"},
		{"xprinter-xp58", 384, "raster"},
	} {
		p, err := Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != tc.name || p.PaperDots != tc.dots || p.QR != tc.qr {
			t.Errorf("%s: %+v", tc.name, p)
		}
		if !bytes.Equal(p.Cut, []byte{0x1d, 0x56, 0x41, 0x00}) {
			t.Errorf("%s: cut % x", tc.name, p.Cut)
		}
	}
	if len(All()) < 5 {
		t.Fatalf("only %d profiles", len(All()))
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("nope")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), Generic58) {
		t.Fatalf("err = %v", err)
	}
	p, err := Lookup("")
	if err != nil || p.Name != Generic80 {
		t.Fatalf("default: %v %v", p.Name, err)
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	p, _ := Lookup(Generic58)
	p.Cut[0] = 0
	q, _ := Lookup(Generic58)
	if q.Cut[0] != 0x1d {
		t.Fatal("Lookup shares the profile's slices")
	}
}

func TestMatchDevice(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		vid, pid uint16
		want     string
		ok       bool
	}{
		{"gadget POS58 by VID:PID", "MFG:Virtual;MDL:POS58;CMD:ESC/POS;CLS:PRINTER;", 0x0416, 0x5011, "xprinter-xp58", true},
		{"POS58 by model only", "MFG:Unknown;MDL:POS58;", 0x1234, 0x0001, "xprinter-xp58", true},
		{"TM-T88VI by 1284 model", "MFG:EPSON;CMD:ESC/POS;MDL:TM-T88VI;CLS:PRINTER;", 0x04b8, 0x0202, "epson-tm-t88", true},
		{"TM-T20II", "MFG:EPSON;MDL:TM-T20II;", 0x04b8, 0x0e15, "epson-tm-t20", true},
		{"unknown", "MFG:ACME;MDL:X;", 1, 2, Generic80, false},
		{"garbage ID", "\x00\xff;;;:::", 0, 0, Generic80, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := MatchDevice(drivers.ParseDeviceID(tc.id), tc.vid, tc.pid)
			if p.Name != tc.want || ok != tc.ok {
				t.Fatalf("got %s %v, want %s %v", p.Name, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseErrorsHaveLines(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax", "name = \"x\"\npaper_dots = = 3\n", "bad.toml:2:"},
		{"unknown key", "name = \"x\"\npaper_dots = 384\ncolour = \"red\"\n", "bad.toml:3: colour: unknown key"},
		{"bad qr", "name = \"x\"\npaper_dots = 384\nqr = \"laser\"\n", "bad.toml:3: qr:"},
		{"bad width", "name = \"x\"\npaper_dots = 385\n", "bad.toml:2: paper_dots:"},
		{"bad hex", "name = \"x\"\npaper_dots = 384\n\ncut = \"1D ZZ\"\n", "bad.toml:4: cut:"},
		{"bad usb", "name = \"x\"\npaper_dots = 384\n[[match]]\nusb = \"zz\"\n", "bad.toml:4: usb:"},
		{"missing name", "paper_dots = 384\n", "bad.toml: name: missing"},
		{"bad delay", "name = \"x\"\npaper_dots = 384\nchunk_delay = \"1h\"\n", "bad.toml:3: chunk_delay:"},
		{"bad encoding", "name = \"x\"\npaper_dots = 384\nencoding = \"klingon\"\n", "bad.toml:3: encoding:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.toml", []byte(tc.src))
			var pe *Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	p, _ := Lookup("xprinter-xp58-serial")
	var c drivers.Config
	p.Apply(&c)
	if c.Throttle != 900 || c.ChunkSize != 512 || c.ChunkDelay.Milliseconds() != 20 || c.StatusPoll {
		t.Fatalf("%+v", c)
	}
}
