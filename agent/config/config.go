package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the agent's whole configuration.
type Config struct {
	File     string    // the file it was loaded from; "" for defaults
	Intake   Intake    //
	Spool    Spool     //
	Status   Status    //
	Server   Server    //
	Log      Log       //
	Printers []Printer // in file order; the first gets [intake] raw
}

// Intake is the [intake] table: how jobs come in.
type Intake struct {
	Raw              string        // raw (AppSocket) listen address; "" = off
	LPD              string        // LPD listen address; "" = off
	IdleTimeout      time.Duration // raw job end after a cut and this much silence
	IdleTimeoutNoCut time.Duration // ... when the job so far has no cut
	MaxJobBytes      int64         //
	MaxConnections   int           //
	AppendCut        bool          // add a cut to jobs that have none
	StatusReply      string        // answer when the printer's status is unknown: online | offline | paper-out
}

// Spool is the [spool] table.
type Spool struct {
	Dir       string        // default <program data>/spool
	Retention time.Duration // done jobs older than this are pruned
	MinFree   int64         // intake refuses jobs below this many free bytes
}

// Status is the [status] table: the local status page.
type Status struct {
	Listen       string
	PasswordFile string // required before Listen may be non-loopback
}

// Server is the [server] table: the cloud link.
type Server struct {
	URL        string // "" = no cloud
	TokenFile  string // default <program data>/token
	QRBudget   time.Duration
	QRMaxAge   time.Duration
	Upload     string // items | full | off
	PaidNotice string // slip | beep | off
}

// Log is the [log] table.
type Log struct {
	File     string // default <program data>/printpay.log
	MaxSize  int64  // bytes before rotation
	MaxFiles int    // rotated files kept
}

// Printer is one [[printer]] block.
type Printer struct {
	Name     string // also the LPD queue name
	Driver   string // usb | usblp | serial | tcp | winspool | file
	Device   string
	Baud     int
	Parity   string // none | odd | even | mark | space
	Flow     string // none | rtscts | xonxoff
	Profile  string
	QR       string // auto | native | raster | off
	QRCopies string // first | all
	Encoding string // default text encoding when the job never says
	Raw      string // this printer's own raw listener; "" = none
	Line     int    // where the block starts in the file; 0 when built in code
}

// Error is a configuration error at a place in a file.
type Error struct {
	File string
	Line int // 0 when the place is not known
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return "config: " + e.Msg
	case e.Line == 0:
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Drivers are the [[printer]] driver names.
var Drivers = []string{"usb", "usblp", "serial", "tcp", "winspool", "file"}

// Default returns the configuration used when a key is absent (and by
// `printpay demo`, which needs no file). It has no printers.
func Default() Config {
	pd := programData()
	lpd := "127.0.0.1:515"
	if !serviceRun() {
		lpd = "127.0.0.1:1515"
	}
	return Config{
		Intake: Intake{
			Raw: "127.0.0.1:9100", LPD: lpd,
			IdleTimeout: time.Second, IdleTimeoutNoCut: 5 * time.Second,
			MaxJobBytes: 32 << 20, MaxConnections: 64, StatusReply: "online",
		},
		Spool:  Spool{Dir: filepath.Join(pd, "spool"), Retention: 168 * time.Hour, MinFree: 200 << 20},
		Status: Status{Listen: "127.0.0.1:9180"},
		Server: Server{TokenFile: filepath.Join(pd, "token"), QRBudget: 1500 * time.Millisecond, QRMaxAge: 5 * time.Minute,
			Upload: "items", PaidNotice: "slip"},
		Log: Log{File: filepath.Join(pd, "printpay.log"), MaxSize: 10 << 20, MaxFiles: 5},
	}
}

// DefaultPrinter returns a [[printer]] block's defaults.
func DefaultPrinter() Printer {
	return Printer{Baud: 115200, Parity: "none", Flow: "none", Profile: "generic-80mm", QR: "auto", QRCopies: "first"}
}

// DefaultFile is where the agent looks for its configuration when none is
// named: /etc/printpay/printpay.toml for a service run on Linux (where the
// .deb keeps it), otherwise <program data>/printpay.toml. A missing default
// file means the defaults.
func DefaultFile() string { return defaultFile() }

// Load reads, checks and returns the configuration in path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, &Error{File: path, Msg: err.Error()}
	}
	return Parse(path, data)
}

