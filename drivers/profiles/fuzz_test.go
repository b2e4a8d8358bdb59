package profiles

import (
	"errors"
	"testing"
)

// FuzzParse: any profile file either parses into a valid profile or fails
// with a located *Error, never a panic.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"data/generic-58mm.toml", "data/epson-tm-t88.toml", "data/xprinter-xp58.toml"} {
		b, err := dataFS.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name = \"x\"\npaper_dots = 384\n[[match]]\nusb = \"0416:5011\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("fuzz.toml", b)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error without location: %v", err)
			}
			return
		}
		if p.Name == "" || p.PaperDots < 128 || p.PaperDots > 1024 || (p.QR != "raster" && p.QR != "native") {
			t.Fatalf("invalid profile accepted: %+v", p)
		}
	})
}
