package profiles

import (
	"bytes"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"

	"printpay.dev/printpay/drivers"
)

// Profile describes one printer model.
type Profile struct {
	Name        string
	Description string
	PaperDots   int    // printable width in dots: 384 (58 mm, 203 dpi), 576 (80 mm, 203 dpi), 512 (80 mm, 180 dpi)
	DPI         int    // dots per inch (203 or 180)
	QR          string // "raster" (GS v 0, the default) or "native" (GS ( k)
	ModuleSize  int    // native QR module size in dots (1..16); raster QR scales to PaperDots
	Encoding    string // default text encoding when a job never says ("" = detect)
	Chinese     bool   // the printer starts in Chinese (double-byte) mode
	Cut         []byte // cut command appended by AppendCut and used after slips
	Buzzer      []byte // buzzer/beep command ("paid" notices); empty = none
	StatusPoll  bool   // send DLE EOT polls (off by default)
	AppendCut   bool   // add Cut to text-only jobs that end without one

	// Serial throttling for printers with small input buffers.
	Throttle   int           // bytes per second; 0 = line speed
	ChunkSize  int           // bytes per chunk; 0 = no chunking
	ChunkDelay time.Duration // pause between chunks

	Match []Match // how discovery recognises the model
}

// Match recognises a model. Every non-empty field must match: VID/PID
// exactly, MFG/MDL case-insensitively (MDL as a prefix of the ID's model).
type Match struct {
	VID, PID uint16
	MFG, MDL string
}

// Error is a problem in a profile file, with the line it is on (0 = file).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("profiles: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("profiles: %s: %s", e.File, e.Msg)
}

// ErrUnknown is returned by Lookup for a name no profile has.
var ErrUnknown = errors.New("profiles: unknown profile")

// Generic58 and Generic80 are the built-in defaults.
const (
	Generic58 = "generic-58mm"
	Generic80 = "generic-80mm"
)

//go:embed data/*.toml
var dataFS embed.FS

var (
	loadOnce sync.Once
	builtin  map[string]Profile
	loadErr  error
)

func load() {
	builtin = map[string]Profile{}
	ents, err := dataFS.ReadDir("data")
	if err != nil {
		loadErr = fmt.Errorf("profiles: %w", err)
		return
	}
	for _, e := range ents {
		name := path.Join("data", e.Name())
		b, err := dataFS.ReadFile(name)
		if err != nil {
			loadErr = fmt.Errorf("profiles: %w", err)
			return
		}
		p, err := Parse(name, b)
		if err != nil {
			loadErr = err
			return
		}
		if _, dup := builtin[p.Name]; dup {
			loadErr = &Error{File: name, Msg: fmt.Sprintf("duplicate profile name %q", p.Name)}
			return
		}
		builtin[p.Name] = p
	}
}

func loaded() (map[string]Profile, error) {
	loadOnce.Do(load)
	return builtin, loadErr
}

