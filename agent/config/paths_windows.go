//go:build windows

package config

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// programData is where the agent keeps its spool, token and log.
func programData() string {
	if d, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0); err == nil && d != "" {
		return filepath.Join(d, "printpay")
	}
	return filepath.Join(os.TempDir(), "printpay")
}

// serviceRun: any Windows process may bind port 515.
func serviceRun() bool { return true }

// defaultFile is the configuration beside the agent's other state in
// ProgramData.
func defaultFile() string { return filepath.Join(programData(), "printpay.toml") }