// file mirrors the TOML layout; every value is decoded as any and converted
// here, so a wrong type is reported with its line like any other mistake.
type file struct {
	Intake struct {
		Raw              any `toml:"raw"`
		LPD              any `toml:"lpd"`
		IdleTimeout      any `toml:"idle_timeout"`
		IdleTimeoutNoCut any `toml:"idle_timeout_nocut"`
		MaxJobBytes      any `toml:"max_job_bytes"`
		MaxConnections   any `toml:"max_connections"`
		AppendCut        any `toml:"append_cut"`
		StatusReply      any `toml:"status_reply"`
	} `toml:"intake"`
	Spool struct {
		Dir       any `toml:"dir"`
		Retention any `toml:"retention"`
		MinFree   any `toml:"min_free"`
	} `toml:"spool"`
	Status struct {
		Listen       any `toml:"listen"`
		PasswordFile any `toml:"password_file"`
	} `toml:"status"`
	Server struct {
		URL        any `toml:"url"`
		TokenFile  any `toml:"token_file"`
		QRBudget   any `toml:"qr_budget"`
		QRMaxAge   any `toml:"qr_max_age"`
		Upload     any `toml:"upload"`
		PaidNotice any `toml:"paid_notice"`
	} `toml:"server"`
	Log struct {
		File     any `toml:"file"`
		MaxSize  any `toml:"max_size"`
		MaxFiles any `toml:"max_files"`
	} `toml:"log"`
	Printer []struct {
		Name     any `toml:"name"`
		Driver   any `toml:"driver"`
		Device   any `toml:"device"`
		Baud     any `toml:"baud"`
		Parity   any `toml:"parity"`
		Flow     any `toml:"flow"`
		Profile  any `toml:"profile"`
		QR       any `toml:"qr"`
		QRCopies any `toml:"qr_copies"`
		Encoding any `toml:"encoding"`
		Raw      any `toml:"raw"`
	} `toml:"printer"`
}

var lineInMsg = regexp.MustCompile(`line (\d+)`)

// Parse reads a configuration from data; name is the file name for errors.
// Relative paths in the file are taken relative to the file's directory.
func Parse(name string, data []byte) (Config, error) {
	cfg := Default()
	cfg.File = name
	var f file
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return cfg, &Error{File: name, Line: pe.Position.Line, Msg: pe.Message}
		}
		e := &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
		if m := lineInMsg.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
		}
		return cfg, e
	}
	lines := indexLines(data)
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return cfg, &Error{File: name, Line: lines.find(k), Msg: fmt.Sprintf("unknown key %q", k.String())}
	}
	c := conv{name: name, lines: lines}
	in := &cfg.Intake
	c.str(&in.Raw, f.Intake.Raw, "intake", "raw")
	c.str(&in.LPD, f.Intake.LPD, "intake", "lpd")
	c.dur(&in.IdleTimeout, f.Intake.IdleTimeout, "intake", "idle_timeout")
	c.dur(&in.IdleTimeoutNoCut, f.Intake.IdleTimeoutNoCut, "intake", "idle_timeout_nocut")
	c.size(&in.MaxJobBytes, f.Intake.MaxJobBytes, "intake", "max_job_bytes")
	c.int(&in.MaxConnections, f.Intake.MaxConnections, "intake", "max_connections")
	c.bool(&in.AppendCut, f.Intake.AppendCut, "intake", "append_cut")
	c.str(&in.StatusReply, f.Intake.StatusReply, "intake", "status_reply")
	c.path(&cfg.Spool.Dir, f.Spool.Dir, "spool", "dir")
	c.dur(&cfg.Spool.Retention, f.Spool.Retention, "spool", "retention")
	c.size(&cfg.Spool.MinFree, f.Spool.MinFree, "spool", "min_free")
	c.str(&cfg.Status.Listen, f.Status.Listen, "status", "listen")
	c.path(&cfg.Status.PasswordFile, f.Status.PasswordFile, "status", "password_file")
	sv := &cfg.Server
	c.str(&sv.URL, f.Server.URL, "server", "url")
	c.path(&sv.TokenFile, f.Server.TokenFile, "server", "token_file")
	c.dur(&sv.QRBudget, f.Server.QRBudget, "server", "qr_budget")
	c.dur(&sv.QRMaxAge, f.Server.QRMaxAge, "server", "qr_max_age")
	c.str(&sv.Upload, f.Server.Upload, "server", "upload")
	c.str(&sv.PaidNotice, f.Server.PaidNotice, "server", "paid_notice")
	c.path(&cfg.Log.File, f.Log.File, "log", "file")
	c.size(&cfg.Log.MaxSize, f.Log.MaxSize, "log", "max_size")
	c.int(&cfg.Log.MaxFiles, f.Log.MaxFiles, "log", "max_files")
	for i, fp := range f.Printer {
		p := DefaultPrinter()
		p.Line = lines.table("printer", i)
		c.idx = i
		c.str(&p.Name, fp.Name, "printer", "name")
		c.str(&p.Driver, fp.Driver, "printer", "driver")
		c.str(&p.Device, fp.Device, "printer", "device")
		c.int(&p.Baud, fp.Baud, "printer", "baud")
		c.str(&p.Parity, fp.Parity, "printer", "parity")
		c.str(&p.Flow, fp.Flow, "printer", "flow")
		c.str(&p.Profile, fp.Profile, "printer", "profile")
		c.str(&p.QR, fp.QR, "printer", "qr")
		c.str(&p.QRCopies, fp.QRCopies, "printer", "qr_copies")
		c.str(&p.Encoding, fp.Encoding, "printer", "encoding")
		c.str(&p.Raw, fp.Raw, "printer", "raw")
		if p.Driver == "file" && p.Device != "" && !filepath.IsAbs(p.Device) {
			p.Device = filepath.Join(filepath.Dir(name), p.Device) // a preview folder next to the file
		}
		cfg.Printers = append(cfg.Printers, p)
	}
	c.idx = -1
	if c.err != nil {
		return cfg, c.err
	}
	if err := cfg.validate(lines); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// conv converts decoded values, keeping the first error.
