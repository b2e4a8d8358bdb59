package installer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"printpay.dev/printpay/agent/config"
)

// ConfigOptions say what an install wants in the configuration file.
type ConfigOptions struct {
	// ServerURL is the server the shop pairs with: https://host (as given to
	// `printpay enroll`) or the agent link wss://host/v1/agent. "" leaves the
	// file's [server] url as it is.
	ServerURL string
	// Port is the raw port a new file listens on; 0 means DefaultRawPort.
	Port int
	// PortFree reports whether a loopback port is free; nil means PortFree.
	PortFree func(int) bool
	// OwnPort: the installed service is running and holds the file's raw
	// port, so that port is not taken by anything else.
	OwnPort bool
}

// ConfigResult is what PrepareConfig did.
type ConfigResult struct {
	Config  config.Config // the file as loaded after the changes
	Created bool          // there was no usable file; a new one was written
	Backup  string        // a damaged file was moved here ("" = none)
	Port    int           // the raw intake's port (the queue points here); 0 = raw intake off
	Moved   bool          // the wanted raw port was taken and Port is another
	Notes   []string      // one sentence per change, for the person installing
}

// PrepareConfig makes p.Config a valid configuration file: it writes a new
// one when there is none, moves a damaged one aside (to FILE.damaged) and
// writes a new one, sets [server] url when asked, and moves the raw intake
// off a port something else holds. Running it again on its own result
// changes nothing.
func PrepareConfig(p Paths, opt ConfigOptions) (ConfigResult, error) {
	var res ConfigResult
	free := opt.PortFree
	if free == nil {
		free = PortFree
	}
	agentURL := ""
	if opt.ServerURL != "" {
		u, err := AgentURL(opt.ServerURL)
		if err != nil {
			return res, err
		}
		agentURL = u
	}

	data, err := os.ReadFile(p.Config)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return res, fmt.Errorf("installer: %w", err)
	default:
		if _, lerr := config.Parse(p.Config, data); lerr != nil {
			backup := p.Config + ".damaged"
			if err := os.Rename(p.Config, backup); err != nil {
				return res, fmt.Errorf("installer: %v; moving it aside: %w", lerr, err)
			}
			res.Backup = backup
			res.Notes = append(res.Notes, fmt.Sprintf("the configuration was damaged (%v); it was saved as %s and a new one written", lerr, backup))
			data = nil
		}
	}

	if data == nil {
		want := opt.Port
		if want == 0 {
			want = DefaultRawPort
		}
		port, err := ChoosePort(want, free)
		if err != nil {
			return res, err
		}
		if port != want {
			res.Moved = true
			res.Notes = append(res.Notes, fmt.Sprintf("port %d is in use by another program; printpay listens on 127.0.0.1:%d instead and the printpay queue points there", want, port))
		}
		data, err = NewConfigFile(p, port, agentURL)
		if err != nil {
			return res, err
		}
		if !free(DefaultLPDPort) {
			lpd, err := ChoosePort(AltLPDPort, free)
			if err != nil {
				return res, err
			}
			data = SetKey(data, "intake", "lpd", tomlString(net.JoinHostPort("127.0.0.1", strconv.Itoa(lpd))))
			res.Notes = append(res.Notes, fmt.Sprintf("port %d (LPD) is in use by another program; printpay's LPD listens on 127.0.0.1:%d instead", DefaultLPDPort, lpd))
		}
		if !free(DefaultStatusPort) {
			sp, err := ChoosePort(DefaultStatusPort+1, free)
			if err != nil {
				return res, err
			}
			data = SetKey(data, "status", "listen", tomlString(net.JoinHostPort("127.0.0.1", strconv.Itoa(sp))))
			res.Notes = append(res.Notes, fmt.Sprintf("port %d (status page) is in use by another program; the status page is at http://127.0.0.1:%d/ instead", DefaultStatusPort, sp))
		}
		res.Created = true
		res.Notes = append(res.Notes, "wrote a new configuration "+p.Config)
	} else {
		cfg, err := config.Parse(p.Config, data)
		if err != nil {
			return res, err
		}
		if agentURL != "" && cfg.Server.URL != agentURL {
			data = SetKey(data, "server", "url", tomlString(agentURL))
			res.Notes = append(res.Notes, "server set to "+agentURL)
		}
		if host, port, ok := loopbackPort(cfg.Intake.Raw); ok && !opt.OwnPort && !free(port) {
			np, err := ChoosePort(port+1, free)
			if err != nil {
				return res, err
			}
			data = SetKey(data, "intake", "raw", tomlString(net.JoinHostPort(host, strconv.Itoa(np))))
			res.Moved = true
			res.Notes = append(res.Notes, fmt.Sprintf("port %d is in use by another program; printpay listens on 127.0.0.1:%d instead and the printpay queue points there", port, np))
		}
	}

	if err := writeFileAtomic(p.Config, data, 0o644); err != nil {
		return res, err
	}
	cfg, err := config.Load(p.Config)
	if err != nil {
		return res, fmt.Errorf("installer: the configuration written is not valid: %w", err)
	}
	res.Config = cfg
	if _, port, ok := loopbackPort(cfg.Intake.Raw); ok {
		res.Port = port
	} else if _, ps, err := net.SplitHostPort(cfg.Intake.Raw); err == nil {
		res.Port, _ = strconv.Atoi(ps)
	}
	return res, nil
}

