package installer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"printpay.dev/printpay/agent/config"
)

func utf16At(b []byte, off, units int) string {
	u := make([]uint16, 0, units)
	for i := 0; i < units; i++ {
		c := binary.LittleEndian.Uint16(b[off+2*i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// The PORT_DATA_1 record must match tcpxcv.h byte for byte: the monitor
// checks cbSize and reads the fields at these offsets.
func TestPortDataLayout(t *testing.T) {
	b, err := PortData(PortName(9101), "127.0.0.1", 9101)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"size", len(b), 964},
		{"sztPortName", utf16At(b, 0, 64), "printpay_127.0.0.1_9101"},
		{"dwVersion", le.Uint32(b[128:]), uint32(1)},
		{"dwProtocol (RAW)", le.Uint32(b[132:]), uint32(1)},
		{"cbSize", le.Uint32(b[136:]), uint32(964)},
		{"sztHostAddress", utf16At(b, 144, 49), "127.0.0.1"},
		{"sztSNMPCommunity", utf16At(b, 242, 33), ""},
		{"dwDoubleSpool", le.Uint32(b[308:]), uint32(0)},
		{"dwPortNumber", le.Uint32(b[952:]), uint32(9101)},
		{"dwSNMPEnabled", le.Uint32(b[956:]), uint32(0)},
		{"dwSNMPDevIndex", le.Uint32(b[960:]), uint32(0)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Everything that is not a field set above is zero (queue, IP, reserved).
	for i := 378; i < 952; i++ {
		if b[i] != 0 {
			t.Fatalf("byte %d = %#x, want 0", i, b[i])
		}
	}
}

func TestPortDataRefuses(t *testing.T) {
	for _, c := range []struct {
		name, host string
		port       int
	}{
		{strings.Repeat("p", 64), "127.0.0.1", 9100},
		{"p", strings.Repeat("h", 49), 9100},
		{"p", "127.0.0.1", 0},
		{"p", "127.0.0.1", 65536},
	} {
		if _, err := PortData(c.name, c.host, c.port); err == nil {
			t.Errorf("PortData(%d-char name, %d-char host, %d) = nil error", len(c.name), len(c.host), c.port)
		}
	}
}

func TestDeletePortData(t *testing.T) {
	b := DeletePortData(PortName(9100))
	if len(b) != 236 {
		t.Fatalf("size %d, want 236", len(b))
	}
	if got := utf16At(b, 0, 64); got != "printpay_127.0.0.1_9100" {
		t.Errorf("name %q", got)
	}
	if v := binary.LittleEndian.Uint32(b[228:]); v != 1 {
		t.Errorf("dwVersion %d, want 1", v)
	}
}

func TestWindowsPrinter(t *testing.T) {
	got := WindowsPrinter(Queue{Port: 9101})
	want := Printer{Name: "printpay", Port: "printpay_127.0.0.1_9101", Driver: "Generic / Text Only",
		Comment: "printpay receipt printer", PrintProcessor: "winprint", Datatype: "RAW", Attributes: PrinterAttributeLocal}
	if got != want {
		t.Errorf("WindowsPrinter = %+v, want %+v", got, want)
	}
	if got.Attributes&PrinterAttributeEnableBidi != 0 {
		t.Error("bidirectional support must be off")
	}
	if d := WindowsPrinter(Queue{Driver: "EPSON TM-T20II Receipt5"}); d.Driver != "EPSON TM-T20II Receipt5" || d.Port != PortName(9100) {
		t.Errorf("own driver: %+v", d)
	}
}

func TestOwnPort(t *testing.T) {
	for name, want := range map[string]bool{
		PortName(9100): true, PortName(9101): true, "printpay_127.0.0.1_65535": true,
		"printpay_127.0.0.1_": false, "printpay_127.0.0.1_0": false, "printpay_127.0.0.1_09100": false,
		"printpay_127.0.0.1_9100x": false, "IP_127.0.0.1": false, "LPT1:": false, "printpay_10.0.0.5_9100": false,
	} {
		if got := OwnPort(name); got != want {
			t.Errorf("OwnPort(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestArgs(t *testing.T) {
	if got, want := LpadminAddArgs(Queue{Port: 9101}), []string{"-p", "printpay", "-E", "-v", "socket://127.0.0.1:9101",
		"-D", "printpay receipt printer", "-o", "printer-is-shared=false"}; !reflect.DeepEqual(got, want) {
		t.Errorf("LpadminAddArgs = %q, want %q", got, want)
	}
	for _, a := range LpadminAddArgs(Queue{}) {
		if a == "-m" {
			t.Error("a raw queue must not name a model (-m)")
		}
	}
	if got := LpadminRemoveArgs(Queue{}); !reflect.DeepEqual(got, []string{"-x", "printpay"}) {
		t.Errorf("LpadminRemoveArgs = %q", got)
	}
	fw := strings.Join(FirewallAddArgs(`C:\Program Files\printpay\printpay.exe`), " ")
	for _, want := range []string{"advfirewall firewall add rule", "name=printpay intake", "dir=in", "action=allow",
		`program=C:\Program Files\printpay\printpay.exe`, "protocol=TCP"} {
		if !strings.Contains(fw, want) {
			t.Errorf("FirewallAddArgs %q lacks %q", fw, want)
		}
	}
	if got := strings.Join(FirewallDeleteArgs(), " "); got != "advfirewall firewall delete rule name=printpay intake" {
		t.Errorf("FirewallDeleteArgs = %q", got)
	}
}

func TestServiceConfig(t *testing.T) {
	c := ServiceConfig("/opt/printpay/printpay", "/etc/printpay/printpay.toml")
	if c.Name != "printpay" || c.Executable != "/opt/printpay/printpay" {
		t.Errorf("name %q exe %q", c.Name, c.Executable)
	}
	if want := []string{"--service", "--config", "/etc/printpay/printpay.toml"}; !reflect.DeepEqual(c.Arguments, want) {
		t.Errorf("arguments %q, want %q", c.Arguments, want)
	}
	if c.Option["OnFailure"] != "restart" || c.Option["Restart"] != "on-failure" {
		t.Errorf("restart on failure not set: %v", c.Option)
	}
}

func TestChoosePort(t *testing.T) {
	taken := map[int]bool{9100: true, 9101: true}
	free := func(p int) bool { return !taken[p] }
	if p, err := ChoosePort(9100, free); err != nil || p != 9102 {
		t.Errorf("ChoosePort = %d, %v; want 9102", p, err)
	}
	if p, err := ChoosePort(9200, free); err != nil || p != 9200 {
		t.Errorf("ChoosePort = %d, %v; want 9200", p, err)
	}
	if _, err := ChoosePort(9100, func(int) bool { return false }); !errors.Is(err, ErrNoFreePort) {
		t.Errorf("all taken: %v, want ErrNoFreePort", err)
	}
}

func TestAgentURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://pay.example.com":           "wss://pay.example.com/v1/agent",
		"https://pay.example.com/":          "wss://pay.example.com/v1/agent",
		" https://pay.example.com:8443 ":    "wss://pay.example.com:8443/v1/agent",
		"http://127.0.0.1:8080":             "ws://127.0.0.1:8080/v1/agent",
		"wss://pay.example.com/v1/agent":    "wss://pay.example.com/v1/agent",
		"wss://pay.example.com/custom/path": "wss://pay.example.com/custom/path",
	} {
		got, err := AgentURL(in)
		if err != nil || got != want {
			t.Errorf("AgentURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "pay.example.com", "ftp://x", "https://"} {
		if _, err := AgentURL(bad); err == nil {
			t.Errorf("AgentURL(%q) = nil error", bad)
		}
	}
	if got, _ := EnrollBase("wss://pay.example.com:8443/v1/agent"); got != "https://pay.example.com:8443" {
		t.Errorf("EnrollBase = %q", got)
	}
}

func TestSetKey(t *testing.T) {
	const src = "# top\n[intake]\nraw = \"127.0.0.1:9100\"   # the queue sends here\nlpd = \"127.0.0.1:515\"\n\n[server]\nurl = \"\"\n\n[[printer]]\nname = \"x\"\nraw = \"keep\"\n"
	cases := []struct {
		name, table, key, value, want string
	}{
		{"replace keeps comment", "intake", "raw", `"127.0.0.1:9101"`,
			"# top\n[intake]\nraw = \"127.0.0.1:9101\"  # the queue sends here\nlpd = \"127.0.0.1:515\"\n\n[server]\nurl = \"\"\n\n[[printer]]\nname = \"x\"\nraw = \"keep\"\n"},
		{"replace in later table", "server", "url", `"wss://h/v1/agent"`,
			"# top\n[intake]\nraw = \"127.0.0.1:9100\"   # the queue sends here\nlpd = \"127.0.0.1:515\"\n\n[server]\nurl = \"wss://h/v1/agent\"\n\n[[printer]]\nname = \"x\"\nraw = \"keep\"\n"},
		{"insert after header", "server", "token_file", `"/t"`,
			"# top\n[intake]\nraw = \"127.0.0.1:9100\"   # the queue sends here\nlpd = \"127.0.0.1:515\"\n\n[server]\ntoken_file = \"/t\"\nurl = \"\"\n\n[[printer]]\nname = \"x\"\nraw = \"keep\"\n"},
		{"append table", "status", "listen", `"127.0.0.1:9180"`, src + "\n[status]\nlisten = \"127.0.0.1:9180\"\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(SetKey([]byte(src), c.table, c.key, c.value)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	if got := string(SetKey(nil, "server", "url", `"x"`)); got != "[server]\nurl = \"x\"\n" {
		t.Errorf("empty file: %q", got)
	}
}

func TestTOMLString(t *testing.T) {
	for in, want := range map[string]string{
		`C:\ProgramData\printpay\spool`: `"C:\\ProgramData\\printpay\\spool"`,
		`a"b`:                           `"a\"b"`,
		"收银台":                           `"收银台"`,
		"tab\there":                     `"tab\u0009here"`,
	} {
		if got := tomlString(in); got != want {
			t.Errorf("tomlString(%q) = %s, want %s", in, got, want)
		}
	}
}

func testPaths(t *testing.T) Paths {
	d := t.TempDir()
	return PathsUnder(filepath.Join(d, "etc", "printpay.toml"), filepath.Join(d, "data"))
}

func TestPrepareConfigNew(t *testing.T) {
	p := testPaths(t)
	res, err := PrepareConfig(p, ConfigOptions{ServerURL: "https://pay.example.com", PortFree: func(int) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Moved || res.Port != 9100 || res.Backup != "" {
		t.Errorf("result %+v", res)
	}
	c := res.Config
	if c.Intake.Raw != "127.0.0.1:9100" || c.Server.URL != "wss://pay.example.com/v1/agent" ||
		c.Spool.Dir != p.Spool || c.Server.TokenFile != p.Token || c.Log.File != p.Log {
		t.Errorf("config %+v", c)
	}
	if len(c.Printers) != 1 || c.Printers[0].Driver != "file" || c.Printers[0].Device != p.Preview {
		t.Errorf("printers %+v", c.Printers)
	}
	// Running it again changes nothing.
	before, _ := os.ReadFile(p.Config)
	res2, err := PrepareConfig(p, ConfigOptions{ServerURL: "https://pay.example.com", PortFree: func(int) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p.Config)
	if res2.Created || len(res2.Notes) != 0 || !bytes.Equal(before, after) {
		t.Errorf("second run changed something: %+v\n%s", res2, after)
	}
}

// 9100 taken by another program: a new file listens on the next free port
// and says so; an existing file is moved off a port something else took.
func TestPrepareConfigPortTaken(t *testing.T) {
	p := testPaths(t)
	taken := map[int]bool{9100: true}
	free := func(port int) bool { return !taken[port] }
	res, err := PrepareConfig(p, ConfigOptions{PortFree: free})
	if err != nil {
		t.Fatal(err)
	}
	if res.Port != 9101 || !res.Moved || res.Config.Intake.Raw != "127.0.0.1:9101" {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "port 9100 is in use") {
		t.Errorf("notes do not say so: %q", res.Notes)
	}
	if res.Config.Intake.LPD != "127.0.0.1:515" {
		t.Errorf("lpd %q, want 127.0.0.1:515", res.Config.Intake.LPD)
	}
	// Later 9101 is taken too, while the service is stopped.
	taken[9101] = true
	res, err = PrepareConfig(p, ConfigOptions{PortFree: free})
	if err != nil || res.Port != 9102 || !res.Moved {
		t.Fatalf("moved: %+v, %v", res, err)
	}
	// The running service holds its own port: nothing moves.
	taken[9102] = true
	res, err = PrepareConfig(p, ConfigOptions{PortFree: free, OwnPort: true})
	if err != nil || res.Port != 9102 || res.Moved {
		t.Fatalf("own port: %+v, %v", res, err)
	}
}

func TestPrepareConfigLPDTaken(t *testing.T) {
	p := testPaths(t)
	res, err := PrepareConfig(p, ConfigOptions{PortFree: func(port int) bool { return port != 515 }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Intake.LPD != "127.0.0.1:1515" || res.Config.Intake.Raw != "127.0.0.1:9100" {
		t.Errorf("intake %+v", res.Config.Intake)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "515 (LPD) is in use") {
		t.Errorf("notes %q", res.Notes)
	}
	p = testPaths(t)
	res, err = PrepareConfig(p, ConfigOptions{PortFree: func(port int) bool { return port != 9180 }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Status.Listen != "127.0.0.1:9181" || !strings.Contains(strings.Join(res.Notes, "\n"), "9181") {
		t.Errorf("status %q, notes %q", res.Config.Status.Listen, res.Notes)
	}
}

func TestPrepareConfigDamaged(t *testing.T) {
	p := testPaths(t)
	if err := os.MkdirAll(filepath.Dir(p.Config), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := []byte("[intake]\nraw = \"127.0.0.1:9100\"\nidle_timeout = \"soon\"\n")
	if err := os.WriteFile(p.Config, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := PrepareConfig(p, ConfigOptions{PortFree: func(int) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Backup != p.Config+".damaged" {
		t.Fatalf("result %+v", res)
	}
	if got, _ := os.ReadFile(res.Backup); !bytes.Equal(got, bad) {
		t.Errorf("backup holds %q", got)
	}
	if n := strings.Join(res.Notes, "\n"); !strings.Contains(n, ":3:") || !strings.Contains(n, "damaged") {
		t.Errorf("notes should name the bad line: %q", n)
	}
	if _, err := config.Load(p.Config); err != nil {
		t.Errorf("new file: %v", err)
	}
}

// An existing file keeps every edit the owner made; only the server URL
// changes when a new one is given.
func TestPrepareConfigKeepsEdits(t *testing.T) {
	p := testPaths(t)
	if _, err := PrepareConfig(p, ConfigOptions{PortFree: func(int) bool { return true }}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p.Config)
	data = SetKey(data, "intake", "idle_timeout", `"3s"`)
	if err := os.WriteFile(p.Config, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := PrepareConfig(p, ConfigOptions{ServerURL: "https://b.example.com", PortFree: func(int) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Config.Intake.IdleTimeout.String() != "3s" || res.Config.Server.URL != "wss://b.example.com/v1/agent" {
		t.Errorf("config %+v", res.Config)
	}
}

func TestLANIntake(t *testing.T) {
	c := config.Default()
	if LANIntake(c) {
		t.Error("defaults listen on loopback")
	}
	c.Intake.Raw = "0.0.0.0:9100"
	if !LANIntake(c) {
		t.Error("0.0.0.0 is the LAN")
	}
	c = config.Default()
	c.Printers = []config.Printer{{Raw: "192.168.1.5:9101"}}
	if !LANIntake(c) {
		t.Error("a printer's own listener on the LAN")
	}
}

func TestSecure(t *testing.T) {
	d := filepath.Join(t.TempDir(), "spool")
	if err := SecureDir(d); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(d, "token")
	if err := SecureFile(tok); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if err := os.WriteFile(tok, []byte("t"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SecureFile(tok); err != nil {
		t.Fatal(err)
	}
	checkModes(t, d, tok)
}