type conv struct {
	name  string
	lines lineIndex
	idx   int // [[printer]] index, -1 outside
	err   error
}

func (c *conv) fail(table, key, format string, args ...any) {
	if c.err != nil {
		return
	}
	line := c.lines.find(toml.Key{table, key})
	if table == "printer" {
		line = c.lines.findIn(table, c.idx, key)
	}
	c.err = &Error{File: c.name, Line: line, Msg: fmt.Sprintf("%s: ", key) + fmt.Sprintf(format, args...)}
}

func (c *conv) str(dst *string, v any, table, key string) {
	if v == nil {
		return
	}
	s, ok := v.(string)
	if !ok {
		c.fail(table, key, "want a string, got %v", v)
		return
	}
	*dst = s
}

// path is a string; relative paths are relative to the config file.
func (c *conv) path(dst *string, v any, table, key string) {
	var s string
	c.str(&s, v, table, key)
	if v == nil || s == "" {
		return
	}
	if !filepath.IsAbs(s) && c.name != "" {
		s = filepath.Join(filepath.Dir(c.name), s)
	}
	*dst = s
}

func (c *conv) int(dst *int, v any, table, key string) {
	if v == nil {
		return
	}
	n, ok := v.(int64)
	if !ok {
		c.fail(table, key, "want an integer, got %v", v)
		return
	}
	*dst = int(n)
}

func (c *conv) bool(dst *bool, v any, table, key string) {
	if v == nil {
		return
	}
	b, ok := v.(bool)
	if !ok {
		c.fail(table, key, "want true or false, got %v", v)
		return
	}
	*dst = b
}

func (c *conv) dur(dst *time.Duration, v any, table, key string) {
	if v == nil {
		return
	}
	s, ok := v.(string)
	if !ok {
		c.fail(table, key, "want a duration string such as \"1500ms\", got %v", v)
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		c.fail(table, key, "bad duration %q (want e.g. \"1500ms\", \"5s\", \"168h\")", s)
		return
	}
	*dst = d
}

func (c *conv) size(dst *int64, v any, table, key string) {
	if v == nil {
		return
	}
	switch x := v.(type) {
	case int64:
		if x < 0 {
			c.fail(table, key, "negative size %d", x)
			return
		}
		*dst = x
	case string:
		n, err := ParseSize(x)
		if err != nil {
			c.fail(table, key, "%v", err)
			return
		}
		*dst = n
	default:
		c.fail(table, key, "want a size such as \"32MiB\", got %v", v)
	}
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1000, "kb": 1000, "kib": 1 << 10,
	"m": 1000 * 1000, "mb": 1000 * 1000, "mib": 1 << 20,
	"g": 1000 * 1000 * 1000, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
}

// ParseSize parses "32MiB", "200MB", "4096" (bytes).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. \"32MiB\")", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if err != nil || !ok || n > (1<<62)/unit {
		return 0, fmt.Errorf("bad size %q (want e.g. \"32MiB\")", s)
	}
	return n * unit, nil
}

// Validate checks cross-field rules on a Config built in code.
func (c Config) Validate() error { return c.validate(lineIndex{}) }