// loopbackPort splits a loopback raw address into host and port.
func loopbackPort(addr string) (string, int, bool) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, false
	}
	port, err := strconv.Atoi(ps)
	if err != nil {
		return "", 0, false
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", 0, false
	}
	return host, port, true
}

// LANIntake reports whether cfg listens for jobs on a non-loopback address,
// which is when a firewall rule is needed.
func LANIntake(cfg config.Config) bool {
	addrs := []string{cfg.Intake.Raw, cfg.Intake.LPD}
	for _, p := range cfg.Printers {
		addrs = append(addrs, p.Raw)
	}
	for _, a := range addrs {
		if a == "" {
			continue
		}
		if _, _, ok := loopbackPort(a); !ok {
			return true
		}
	}
	return false
}

// AgentURL turns the server address a shop owner is given (https://host)
// into the agent link of [server] url (wss://host/v1/agent). ws:// and wss://
// addresses are kept as they are; http:// becomes ws://.
func AgentURL(server string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("installer: server %q: want https://host", server)
	}
	switch u.Scheme {
	case "ws", "wss":
		return u.String(), nil
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	default:
		return "", fmt.Errorf("installer: server %q: want https://host", server)
	}
	u.Path, u.RawQuery, u.Fragment = "/v1/agent", "", ""
	return u.String(), nil
}

// EnrollBase is the inverse of AgentURL: the https://host base that
// enrollment posts to.
func EnrollBase(server string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("installer: server %q: want https://host", server)
	}
	switch u.Scheme {
	case "wss", "https":
		u.Scheme = "https"
	case "ws", "http":
		u.Scheme = "http"
	default:
		return "", fmt.Errorf("installer: server %q: want https://host", server)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return u.String(), nil
}

var configTemplate = template.Must(template.New("printpay.toml").Parse(`# printpay agent configuration, written by "printpay install".
# Every key has a default; see the README for all of them.
# "printpay check --config {{.Paths.Config}}" checks this file after an edit;
# restart the service ("printpay stop", "printpay start") to use it.

[intake]
raw = {{.Raw}}            # the printpay print queue sends jobs here
lpd = "127.0.0.1:515"

[spool]
dir = {{.Spool}}

[status]
listen = "127.0.0.1:9180"       # the status page: http://127.0.0.1:9180/

[server]
url = {{.URL}}            # "" = print without QR until paired
token_file = {{.Token}}

[log]
file = {{.Log}}

# The printer the receipts go to. A new install keeps every job as a file in
# the preview folder; replace this block with the block "printpay printers"
# suggests for the real printer.
[[printer]]
name = "preview"
driver = "file"
device = {{.Preview}}
`))

// NewConfigFile returns the configuration a new install writes: raw intake
// on 127.0.0.1:port, the paths of p, and [server] url agentURL.
func NewConfigFile(p Paths, port int, agentURL string) ([]byte, error) {
	var b bytes.Buffer
	err := configTemplate.Execute(&b, map[string]any{
		"Paths":   p,
		"Raw":     tomlString(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))),
		"Spool":   tomlString(p.Spool),
		"URL":     tomlString(agentURL),
		"Token":   tomlString(p.Token),
		"Log":     tomlString(p.Log),
		"Preview": tomlString(p.Preview),
	})
	if err != nil {
		return nil, fmt.Errorf("installer: %w", err)
	}
	return b.Bytes(), nil
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
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// SetKey sets key = value (value already in TOML syntax) in the [table] of a
// TOML file, keeping every other line, comment and blank as it is: the line
// that sets key is replaced (its trailing comment kept), or a line is added
// after the table's header, or the table is appended.
func SetKey(data []byte, table, key, value string) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	in, header := false, -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			in = t == "["+table+"]" || strings.HasPrefix(t, "["+table+"]") && strings.HasPrefix(strings.TrimSpace(t[len(table)+2:]), "#")
			if in {
				header = i
			}
			continue
		}
		if !in {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		nl := ""
		if strings.HasSuffix(l, "\n") {
			nl = "\n"
		}
		comment := trailingComment(t)
		if comment != "" {
			comment = "  " + comment
		}
		lines[i] = indent + key + " = " + value + comment + nl
		return []byte(strings.Join(lines, ""))
	}
	if header >= 0 {
		out := append([]string{}, lines[:header+1]...)
		if !strings.HasSuffix(lines[header], "\n") {
			out[header] += "\n"
		}
		out = append(out, key+" = "+value+"\n")
		out = append(out, lines[header+1:]...)
		return []byte(strings.Join(out, ""))
	}
	s := string(data)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if s != "" {
		s += "\n"
	}
	return []byte(s + "[" + table + "]\n" + key + " = " + value + "\n")
}

// trailingComment returns the "# ..." after a key = value line's value, or
// "". Quotes are followed so a '#' inside a string is not a comment.
func trailingComment(line string) string {
	var quote rune
	esc := false
	for i, r := range line {
		switch {
		case esc:
			esc = false
		case quote == '"' && r == '\\':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#':
			return line[i:]
		}
	}
	return ""
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, creating the folder when needed.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, mode)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("installer: writing %s: %w", path, werr)
	}
	return nil
}
