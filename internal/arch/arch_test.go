package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "printpay.dev/printpay"

type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = ".."
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

func under(p, dir string) bool { p = rel(p); return p == dir || strings.HasPrefix(p, dir+"/") }

// TestImportArrows checks the arrows of STYLE.md: pure packages import no
// I/O, the spool and the drivers know nothing of ESC/POS or the agent, the
// server never imports the agent, and the agent imports only the wire types
// from the server (except the demo in agent/cmd/printpay).
func TestImportArrows(t *testing.T) {
	pure := map[string]bool{"net": true, "os": true, "log": true, "os/exec": true, "syscall": true, "net/http": true}
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		for _, imp := range p.Imports {
			ir := rel(imp)
			internal := strings.HasPrefix(imp, module)
			switch {
			case (under(p.ImportPath, "agent/escpos") || under(p.ImportPath, "agent/rules")) && pure[imp]:
				t.Errorf("%s is pure but imports %s", r, imp)
			case under(p.ImportPath, "agent/escpos") && internal && !under(imp, "agent/escpos"):
				t.Errorf("%s imports %s: agent/escpos depends on nothing in the module", r, ir)
			case under(p.ImportPath, "agent/rules") && internal && !under(imp, "agent/rules"):
				t.Errorf("%s imports %s: agent/rules depends on nothing in the module", r, ir)
			case under(p.ImportPath, "spool") && internal && (under(imp, "agent") || under(imp, "drivers")):
				t.Errorf("%s imports %s: the spool knows nothing of the agent or drivers", r, ir)
			case under(p.ImportPath, "drivers") && internal && under(imp, "agent"):
				t.Errorf("%s imports %s: drivers move bytes and never interpret ESC/POS", r, ir)
			case under(p.ImportPath, "server") && internal && under(imp, "agent"):
				t.Errorf("%s imports %s: nothing under server/ imports agent/", r, ir)
			case under(p.ImportPath, "agent") && !under(p.ImportPath, "agent/cmd/printpay") &&
				internal && under(imp, "server") && !under(imp, "server/apiv1"):
				t.Errorf("%s imports %s: the agent imports only server/apiv1 from the server", r, ir)
			case under(p.ImportPath, "server/apiv1") && (internal || strings.Contains(strings.Split(imp, "/")[0], ".")):
				t.Errorf("%s imports %s: server/apiv1 is stdlib only", r, imp)
			case strings.HasPrefix(imp, "github.com/kardianos/service") &&
				!under(p.ImportPath, "agent/cmd/printpay") && !under(p.ImportPath, "installer"):
				t.Errorf("%s imports kardianos/service: only agent/cmd/printpay and installer may", r)
			}
		}
		if len(p.CgoFiles) > 0 && !under(p.ImportPath, "drivers/usb") {
			t.Errorf("%s uses cgo: cgo is confined to drivers/usb", r)
		}
	}
}

// TestOnlyMainExits checks that only main packages (and test support) exit,
// read flags or read environment variables, and that pure packages take
// their clock as a parameter.
func TestOnlyMainExits(t *testing.T) {
	exits := regexp.MustCompile(`\bos\.Exit\(|\blog\.Fatal|\bflag\.(Parse|String|Bool|Int|Duration)\(|\bos\.(Getenv|LookupEnv|Environ)\(`)
	clock := regexp.MustCompile(`\btime\.Now\(`)
	for _, p := range listPackages(t) {
		// Test support runs only under tests and benchmarks: packages that
		// import testing (testenv reads the suite's switches, the status
		// page's browser driver its artifacts folder), and cupsd, which
		// hands its environment to CUPS clients.
		if p.Name == "main" || slices.Contains(p.Imports, "testing") || under(p.ImportPath, "internal/cupsd") {
			continue
		}
		pureClock := under(p.ImportPath, "agent/escpos") || under(p.ImportPath, "agent/rules")
		for _, f := range append(append([]string{}, p.GoFiles...), p.CgoFiles...) {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(b), "\n") {
				code := line
				if j := strings.Index(code, "//"); j >= 0 {
					code = code[:j]
				}
				if exits.MatchString(code) {
					t.Errorf("%s/%s:%d: only main packages exit, parse flags or read the environment", rel(p.ImportPath), f, i+1)
				}
				if pureClock && clock.MatchString(code) {
					t.Errorf("%s/%s:%d: pure packages take the time as a parameter", rel(p.ImportPath), f, i+1)
				}
			}
		}
	}
}