// Lookup returns the built-in profile called name ("" means generic-80mm).
func Lookup(name string) (Profile, error) {
	m, err := loaded()
	if err != nil {
		return Profile{}, err
	}
	if name == "" {
		name = Generic80
	}
	p, ok := m[name]
	if !ok {
		return Profile{}, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return p.clone(), nil
}

// Names lists the built-in profiles, sorted.
func Names() []string {
	m, _ := loaded()
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// All returns every built-in profile, sorted by name.
func All() []Profile {
	m, _ := loaded()
	out := make([]Profile, 0, len(m))
	for _, n := range Names() {
		out = append(out, m[n].clone())
	}
	return out
}

// MatchDevice picks the profile for a discovered printer: a match on the
// 1284 ID (MFG and MDL) wins over a match on VID:PID alone. When nothing
// matches it returns generic-80mm and false.
func MatchDevice(id drivers.DeviceID, vid, pid uint16) (Profile, bool) {
	best, bestScore := Profile{}, 0
	for _, p := range All() {
		for _, m := range p.Match {
			if s := m.score(id, vid, pid); s > bestScore {
				best, bestScore = p, s
			}
		}
	}
	if bestScore == 0 {
		p, _ := Lookup(Generic80)
		return p, false
	}
	return best, true
}

func (m Match) score(id drivers.DeviceID, vid, pid uint16) int {
	s := 0
	if m.VID != 0 || m.PID != 0 {
		if m.VID != vid || m.PID != pid {
			return 0
		}
		s++
	}
	if m.MFG != "" {
		if !strings.EqualFold(m.MFG, id.Manufacturer()) {
			return 0
		}
		s += 2
	}
	if m.MDL != "" {
		if !strings.HasPrefix(strings.ToUpper(id.Model()), strings.ToUpper(m.MDL)) {
			return 0
		}
		s += 2 + len(m.MDL) // the longer (more specific) model prefix wins
	}
	return s
}

// Apply copies the profile's link settings (throttling, status polling) into
// a driver configuration.
func (p Profile) Apply(c *drivers.Config) {
	c.Throttle, c.ChunkSize, c.ChunkDelay = p.Throttle, p.ChunkSize, p.ChunkDelay
	c.StatusPoll = p.StatusPoll
}

func (p Profile) clone() Profile {
	p.Cut = bytes.Clone(p.Cut)
	p.Buzzer = bytes.Clone(p.Buzzer)
	p.Match = append([]Match(nil), p.Match...)
	return p
}

// file is the TOML layout of one profile.
type file struct {
	Name        string  `toml:"name"`
	Description string  `toml:"description"`
	PaperDots   int     `toml:"paper_dots"`
	DPI         int     `toml:"dpi"`
	QR          string  `toml:"qr"`
	ModuleSize  int     `toml:"module_size"`
	Encoding    string  `toml:"encoding"`
	Chinese     bool    `toml:"chinese"`
	Cut         string  `toml:"cut"`
	Buzzer      string  `toml:"buzzer"`
	StatusPoll  bool    `toml:"status_poll"`
	AppendCut   bool    `toml:"append_cut"`
	Throttle    int     `toml:"throttle"`
	ChunkSize   int     `toml:"chunk_size"`
	ChunkDelay  string  `toml:"chunk_delay"`
	Match       []match `toml:"match"`
}

type match struct {
	USB string `toml:"usb"` // "VID:PID" in hex
	MFG string `toml:"mfg"`
	MDL string `toml:"mdl"`
}

var encodings = map[string]bool{"": true, "gb18030": true, "gbk": true, "big5": true, "utf8": true, "cp437": true, "cp858": true, "ascii": true}

// Parse reads one profile file. name is used in error messages.
func Parse(name string, data []byte) (Profile, error) {
	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Profile{}, &Error{File: name, Line: pe.Position.Line, Msg: pe.Message}
		}
		return Profile{}, &Error{File: name, Msg: err.Error()}
	}
	bad := func(key, format string, args ...any) (Profile, error) {
		return Profile{}, &Error{File: name, Line: lineOf(data, key), Msg: key + ": " + fmt.Sprintf(format, args...)}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0][len(und[0])-1]
		return bad(k, "unknown key")
	}
	p := Profile{
		Name: f.Name, Description: f.Description, PaperDots: f.PaperDots, DPI: f.DPI,
		QR: f.QR, ModuleSize: f.ModuleSize, Encoding: strings.ToLower(f.Encoding), Chinese: f.Chinese,
		StatusPoll: f.StatusPoll, AppendCut: f.AppendCut, Throttle: f.Throttle, ChunkSize: f.ChunkSize,
	}
	if p.Name == "" {
		return bad("name", "missing")
	}
	switch p.PaperDots {
	case 0:
		return bad("paper_dots", "missing")
	default:
		if p.PaperDots < 128 || p.PaperDots > 1024 || p.PaperDots%8 != 0 {
			return bad("paper_dots", "%d is not a whole number of bytes between 128 and 1024 dots", p.PaperDots)
		}
	}
	if p.DPI == 0 {
		p.DPI = 203
	}
	switch p.QR {
	case "":
		p.QR = "raster"
	case "raster", "native":
	default:
		return bad("qr", "%q: want raster or native", p.QR)
	}
	if p.ModuleSize == 0 {
		p.ModuleSize = 4
	}
	if p.ModuleSize < 1 || p.ModuleSize > 16 {
		return bad("module_size", "%d: want 1..16", p.ModuleSize)
	}
	if !encodings[p.Encoding] {
		return bad("encoding", "unknown encoding %q", f.Encoding)
	}
	if p.Cut, err = parseHex(f.Cut); err != nil {
		return bad("cut", "%v", err)
	}
	if p.Buzzer, err = parseHex(f.Buzzer); err != nil {
		return bad("buzzer", "%v", err)
	}
	if p.Throttle < 0 || p.ChunkSize < 0 {
		return bad("throttle", "negative")
	}
	if f.ChunkDelay != "" {
		if p.ChunkDelay, err = time.ParseDuration(f.ChunkDelay); err != nil || p.ChunkDelay < 0 || p.ChunkDelay > time.Second {
			return bad("chunk_delay", "%q: want a duration up to 1s", f.ChunkDelay)
		}
	}
	for _, m := range f.Match {
		var pm Match
		if m.USB != "" {
			v, pid, ok := ParseVIDPID(m.USB)
			if !ok {
				return bad("usb", "%q: want VID:PID in hex", m.USB)
			}
			pm.VID, pm.PID = v, pid
		}
		pm.MFG, pm.MDL = m.MFG, m.MDL
		if pm == (Match{}) {
			return bad("match", "empty match")
		}
		p.Match = append(p.Match, pm)
	}
	return p, nil
}

// ParseVIDPID parses "04b8:0202".
func ParseVIDPID(s string) (vid, pid uint16, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	v, err1 := strconv.ParseUint(a, 16, 16)
	p, err2 := strconv.ParseUint(b, 16, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint16(v), uint16(p), true
}

// parseHex reads "1D 56 41 00" (spaces optional).
func parseHex(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad hex %q", s)
	}
	return b, nil
}

// lineOf finds the first line assigning key (or opening [[key]]).
func lineOf(data []byte, key string) int {
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "[["+key+"]]" || l == "["+key+"]" {
			return i + 1
		}
		if rest, ok := strings.CutPrefix(l, key); ok {
			if r := strings.TrimSpace(rest); strings.HasPrefix(r, "=") {
				return i + 1
			}
		}
	}
	return 0
}
