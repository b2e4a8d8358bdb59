// Package installer is what `printpay install` and `printpay uninstall` do
// besides talking to the service manager: where the agent keeps its files on
// each operating system, the configuration file an install writes (or
// repairs), the choice of the raw port when 9100 is taken, the local print
// queue "printpay" that points at that port, the firewall rule for LAN intake,
// and owner-only permissions on the folders that hold jobs and the device
// token.
//
// Everything that builds arguments for the operating system (the Standard
// TCP/IP port's PORT_DATA_1 record for the Windows spooler, lpadmin's
// arguments for CUPS, netsh's for the firewall) is OS-neutral and tested on
// every platform; the calls themselves live in queue_windows.go and
// queue_unix.go behind the same signatures (nativeAddQueue, nativeRemoveQueue,
// ...).
//
// The packages built from installer/linux (a .deb) and installer/windows (an
// NSIS setup.exe and a wixl MSI) call `printpay install` and `printpay
// uninstall`, so the logic here is shared by every way of installing.
package installer
