//go:build windows

package installer

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	winspool                        = windows.NewLazySystemDLL("winspool.drv")
	procOpenPrinterW                = winspool.NewProc("OpenPrinterW")
	procClosePrinter                = winspool.NewProc("ClosePrinter")
	procXcvDataW                    = winspool.NewProc("XcvDataW")
	procAddPrinterW                 = winspool.NewProc("AddPrinterW")
	procDeletePrinter               = winspool.NewProc("DeletePrinter")
	procEnumPortsW                  = winspool.NewProc("EnumPortsW")
	procInstallPrinterDriverFromPkg = winspool.NewProc("InstallPrinterDriverFromPackageW")
)

const (
	serverAccessAdminister = 0x00000001
	printerAllAccess       = 0x000F000C

	errorPrinterAlreadyExists = 1802
	errorUnknownPrinterDriver = 1797
	errorInvalidPrinterName   = 1801
)

type printerDefaults struct {
	datatype      *uint16
	devMode       uintptr
	desiredAccess uint32
}

type printerInfo2 struct {
	serverName, printerName, shareName, portName, driverName, comment, location            *uint16
	devMode                                                                                uintptr
	sepFile, printProcessor, datatype, parameters                                          *uint16
	securityDescriptor                                                                     uintptr
	attributes, priority, defaultPriority, startTime, untilTime, status, cJobs, averagePPM uint32
}

func openPrinter(name string, access uint32) (windows.Handle, error) {
	var h windows.Handle
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	def := printerDefaults{desiredAccess: access}
	r, _, e := procOpenPrinterW.Call(uintptr(unsafe.Pointer(n)), uintptr(unsafe.Pointer(&h)), uintptr(unsafe.Pointer(&def)))
	if r == 0 {
		return 0, e
	}
	return h, nil
}

func closePrinter(h windows.Handle) { procClosePrinter.Call(uintptr(h)) }

// xcv sends one XcvData command to the Standard TCP/IP port monitor.
func xcv(command string, in []byte) (uint32, error) {
	if err := procXcvDataW.Find(); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoSpooler, err)
	}
	h, err := openPrinter(",XcvMonitor Standard TCP/IP Port", serverAccessAdminister)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return 0, fmt.Errorf("installer: the Standard TCP/IP Port monitor: %w (run as an administrator)", err)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: the Standard TCP/IP Port monitor cannot be opened: %v", ErrNoSpooler, err)
	}
	defer closePrinter(h)
	cmd, _ := windows.UTF16PtrFromString(command)
	var needed, status uint32
	var out [4]byte
	r, _, e := procXcvDataW.Call(uintptr(h), uintptr(unsafe.Pointer(cmd)),
		uintptr(unsafe.Pointer(&in[0])), uintptr(len(in)),
		uintptr(unsafe.Pointer(&out[0])), uintptr(len(out)),
		uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&status)))
	if r == 0 {
		return status, fmt.Errorf("installer: XcvData %s: %w", command, e)
	}
	return status, nil
}

func nativeAddQueue(q Queue) error {
	port := PortName(q.Port)
	data, err := PortData(port, "127.0.0.1", q.Port)
	if err != nil {
		return err
	}
	status, err := xcv("AddPort", data)
	if err != nil {
		return err
	}
	if status != 0 && status != uint32(windows.ERROR_ALREADY_EXISTS) {
		return fmt.Errorf("installer: adding port %s: %w", port, windows.Errno(status))
	}
	err = addPrinter(q)
	if errors.Is(err, windows.Errno(errorUnknownPrinterDriver)) {
		drv, _ := windows.UTF16PtrFromString(q.Driver)
		// NULL INF path: the driver store (Generic / Text Only is in ntprint.inf).
		if r, _, _ := procInstallPrinterDriverFromPkg.Call(0, 0, uintptr(unsafe.Pointer(drv)), 0, 0); r != 0 {
			return fmt.Errorf("installer: installing the driver %q: HRESULT %#x", q.Driver, uint32(r))
		}
		err = addPrinter(q)
	}
	if errors.Is(err, windows.Errno(errorPrinterAlreadyExists)) {
		// Point the existing queue at this port: remove it and add it again.
		if err := deletePrinter(q.Name); err != nil {
			return err
		}
		err = addPrinter(q)
	}
	if err != nil {
		return fmt.Errorf("installer: adding the printer %q (driver %q): %w", q.Name, q.Driver, err)
	}
	return nil
}

