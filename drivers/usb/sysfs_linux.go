package usb

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysfsRoot is where Linux lists USB devices; tests point it elsewhere.
var sysfsRoot = "/sys/bus/usb/devices"

// kernelDriverBound reports whether a kernel driver (usually usblp) is
// bound to interface iface of configuration cfg on the device at bus and
// port path, e.g. /sys/bus/usb/devices/1-1.4:1.0/driver.
func kernelDriverBound(bus int, path []int, cfg, iface int) bool {
	if len(path) == 0 {
		return false
	}
	ports := make([]string, len(path))
	for i, p := range path {
		ports[i] = strconv.Itoa(p)
	}
	name := fmt.Sprintf("%d-%s:%d.%d", bus, strings.Join(ports, "."), cfg, iface)
	_, err := os.Lstat(filepath.Join(sysfsRoot, name, "driver"))
	return err == nil
}

const kernelDriverSupported = true
