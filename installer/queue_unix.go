//go:build !windows

package installer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// lpadmin finds CUPS' lpadmin, also where a service's PATH may not look.
func lpadmin() (string, error) {
	if p, err := exec.LookPath("lpadmin"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/lpadmin", "/usr/bin/lpadmin"} {
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: lpadmin (CUPS) is not installed", ErrNoSpooler)
}

func nativeAddQueue(q Queue) error {
	bin, err := lpadmin()
	if err != nil {
		return err
	}
	out, err := exec.Command(bin, LpadminAddArgs(q)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("installer: lpadmin %s: %v: %s", strings.Join(LpadminAddArgs(q), " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func nativeRemoveQueue(q Queue) error {
	bin, err := lpadmin()
	if err != nil {
		return nil // no CUPS, no queue
	}
	out, err := exec.Command(bin, LpadminRemoveArgs(q)...).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "does not exist") || strings.Contains(string(out), "not found") {
			return nil
		}
		return fmt.Errorf("installer: lpadmin %s: %v: %s", strings.Join(LpadminRemoveArgs(q), " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// firewallSupported: on Linux the distribution's firewall is left to the
// administrator.
func nativeFirewallSupported() bool { return false }

func nativeAddFirewallRule(string) error { return nil }

func nativeRemoveFirewallRule() error { return nil }

// nativeSecure gives a folder mode 0700 and a file mode 0600.
func nativeSecure(path string, dir bool) error {
	mode := os.FileMode(0o600)
	if dir {
		mode = 0o700
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	return nil
}
