//go:build windows

package installer

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func checkModes(t *testing.T, dir, file string) {
	for _, path := range []string{dir, file} {
		sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
		if err != nil {
			t.Fatal(err)
		}
		s := sd.String()
		if !strings.Contains(s, "D:P") || strings.Contains(s, ";;;WD)") || strings.Contains(s, ";;;BU)") {
			t.Errorf("%s: DACL %s, want protected, SYSTEM and Administrators only", path, s)
		}
	}
}
