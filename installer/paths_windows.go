//go:build windows

package installer

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/windows"
)

func nativeDefaultPaths() (Paths, error) {
	pd, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0)
	if err != nil || pd == "" {
		return Paths{}, fmt.Errorf("installer: the ProgramData folder: %w", err)
	}
	d := filepath.Join(pd, "printpay")
	return PathsUnder(filepath.Join(d, "printpay.toml"), d), nil
}
