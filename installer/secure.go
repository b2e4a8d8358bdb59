package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// SecureDir creates dir when needed and lets only its owner (Linux: mode
// 0700) or SYSTEM and Administrators (Windows: a protected ACL inherited by
// everything inside) reach it. The spool holds receipts.
func SecureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	return nativeSecure(dir, true)
}

// SecureFile does the same for one file (the device token): mode 0600, or
// SYSTEM and Administrators only. A file that does not exist yet is not an
// error: it inherits its folder's protection when it is written.
func SecureFile(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return nativeSecure(path, false)
}

// FirewallSupported reports whether AddFirewallRule does anything here.
func FirewallSupported() bool { return nativeFirewallSupported() }

// AddFirewallRule lets the LAN reach exe's listeners (Windows Defender
// Firewall, private and domain profiles). Call it only when intake listens
// beyond loopback.
func AddFirewallRule(exe string) error { return nativeAddFirewallRule(exe) }

// RemoveFirewallRule removes that rule; a missing rule is not an error.
func RemoveFirewallRule() error { return nativeRemoveFirewallRule() }