func (c Config) validate(lines lineIndex) error {
	fail := func(table, key string, idx int, format string, args ...any) error {
		line := 0
		if table == "printer" {
			line = lines.findIn(table, idx, key)
		} else {
			line = lines.find(toml.Key{table, key})
		}
		return &Error{File: c.File, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	addr := func(table, key, v string, idx int) error {
		if v == "" {
			return nil
		}
		if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
			return fail(table, key, idx, "%s: %q is not host:port", key, v)
		}
		return nil
	}
	in := c.Intake
	for _, k := range []struct{ key, v string }{{"raw", in.Raw}, {"lpd", in.LPD}} {
		if err := addr("intake", k.key, k.v, -1); err != nil {
			return err
		}
	}
	switch {
	case in.IdleTimeout <= 0:
		return fail("intake", "idle_timeout", -1, "idle_timeout: must be positive")
	case in.IdleTimeoutNoCut <= 0:
		return fail("intake", "idle_timeout_nocut", -1, "idle_timeout_nocut: must be positive")
	case in.MaxJobBytes <= 0:
		return fail("intake", "max_job_bytes", -1, "max_job_bytes: must be positive")
	case in.MaxConnections <= 0:
		return fail("intake", "max_connections", -1, "max_connections: must be positive")
	}
	if !oneOf(in.StatusReply, "online", "offline", "paper-out") {
		return fail("intake", "status_reply", -1, "status_reply: %q is not online, offline or paper-out", in.StatusReply)
	}
	if c.Spool.Dir == "" {
		return fail("spool", "dir", -1, "dir: must not be empty")
	}
	if c.Spool.MinFree < 0 || c.Spool.Retention < 0 {
		return fail("spool", "retention", -1, "retention and min_free must not be negative")
	}
	if err := addr("status", "listen", c.Status.Listen, -1); err != nil {
		return err
	}
	if c.Status.Listen != "" && !loopback(c.Status.Listen) && c.Status.PasswordFile == "" {
		return fail("status", "listen", -1, "listen: %q is not a loopback address; set password_file first", c.Status.Listen)
	}
	sv := c.Server
	if sv.URL != "" && !strings.HasPrefix(sv.URL, "ws://") && !strings.HasPrefix(sv.URL, "wss://") && !strings.HasPrefix(sv.URL, "local:") {
		return fail("server", "url", -1, "url: %q: want ws://, wss:// or local: (a local test source)", sv.URL)
	}
	if sv.QRBudget <= 0 {
		return fail("server", "qr_budget", -1, "qr_budget: must be positive")
	}
	if !oneOf(sv.Upload, "items", "full", "off") {
		return fail("server", "upload", -1, "upload: %q is not items, full or off", sv.Upload)
	}
	if !oneOf(sv.PaidNotice, "slip", "beep", "off") {
		return fail("server", "paid_notice", -1, "paid_notice: %q is not slip, beep or off", sv.PaidNotice)
	}
	if c.Log.MaxSize <= 0 || c.Log.MaxFiles < 0 {
		return fail("log", "max_size", -1, "max_size must be positive and max_files not negative")
	}
	names := map[string]bool{}
	raws := map[string]string{}
	if in.Raw != "" {
		raws[in.Raw] = "[intake] raw"
	}
	for i, p := range c.Printers {
		at := func(key, format string, args ...any) error {
			e := fail("printer", key, i, format, args...).(*Error)
			if e.Line == 0 {
				e.Line = p.Line
			}
			return e
		}
		switch {
		case p.Name == "":
			return at("name", "printer %d: name is required", i+1)
		case names[p.Name]:
			return at("name", "printer %q: name used twice", p.Name)
		case !validName(p.Name):
			return at("name", "printer %q: name may hold letters, digits, '-', '_' and '.' only (it is the LPD queue name)", p.Name)
		case !oneOf(p.Driver, Drivers...):
			return at("driver", "printer %q: driver %q is not one of %s", p.Name, p.Driver, strings.Join(Drivers, ", "))
		case p.Driver != "usb" && p.Device == "":
			return at("device", "printer %q: device is required for driver %s", p.Name, p.Driver)
		case p.Baud <= 0:
			return at("baud", "printer %q: baud must be positive", p.Name)
		case !oneOf(p.Parity, "none", "odd", "even", "mark", "space"):
			return at("parity", "printer %q: parity %q is not none, odd, even, mark or space", p.Name, p.Parity)
		case !oneOf(p.Flow, "none", "rtscts", "xonxoff"):
			return at("flow", "printer %q: flow %q is not none, rtscts or xonxoff", p.Name, p.Flow)
		case p.Profile == "":
			return at("profile", "printer %q: profile must not be empty", p.Name)
		case !oneOf(p.QR, "auto", "native", "raster", "off"):
			return at("qr", "printer %q: qr %q is not auto, native, raster or off", p.Name, p.QR)
		case !oneOf(p.QRCopies, "first", "all"):
			return at("qr_copies", "printer %q: qr_copies %q is not first or all", p.Name, p.QRCopies)
		}
		names[p.Name] = true
		if p.Raw != "" {
			if err := addr("printer", "raw", p.Raw, i); err != nil {
				return err
			}
			if other, ok := raws[p.Raw]; ok && !strings.HasSuffix(p.Raw, ":0") {
				return at("raw", "printer %q: raw %q is already used by %s", p.Name, p.Raw, other)
			}
			raws[p.Raw] = fmt.Sprintf("printer %q", p.Name)
		}
	}
	return nil
}

func oneOf(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

func validName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// loopback reports whether a listen address binds to loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
