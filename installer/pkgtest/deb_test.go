package pkgtest

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/internal/cupsd"
)

// TestDeb installs the .deb with dpkg against a private CUPS scheduler,
// checks the files, the user, the queue and the unit (systemd-analyze
// verify), upgrades to a second build keeping the configuration, token and
// spool, then removes and purges it and checks that everything is gone.
func TestDeb(t *testing.T) {
	enabled(t)
	tools(t, "dpkg", "dpkg-deb", "systemd-analyze", "/usr/sbin/cupsd", "lpadmin", "lpstat")
	if out, err := run(t, 10*time.Second, nil, "dpkg-query", "-W", "-f=${Status}", "printpay"); err == nil && strings.Contains(out, "installed") {
		t.Fatalf("printpay is already installed on this machine (%s); the test would replace it", out)
	}
	dir := artefacts(t)
	deb1 := filepath.Join(dir, "v1", "printpay_"+version1+"_amd64.deb")
	deb2 := filepath.Join(dir, "v2", "printpay_"+version2+"_amd64.deb")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cups, err := cupsd.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cups.Close()
	t.Setenv("CUPS_SERVER", cups.Socket) // dpkg hands it to the maintainer scripts
	queueURI := func() string {
		out, err := cups.Command("lpstat", "-v", "printpay").CombinedOutput()
		if err != nil {
			return ""
		}
		s := string(out)
		if i := strings.Index(s, "socket://"); i >= 0 {
			return strings.TrimSpace(s[i:])
		}
		return s
	}
	dpkg := func(args ...string) string {
		t.Helper()
		out, err := run(t, 2*time.Minute, nil, "dpkg", args...)
		if err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	defer func() { // leave the machine as it was, whatever failed
		run(t, time.Minute, nil, "dpkg", "-P", "printpay")
	}()

	// Install.
	out := dpkg("-i", deb1)
	t.Logf("dpkg -i %s:\n%s", filepath.Base(deb1), out)
	for _, f := range []string{"/usr/bin/printpay", "/lib/systemd/system/printpay.service",
		"/lib/udev/rules.d/60-printpay.rules", "/etc/printpay/printpay.toml"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after install: %v", err)
		}
	}
	u, err := user.Lookup("printpay")
	if err != nil {
		t.Fatalf("system user: %v", err)
	}
	gids, _ := u.GroupIds()
	for _, g := range []string{"lp", "dialout"} {
		grp, err := user.LookupGroup(g)
		if err != nil {
			continue
		}
		if !contains(gids, grp.Gid) {
			t.Errorf("user printpay is not in %s (%v)", g, gids)
		}
	}
	cfg, err := config.Load("/etc/printpay/printpay.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Spool.Dir != "/var/lib/printpay/spool" || cfg.Intake.LPD == "" {
		t.Errorf("config %+v", cfg.Intake)
	}
	if got, want := queueURI(), "socket://127.0.0.1:"+portOf(cfg.Intake.Raw); got != want {
		t.Errorf("CUPS queue printpay: %q, want %q (the config's raw port)", got, want)
	}
	if st, err := os.Stat("/var/lib/printpay/spool"); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("spool mode: %v %v", st.Mode(), err)
	}
	if out, err := run(t, time.Minute, nil, "systemd-analyze", "verify", "/lib/systemd/system/printpay.service"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, _ := run(t, 10*time.Second, nil, "/usr/bin/printpay", "version"); !strings.Contains(out, version1) {
		t.Errorf("version %q, want %s", out, version1)
	}

	// State the owner made: an edited config, a token, a spooled job.
	conf, _ := os.ReadFile("/etc/printpay/printpay.toml")
	conf = append(conf, []byte("# edited by the shop\n")...)
	must(t, os.WriteFile("/etc/printpay/printpay.toml", conf, 0o640))
	must(t, os.WriteFile(cfg.Server.TokenFile, []byte("device-token"), 0o600))
	job := filepath.Join(cfg.Spool.Dir, "kept-job")
	must(t, os.WriteFile(job, []byte("job"), 0o600))

	// Upgrade, and install the same version twice.
	t.Logf("dpkg -i %s:\n%s", filepath.Base(deb2), dpkg("-i", deb2))
	dpkg("-i", deb2)
	if out, _ := run(t, 10*time.Second, nil, "/usr/bin/printpay", "version"); !strings.Contains(out, version2) {
		t.Errorf("after upgrade: version %q, want %s", out, version2)
	}
	if got, _ := os.ReadFile("/etc/printpay/printpay.toml"); string(got) != string(conf) {
		t.Errorf("upgrade changed the config:\n%s", got)
	}
	for _, f := range []string{cfg.Server.TokenFile, job} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("upgrade lost %v", err)
		}
	}
	if queueURI() == "" {
		t.Error("queue gone after upgrade")
	}

	// Remove: program, unit, rule and queue go; config, token, spool stay.
	t.Logf("dpkg -r:\n%s", dpkg("-r", "printpay"))
	for _, f := range []string{"/usr/bin/printpay", "/lib/systemd/system/printpay.service", "/lib/udev/rules.d/60-printpay.rules"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("after remove %s: %v", f, err)
		}
	}
	if q := queueURI(); q != "" {
		t.Errorf("queue still there after remove: %s", q)
	}
	for _, f := range []string{"/etc/printpay/printpay.toml", cfg.Server.TokenFile, job} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("remove deleted state: %v", err)
		}
	}

	// Purge: state and the user go too.
	dpkg("-P", "printpay")
	for _, f := range []string{"/etc/printpay", "/var/lib/printpay", "/var/log/printpay", "/etc/systemd/system/multi-user.target.wants/printpay.service"} {
		if _, err := os.Lstat(f); !os.IsNotExist(err) {
			t.Errorf("after purge %s: %v", f, err)
		}
	}
	if _, err := user.Lookup("printpay"); err == nil {
		t.Error("user printpay still there after purge")
	}
	if _, err := user.LookupGroup("printpay"); err == nil {
		t.Error("group printpay still there after purge")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func portOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
