//go:build !windows

package config

import (
	"os"
	"path/filepath"
)

// programData is where the agent keeps its spool, token and log.
func programData() string {
	if serviceRun() {
		return "/var/lib/printpay"
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "printpay")
	}
	return filepath.Join(os.TempDir(), "printpay")
}

// defaultFile is the configuration a service run reads: /etc/printpay, where
// the .deb keeps it; a user run keeps it beside its other state.
func defaultFile() string {
	if serviceRun() {
		return "/etc/printpay/printpay.toml"
	}
	return filepath.Join(programData(), "printpay.toml")
}

// serviceRun reports whether this process runs with the privileges of a
// service (root), which may bind port 515.
func serviceRun() bool { return os.Geteuid() == 0 }
