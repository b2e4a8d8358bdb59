package pkgtest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/config"
)

// wine is a headless Wine prefix with the ProcessPrng stand-in DLL, one idle
// process keeping its services alive, and helpers to run Windows commands.
type wine struct {
	t      *testing.T
	prefix string
	env    []string
	keeper *os.File // write end of the idle process's stdin
}

// newWine makes the prefix (platform.md §3): wineboot, then wineserver -w
// so that one SCM runs; the stand-in bcryptprimitives.dll (Go ≥ 1.22 needs
// it, Wine 8.0 lacks it) goes into this prefix only.
func newWine(t *testing.T) *wine {
	t.Helper()
	tools(t, "wine", "wineboot", "wineserver", "x86_64-w64-mingw32-as", "x86_64-w64-mingw32-dlltool", "x86_64-w64-mingw32-ld")
	dir := t.TempDir()
	w := &wine{t: t, prefix: filepath.Join(dir, "prefix"),
		env: []string{"WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml="}}
	w.env = append(w.env, "WINEPREFIX="+w.prefix)
	t.Cleanup(w.close)

	shim := filepath.Join(dir, "shim")
	must(t, os.MkdirAll(shim, 0o755))
	src, _ := filepath.Abs("../testdata/wine")
	for _, c := range [][]string{
		{"x86_64-w64-mingw32-as", "-o", filepath.Join(shim, "shim.o"), filepath.Join(src, "bcryptprimitives.s")},
		{"x86_64-w64-mingw32-dlltool", "-d", filepath.Join(src, "advapi32.def"), "-l", filepath.Join(shim, "libadvapi32.a")},
		{"x86_64-w64-mingw32-ld", "--dll", "-e", "DllMain", "--subsystem", "windows", "-s", "-o", filepath.Join(shim, "bcryptprimitives.dll"),
			filepath.Join(shim, "shim.o"), filepath.Join(src, "bcryptprimitives.def"), filepath.Join(shim, "libadvapi32.a")},
	} {
		if out, err := run(t, time.Minute, nil, c[0], c[1:]...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	start := time.Now()
	if out, err := run(t, 2*time.Minute, w.env, "wineboot", "-i"); err != nil {
		t.Fatalf("wineboot: %v\n%s", err, out)
	}
	run(t, time.Minute, w.env, "wineserver", "-w")
	dll, err := os.ReadFile(filepath.Join(shim, "bcryptprimitives.dll"))
	must(t, err)
	must(t, os.WriteFile(w.path(`C:\windows\system32\bcryptprimitives.dll`), dll, 0o644))
	t.Logf("wine prefix ready in %s", time.Since(start).Round(100*time.Millisecond))

	// Wine stops services.exe and every service when the last ordinary
	// Wine process exits: keep one idle cmd alive for the whole test.
	r, wr, err := os.Pipe()
	must(t, err)
	logf, err := os.Create(filepath.Join(dir, "keeper.log"))
	must(t, err)
	cmd := exec.Command("wine", "cmd")
	cmd.Env = append(os.Environ(), w.env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, logf, logf
	must(t, cmd.Start())
	r.Close()
	logf.Close()
	w.keeper = wr
	go cmd.Wait()
	return w
}

func (w *wine) close() {
	if w.keeper != nil {
		w.keeper.Close()
	}
	run(w.t, 30*time.Second, w.env, "wineserver", "-k")
	run(w.t, 30*time.Second, w.env, "wineserver", "-w")
}

// path maps a C:\ path into the prefix.
func (w *wine) path(win string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(win, `C:\`), `c:\`)
	return filepath.Join(w.prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// run runs a Windows program and returns its output and exit code.
func (w *wine) run(args ...string) (string, int) {
	w.t.Helper()
	out, err := run(w.t, 2*time.Minute, w.env, "wine", args...)
	if err == nil {
		return out, 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out, ee.ExitCode()
	}
	w.t.Fatalf("wine %s: %v\n%s", strings.Join(args, " "), err, out)
	return out, -1
}

// serviceState returns sc query's STATE word (RUNNING, STOPPED...) or "".
func (w *wine) serviceState() string {
	out, code := w.run("sc", "query", "printpay")
	if code != 0 {
		return ""
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[0] == "STATE" {
			return f[3]
		}
	}
	return ""
}

func (w *wine) waitState(want string, within time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	got := ""
	for time.Now().Before(deadline) {
		if got = w.serviceState(); got == want {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	w.t.Fatalf("service state %q, want %q", got, want)
}

// installLog is the setup's record of what `printpay install` said.
func (w *wine) installLog() string {
	b, err := os.ReadFile(w.path(programFiles + `\install.log`))
	if err != nil {
		return "(no install.log: " + err.Error() + ")"
	}
	return "install.log:\n" + string(b)
}

// regExists reports whether reg query finds key.
func (w *wine) regExists(key string) bool {
	_, code := w.run("reg", "query", key)
	return code == 0
}

const (
	programFiles = `C:\Program Files\printpay`
	programData  = `C:\ProgramData\printpay`
	serviceKey   = `HKLM\System\CurrentControlSet\Services\printpay`
	uninstallKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\printpay`
	eventLogKey  = `HKLM\System\CurrentControlSet\Services\EventLog\Application\printpay`
)

// TestWineSetup runs the signed setup under Wine: refused on an old Windows,
// silent install paired with a real printpay-server, service running with a quoted
// path, a job to the raw port printed to the installer's file printer, an
// upgrade keeping config, token and spool, a repair over a damaged config,
// then uninstall (twice, and with /PURGE=1) leaving no service, files or
// registry keys.
func TestWineSetup(t *testing.T) {
	enabled(t)
	dir := artefacts(t)
	w := newWine(t)
	setup1 := filepath.Join(dir, "v1", "printpay-setup.exe")
	setup2 := filepath.Join(dir, "v2", "printpay-setup.exe")
	exe := w.path(programFiles + `\printpay.exe`)

	// An old Windows is refused with nothing installed.
	w.run("winecfg", "/v", "win7")
	if out, code := w.run(setup1, "/S"); code == 0 {
		t.Errorf("setup on Windows 7 exited 0: %s", out)
	}
	if _, err := os.Stat(exe); !os.IsNotExist(err) {
		t.Errorf("setup on Windows 7 installed files: %v", err)
	}
	w.run("winecfg", "/v", "win10")

	// Silent install, paired with a real printpay-server on loopback.
	base, pairing := pairingServer(t, dir)
	if out, code := w.run(setup1, "/S", "/SERVER="+base, "/CODE="+pairing); code != 0 {
		t.Fatalf("setup /S: exit %d\n%s\n%s", code, out, w.installLog())
	}
	logText, _ := os.ReadFile(w.path(programFiles + `\install.log`))
	t.Logf("install.log:\n%s", logText)
	if !bytes.Contains(logText, []byte("enrolled: device id")) {
		t.Errorf("install.log does not say the till was paired")
	}
	if _, err := os.Stat(w.path(programData + `\token`)); err != nil {
		t.Errorf("no device token after pairing: %v", err)
	}
	if bytes.Contains(logText, []byte("print queue skipped")) {
		t.Log("SKIPPED under Wine: the print queue (Wine's spooler has no Standard TCP/IP Port monitor); its PORT_DATA_1 and arguments are unit-tested in package installer")
	}
	w.waitState("RUNNING", 15*time.Second)
	img, _ := w.run("reg", "query", serviceKey, "/v", "ImagePath")
	if !strings.Contains(img, `"`+programFiles+`\printpay.exe" --service --config`) {
		t.Errorf("ImagePath not quoted or without --service:\n%s", img)
	}
	if !w.regExists(uninstallKey) || !w.regExists(eventLogKey) {
		t.Errorf("uninstall key or event log source missing")
	}

	// A job to the raw port is printed by the installer's file printer.
	// Parsed without a folder: the Windows paths in it stay as written.
	data, err := os.ReadFile(w.path(programData + `\printpay.toml`))
	must(t, err)
	cfg, err := config.Parse("printpay.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ws://" + strings.TrimPrefix(base, "http://") + "/v1/agent"; cfg.Server.URL != want {
		t.Errorf("server url %q, want %q", cfg.Server.URL, want)
	}
	job := []byte("\x1b@printpay wine test\n\x1dVA\x00")
	sendJob(t, cfg.Intake.Raw, job)
	checkPrinted(t, w, cfg, job)

	// Owner's state before the upgrade.
	confFile := w.path(programData + `\printpay.toml`)
	conf, _ := os.ReadFile(confFile)
	conf = append(conf, []byte("# edited by the shop\n")...)
	must(t, os.WriteFile(confFile, conf, 0o644))
	token := w.path(programData + `\token`)
	tokenBytes, err := os.ReadFile(token)
	must(t, err)
	spooled := countFiles(w.path(programData + `\spool`))

	// Upgrade in place.
	if out, code := w.run(setup2, "/S"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s\n%s", code, out, w.installLog())
	}
	w.waitState("RUNNING", 15*time.Second)
	if out, _ := w.run(exe, "version"); !strings.Contains(out, version2) {
		t.Errorf("after upgrade: %q, want %s", out, version2)
	}
	if got, _ := os.ReadFile(confFile); !bytes.Equal(got, conf) {
		t.Errorf("upgrade changed the config:\n%s", got)
	}
	if b, err := os.ReadFile(token); err != nil || !bytes.Equal(b, tokenBytes) {
		t.Errorf("upgrade lost the token: %v", err)
	}
	if n := countFiles(w.path(programData + `\spool`)); n < spooled {
		t.Errorf("upgrade lost spool files: %d, had %d", n, spooled)
	}

	// Install twice through the agent: nothing breaks.
	if out, code := w.run(exe, "install", "--printer-queue"); code != 0 || !strings.Contains(out, "already installed") {
		t.Errorf("install twice: exit %d\n%s", code, out)
	}
	// A damaged config: setup again repairs it.
	w.run(exe, "stop")
	must(t, os.WriteFile(confFile, []byte("[intake\nraw = 9100\n"), 0o644))
	if out, code := w.run(setup2, "/S"); code != 0 {
		t.Fatalf("repair: exit %d\n%s\n%s", code, out, w.installLog())
	}
	w.waitState("RUNNING", 15*time.Second)
	if _, err := os.Stat(confFile + ".damaged"); err != nil {
		t.Errorf("damaged config not kept aside: %v", err)
	}

	// Uninstall keeps the spool and the config unless asked.
	uninstall(t, w, "/S")
	if _, err := os.Stat(w.path(programData + `\spool`)); err != nil {
		t.Errorf("uninstall removed the spool without /PURGE=1: %v", err)
	}
	// Uninstall twice: the agent says so and succeeds.
	copyExe := w.path(`C:\printpay-copy.exe`)
	must(t, copyFile(filepath.Join(dir, "v2", "printpay.exe"), copyExe))
	if out, code := w.run(copyExe, "uninstall"); code != 0 || !strings.Contains(out, "not installed") {
		t.Errorf("uninstall twice: exit %d\n%s", code, out)
	}

	// Install again while another program holds the raw port: the install
	// moves to a free port, says so, and the job arrives there.
	data, err = os.ReadFile(confFile)
	must(t, err)
	cfg, err = config.Parse("printpay.toml", data)
	must(t, err)
	hold, err := net.Listen("tcp", cfg.Intake.Raw)
	if err != nil {
		t.Fatalf("holding %s: %v", cfg.Intake.Raw, err)
	}
	defer hold.Close()
	if out, code := w.run(setup1, "/S"); code != 0 {
		t.Fatalf("reinstall: exit %d\n%s\n%s", code, out, w.installLog())
	}
	w.waitState("RUNNING", 15*time.Second)
	if l := w.installLog(); !strings.Contains(l, "port "+portOf(cfg.Intake.Raw)+" is in use") {
		t.Errorf("the install does not say the port was taken:\n%s", l)
	}
	data, err = os.ReadFile(confFile)
	must(t, err)
	moved, err := config.Parse("printpay.toml", data)
	must(t, err)
	if moved.Intake.Raw == cfg.Intake.Raw {
		t.Fatalf("raw port not moved off %s", cfg.Intake.Raw)
	}
	hold.Close()
	job2 := []byte("\x1b@printpay moved port\n\x1dVA\x00")
	sendJob(t, moved.Intake.Raw, job2)
	checkPrinted(t, w, moved, job2)

	// Purge.
	uninstall(t, w, "/S", "/PURGE=1")
	noProgramData(t, w, "/PURGE=1")

	testMSI(t, w, dir)
}

func noProgramData(t *testing.T, w *wine, how string) {
	t.Helper()
	if _, err := os.Stat(w.path(programData)); !os.IsNotExist(err) {
		var left []string
		filepath.Walk(w.path(programData), func(p string, _ os.FileInfo, _ error) error { left = append(left, p); return nil })
		t.Errorf("%s left %s: %q", how, programData, left)
	}
}

// testMSI runs the MSI in the same prefix (after the setup's purge): refused
// on an old Windows, silent install with an unreachable server (pairing
// fails, the rest works), service running with a
// quoted path, a job printed, a major upgrade keeping the configuration,
// then msiexec /x with PURGE=1 leaving no service, files or keys.
func testMSI(t *testing.T, w *wine, dir string) {
	msi1 := `Z:` + strings.ReplaceAll(filepath.Join(dir, "v1", "printpay.msi"), "/", `\`)
	msi2 := `Z:` + strings.ReplaceAll(filepath.Join(dir, "v2", "printpay.msi"), "/", `\`)
	exe := w.path(programFiles + `\printpay.exe`)
	msiexec := func(args ...string) (string, int) {
		return w.run(append([]string{"msiexec"}, args...)...)
	}

	w.run("winecfg", "/v", "win7")
	if out, code := msiexec("/i", msi1, "/qn"); code == 0 {
		t.Errorf("MSI on Windows 7 exited 0: %s", out)
	}
	if _, err := os.Stat(exe); !os.IsNotExist(err) {
		t.Errorf("MSI on Windows 7 installed files: %v", err)
	}
	w.run("winecfg", "/v", "win10")

	// The server is unreachable: pairing fails, the rest works.
	out, code := msiexec("/i", msi1, "/qn", "SERVER=http://127.0.0.1:1", "CODE=123456")
	if code != 0 {
		t.Fatalf("msiexec /i: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "cannot reach the server") {
		t.Errorf("msiexec /i with an unreachable server does not say so:\n%s", out)
	}
	if _, err := os.Stat(w.path(programData + `\token`)); !os.IsNotExist(err) {
		t.Errorf("a token without pairing: %v", err)
	}
	w.waitState("RUNNING", 15*time.Second)
	img, _ := w.run("reg", "query", serviceKey, "/v", "ImagePath")
	if !strings.Contains(img, `"`+programFiles+`\printpay.exe" --service --config`) {
		t.Errorf("MSI: ImagePath not quoted or without --service:\n%s", img)
	}
	confFile := w.path(programData + `\printpay.toml`)
	data, err := os.ReadFile(confFile)
	must(t, err)
	cfg, err := config.Parse("printpay.toml", data)
	must(t, err)
	if cfg.Server.URL != "ws://127.0.0.1:1/v1/agent" {
		t.Errorf("MSI: server url %q", cfg.Server.URL)
	}
	job := []byte("\x1b@printpay msi\n\x1dVA\x00")
	sendJob(t, cfg.Intake.Raw, job)
	checkPrinted(t, w, cfg, job)

	data = append(data, []byte("# edited by the shop\n")...)
	must(t, os.WriteFile(confFile, data, 0o644))
	if out, code := msiexec("/i", msi2, "/qn"); code != 0 {
		t.Fatalf("MSI upgrade: exit %d\n%s", code, out)
	}
	w.waitState("RUNNING", 15*time.Second)
	if out, _ := w.run(exe, "version"); !strings.Contains(out, version2) {
		t.Errorf("after MSI upgrade: %q, want %s", out, version2)
	}
	if got, _ := os.ReadFile(confFile); !bytes.Equal(got, data) {
		t.Errorf("MSI upgrade changed the config:\n%s", got)
	}

	if out, code := msiexec("/x", msi2, "/qn", "PURGE=1"); code != 0 {
		t.Fatalf("msiexec /x: exit %d\n%s", code, out)
	}
	if st := w.serviceState(); st != "" {
		t.Errorf("service still there after msiexec /x: %s", st)
	}
	for _, k := range []string{serviceKey, eventLogKey} {
		if w.regExists(k) {
			t.Errorf("registry key left after msiexec /x: %s", k)
		}
	}
	if _, err := os.Stat(exe); !os.IsNotExist(err) {
		t.Errorf("%s left after msiexec /x: %v", exe, err)
	}
	if out, _ := w.run("reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall`); strings.Contains(out, "{") {
		t.Errorf("an Uninstall entry is left after msiexec /x:\n%s", out)
	}
	noProgramData(t, w, "msiexec /x PURGE=1")
}

// uninstall runs the uninstaller (which copies itself away and returns at
// once) and waits until service, files and keys are gone.
func uninstall(t *testing.T, w *wine, args ...string) {
	t.Helper()
	if out, code := w.run(append([]string{w.path(programFiles + `\uninstall.exe`)}, args...)...); code != 0 {
		t.Fatalf("uninstall: exit %d\n%s", code, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(w.path(programFiles)); os.IsNotExist(err) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if _, err := os.Stat(w.path(programFiles)); !os.IsNotExist(err) {
		t.Errorf("%s left after uninstall: %v", programFiles, err)
	}
	if st := w.serviceState(); st != "" {
		t.Errorf("service still there after uninstall: %s", st)
	}
	for _, k := range []string{serviceKey, uninstallKey, eventLogKey} {
		if w.regExists(k) {
			t.Errorf("registry key left after uninstall: %s", k)
		}
	}
}

func sendJob(t *testing.T, addr string, job []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("raw port %s: %v", addr, err)
	}
	if _, err := c.Write(job); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// checkPrinted waits for the job, byte-exact, in the folder of the
// installer's file printer.
func checkPrinted(t *testing.T, w *wine, cfg config.Config, job []byte) {
	t.Helper()
	if len(cfg.Printers) == 0 || cfg.Printers[0].Driver != "file" {
		t.Fatalf("the installer's config has no file printer: %+v", cfg.Printers)
	}
	folder := w.path(cfg.Printers[0].Device)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(folder, "*.bin"))
		for _, f := range m {
			if b, _ := os.ReadFile(f); bytes.Equal(b, job) {
				t.Logf("job printed byte-exact to %s", filepath.Base(f))
				return
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	logb, _ := os.ReadFile(w.path(cfg.Log.File))
	t.Fatalf("job not printed to %s within 15s; log:\n%s", folder, logb)
}

func countFiles(dir string) int {
	n := 0
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}
