package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDesignFileIsTheDefault(t *testing.T) {
	cfg, err := Load("../../testdata/config/design.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.File = cfg.File
	want.Intake.LPD = "127.0.0.1:515" // the file says so, whoever runs it
	p := DefaultPrinter()
	p.Name, p.Driver, p.Device, p.Line = "front", "serial", "/dev/ttyUSB0", 34
	want.Printers = []Printer{p}
	if got, w := strings.ReplaceAll(sprint(cfg), cfg.File, ""), strings.ReplaceAll(sprint(want), cfg.File, ""); got != w {
		t.Fatalf("design.toml:\n got %s\nwant %s", got, w)
	}
}

func sprint(c Config) string {
	var b strings.Builder
	b.WriteString(strings.Join([]string{c.Intake.Raw, c.Intake.LPD, c.Intake.StatusReply, c.Spool.Dir, c.Status.Listen, c.Server.TokenFile, c.Server.Upload, c.Server.PaidNotice, c.Log.File}, "|"))
	b.WriteString(strings.Join([]string{c.Intake.IdleTimeout.String(), c.Intake.IdleTimeoutNoCut.String(), c.Spool.Retention.String(), c.Server.QRBudget.String(), c.Server.QRMaxAge.String()}, "|"))
	for _, n := range []int64{c.Intake.MaxJobBytes, int64(c.Intake.MaxConnections), c.Spool.MinFree, c.Log.MaxSize, int64(c.Log.MaxFiles)} {
		b.WriteString("|" + time.Duration(n).String())
	}
	for _, p := range c.Printers {
		b.WriteString("\n" + strings.Join([]string{p.Name, p.Driver, p.Device, p.Parity, p.Flow, p.Profile, p.QR, p.QRCopies, p.Encoding, p.Raw}, "|") + "|" + time.Duration(p.Baud).String() + "|" + time.Duration(p.Line).String())
	}
	return b.String()
}

func TestDefaults(t *testing.T) {
	d := Default()
	if d.Intake.MaxJobBytes != 32<<20 || d.Spool.MinFree != 200<<20 || d.Log.MaxSize != 10<<20 ||
		d.Intake.IdleTimeout != time.Second || d.Intake.IdleTimeoutNoCut != 5*time.Second ||
		d.Server.QRBudget != 1500*time.Millisecond || d.Server.QRMaxAge != 5*time.Minute ||
		d.Spool.Retention != 168*time.Hour || d.Intake.MaxConnections != 64 || d.Log.MaxFiles != 5 {
		t.Fatalf("defaults differ from DESIGN §6.1: %+v", d)
	}
	if serviceRun() != (d.Intake.LPD == "127.0.0.1:515") {
		t.Fatalf("lpd default %q for a service run = %v", d.Intake.LPD, serviceRun())
	}
	if filepath.Base(d.Spool.Dir) != "spool" || filepath.Base(d.Log.File) != "printpay.log" {
		t.Fatalf("program data paths: %s %s", d.Spool.Dir, d.Log.File)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRelativePathsAndRouting(t *testing.T) {
	cfg, err := Load("../../testdata/config/two-printers.toml")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("../../testdata/config", "spool"); cfg.Spool.Dir != want {
		t.Errorf("spool dir %q, want %q", cfg.Spool.Dir, want)
	}
	if want := filepath.Join("../../testdata/config", "preview"); cfg.Printers[0].Device != want {
		t.Errorf("file printer folder %q, want %q", cfg.Printers[0].Device, want)
	}
	if len(cfg.Printers) != 2 || cfg.Printers[1].Raw != "127.0.0.1:9101" || cfg.Printers[1].Line != 14 || cfg.Printers[1].Device != "192.168.1.50:9100" {
		t.Errorf("printers = %+v", cfg.Printers)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		// TOML syntax errors carry the parser's line.
		{"syntax", "[intake]\nraw = \n", "x.toml:2: "},
		// Unknown keys are errors at their own line, in tables and printers.
		{"unknown key", "[intake]\nraw = \"127.0.0.1:9100\"\nbogus = 1\n", `x.toml:3: unknown key "intake.bogus"`},
		{"unknown table", "\n[nope]\nx = 1\n", `x.toml:2: unknown key "nope"`},
		{"unknown printer key", "[[printer]]\nname = \"a\"\ndriver = \"file\"\ndevice = \"d\"\ncolour = \"red\"\n", `x.toml:5: unknown key "printer.colour"`},
		// Wrong types and bad values, with the line of the key.
		{"duration", "[intake]\n\nidle_timeout = \"soon\"\n", `x.toml:3: idle_timeout: bad duration "soon"`},
		{"duration type", "[intake]\nidle_timeout = 5\n", `x.toml:2: idle_timeout: want a duration string`},
		{"size", "[spool]\nmin_free = \"lots\"\n", `x.toml:2: min_free: bad size "lots"`},
		{"int type", "[intake]\nmax_connections = \"many\"\n", `x.toml:2: max_connections: want an integer`},
		{"zero connections", "[intake]\nmax_connections = 0\n", `x.toml:2: max_connections: must be positive`},
		{"status reply", "[intake]\nstatus_reply = \"maybe\"\n", `x.toml:2: status_reply: "maybe" is not online`},
		{"listen address", "[intake]\nraw = \"9100\"\n", `x.toml:2: raw: "9100" is not host:port`},
		// A status page open to the network needs a password file.
		{"open status", "[status]\nlisten = \"0.0.0.0:9180\"\n", `x.toml:2: listen: "0.0.0.0:9180" is not a loopback address`},
		{"upload", "[server]\nupload = \"all\"\n", `x.toml:2: upload: "all" is not items, full or off`},
		{"server url", "[server]\nurl = \"http://x\"\n", `x.toml:2: url: "http://x": want ws://, wss:// or local: (a local test source)`},
		// Printers: each block checked, errors at the key or the block.
		{"driver", "[[printer]]\nname = \"a\"\ndevice = \"d\"\n\n[[printer]]\nname = \"b\"\ndriver = \"lpt\"\ndevice = \"x\"\n", `x.toml:1: printer "a": driver "" is not one of usb, usblp`},
		{"driver 2", "[[printer]]\nname = \"a\"\ndriver = \"file\"\ndevice = \"d\"\n\n[[printer]]\nname = \"b\"\ndriver = \"lpt\"\ndevice = \"x\"\n", `x.toml:8: printer "b": driver "lpt" is not one of`},
		{"no name", "[[printer]]\ndriver = \"file\"\ndevice = \"d\"\n", `x.toml:1: printer 1: name is required`},
		{"dup name", "[[printer]]\nname = \"a\"\ndriver = \"file\"\ndevice = \"d\"\n[[printer]]\nname = \"a\"\ndriver = \"file\"\ndevice = \"d\"\n", `x.toml:6: printer "a": name used twice`},
		{"bad name", "[[printer]]\nname = \"a b\"\ndriver = \"file\"\ndevice = \"d\"\n", `x.toml:2: printer "a b": name may hold`},
		{"no device", "[[printer]]\nname = \"a\"\ndriver = \"serial\"\n", `x.toml:1: printer "a": device is required`},
		{"qr", "[[printer]]\nname = \"a\"\ndriver = \"usb\"\nqr = \"big\"\n", `x.toml:4: printer "a": qr "big"`},
		{"raw clash", "[[printer]]\nname = \"a\"\ndriver = \"usb\"\nraw = \"127.0.0.1:9100\"\n", `x.toml:4: printer "a": raw "127.0.0.1:9100" is already used by [intake] raw`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tc.toml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "x.toml:") {
				t.Fatalf("error %q has no file:line", err)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"32MiB", 32 << 20, false},
		{"200MiB", 200 << 20, false},
		{"10mib", 10 << 20, false},
		{"4096", 4096, false},
		{"1 GiB", 1 << 30, false},
		{"2MB", 2000000, false},
		{"MiB", 0, true},
		{"-1MiB", 0, true},
		{"3 parsecs", 0, true},
		{"99999999999999999999", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSizeAsInteger(t *testing.T) {
	cfg, err := Parse("x.toml", []byte("[intake]\nmax_job_bytes = 1048576\n"))
	if err != nil || cfg.Intake.MaxJobBytes != 1<<20 {
		t.Fatalf("%v %d", err, cfg.Intake.MaxJobBytes)
	}
}