func addPrinter(q Queue) error {
	spec := WindowsPrinter(q)
	p := func(s string) *uint16 { u, _ := windows.UTF16PtrFromString(s); return u }
	info := printerInfo2{
		printerName:    p(spec.Name),
		portName:       p(spec.Port),
		driverName:     p(spec.Driver),
		comment:        p(spec.Comment),
		printProcessor: p(spec.PrintProcessor),
		datatype:       p(spec.Datatype),
		attributes:     spec.Attributes,
		priority:       1,
	}
	r, _, e := procAddPrinterW.Call(0, 2, uintptr(unsafe.Pointer(&info)))
	if r == 0 {
		return e
	}
	closePrinter(windows.Handle(r))
	return nil
}

func deletePrinter(name string) error {
	h, err := openPrinter(name, printerAllAccess)
	if err != nil {
		if errors.Is(err, windows.Errno(errorInvalidPrinterName)) {
			return nil
		}
		return fmt.Errorf("installer: opening the printer %q: %w", name, err)
	}
	defer closePrinter(h)
	if r, _, e := procDeletePrinter.Call(uintptr(h)); r == 0 {
		return fmt.Errorf("installer: deleting the printer %q: %w", name, e)
	}
	return nil
}

func nativeRemoveQueue(q Queue) error {
	if err := procAddPrinterW.Find(); err != nil {
		return nil
	}
	if err := deletePrinter(q.Name); err != nil {
		return err
	}
	ports := map[string]bool{PortName(q.Port): true}
	for _, p := range enumPorts() {
		if OwnPort(p) {
			ports[p] = true
		}
	}
	for name := range ports {
		status, err := xcv("DeletePort", DeletePortData(name))
		if errors.Is(err, ErrNoSpooler) {
			return nil
		}
		if err != nil {
			return err
		}
		if status != 0 && status != uint32(windows.ERROR_FILE_NOT_FOUND) && status != uint32(windows.ERROR_UNKNOWN_PORT) {
			return fmt.Errorf("installer: deleting port %s: %w", name, windows.Errno(status))
		}
	}
	return nil
}

// portInfo1 is PORT_INFO_1W.
type portInfo1 struct{ name *uint16 }

// enumPorts lists the spooler's port names (PORT_INFO_1); nil on failure.
func enumPorts() []string {
	if procEnumPortsW.Find() != nil {
		return nil
	}
	var needed, returned uint32
	procEnumPortsW.Call(0, 1, 0, 0, uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&returned)))
	if needed == 0 {
		return nil
	}
	buf := make([]byte, needed) // heap blocks this size are pointer-aligned
	r, _, _ := procEnumPortsW.Call(0, 1, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		uintptr(unsafe.Pointer(&needed)), uintptr(unsafe.Pointer(&returned)))
	if r == 0 || uintptr(returned)*unsafe.Sizeof(portInfo1{}) > uintptr(len(buf)) {
		return nil
	}
	names := make([]string, 0, returned)
	for _, p := range unsafe.Slice((*portInfo1)(unsafe.Pointer(&buf[0])), returned) {
		names = append(names, windows.UTF16PtrToString(p.name))
	}
	return names
}

func netsh(args []string) ([]byte, error) {
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		return nil, err
	}
	return exec.Command(filepath.Join(sys, "netsh.exe"), args...).CombinedOutput()
}

func nativeFirewallSupported() bool { return true }

func nativeAddFirewallRule(exe string) error {
	nativeRemoveFirewallRule() // one rule, however often install runs
	if out, err := netsh(FirewallAddArgs(exe)); err != nil {
		return fmt.Errorf("installer: netsh %s: %v: %s", strings.Join(FirewallAddArgs(exe), " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func nativeRemoveFirewallRule() error {
	out, err := netsh(FirewallDeleteArgs())
	if err != nil && !bytes.Contains(out, []byte("No rules match")) {
		return fmt.Errorf("installer: netsh %s: %v: %s", strings.Join(FirewallDeleteArgs(), " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Protected DACLs: SYSTEM and Administrators only, inherited by children.
const (
	dirSDDL  = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
	fileSDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)"
)

func nativeSecure(path string, dir bool) error {
	s := fileSDDL
	if dir {
		s = dirSDDL
	}
	sd, err := windows.SecurityDescriptorFromString(s)
	if err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("installer: setting the ACL of %s: %w", path, err)
	}
	return nil
}
