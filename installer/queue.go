package installer

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Queue says which print queue to make.
type Queue struct {
	Name   string // QueueName unless set
	Port   int    // the agent's raw port on 127.0.0.1
	Driver string // Windows: the queue's driver; DefaultDriver unless set
}

func (q Queue) withDefaults() Queue {
	if q.Name == "" {
		q.Name = QueueName
	}
	if q.Driver == "" {
		q.Driver = DefaultDriver
	}
	if q.Port == 0 {
		q.Port = DefaultRawPort
	}
	return q
}

// AddQueue makes (or updates) the local print queue that sends RAW jobs to
// the agent on 127.0.0.1:q.Port: on Windows a Standard TCP/IP port (RAW,
// SNMP off) and a printer on it with bidirectional support off; on Linux a
// CUPS raw queue. ErrNoSpooler when the machine has no spooler to make it in.
func AddQueue(q Queue) error { return nativeAddQueue(q.withDefaults()) }

// RemoveQueue removes the queue and, on Windows, its port. Removing a queue
// that is not there is not an error.
func RemoveQueue(q Queue) error { return nativeRemoveQueue(q.withDefaults()) }

// PortName is the name of the Windows Standard TCP/IP port for a raw port.
func PortName(port int) string { return portPrefix + strconv.Itoa(port) }

const portPrefix = "printpay_127.0.0.1_"

// OwnPort reports whether a Windows port name is one PortName made, so an
// uninstall removes every such port, whatever raw port it pointed at.
func OwnPort(name string) bool {
	n, ok := strings.CutPrefix(name, portPrefix)
	if !ok || n == "" {
		return false
	}
	p, err := strconv.Atoi(n)
	return err == nil && p > 0 && p < 65536 && strconv.Itoa(p) == n
}

// Printer is the Windows printer (PRINTER_INFO_2) AddQueue makes.
type Printer struct {
	Name, Port, Driver, Comment string
	PrintProcessor, Datatype    string
	Attributes                  uint32
}

// PRINTER_INFO_2 attribute bits.
const (
	PrinterAttributeLocal      = 0x00000040
	PrinterAttributeEnableBidi = 0x00000800
)

// WindowsPrinter returns the printer for q: on q's Standard TCP/IP port,
// RAW through winprint, local, bidirectional support off.
func WindowsPrinter(q Queue) Printer {
	q = q.withDefaults()
	return Printer{
		Name: q.Name, Port: PortName(q.Port), Driver: q.Driver, Comment: "printpay receipt printer",
		PrintProcessor: "winprint", Datatype: "RAW",
		Attributes: PrinterAttributeLocal, // no PrinterAttributeEnableBidi
	}
}

// PORT_DATA_1 (tcpxcv.h) field sizes, in UTF-16 code units.
const (
	maxPortNameLen       = 64
	maxNetworkNameLen    = 49
	maxSNMPCommunityLen  = 33
	maxQueueNameLen      = 33
	maxIPAddrStrLen      = 16
	portDataReservedLen  = 540
	protocolRawTCP       = 1
	portData1Size        = 964
	portData1PortOffset  = 952
	portData1SNMPOffset  = 956
	portData1HostOffset  = 144
	portData1ProtoOffset = 132
)

// PortData returns the PORT_DATA_1 record the Standard TCP/IP port
// monitor's "AddPort" XcvData call takes: version 1, RAW protocol, the host
// and port, SNMP off, no double spooling. The layout is Windows' (x86-64 and
// x86 agree: every field is 2- or 4-byte aligned).
func PortData(name, host string, port int) ([]byte, error) {
	if len(utf16.Encode([]rune(name))) >= maxPortNameLen {
		return nil, fmt.Errorf("installer: port name %q is too long", name)
	}
	if len(utf16.Encode([]rune(host))) >= maxNetworkNameLen {
		return nil, fmt.Errorf("installer: host %q is too long", host)
	}
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("installer: port %d out of range", port)
	}
	b := make([]byte, portData1Size)
	le := binary.LittleEndian
	off := 0
	putStr := func(s string, units int) {
		for i, u := range utf16.Encode([]rune(s)) {
			le.PutUint16(b[off+2*i:], u)
		}
		off += 2 * units
	}
	putU32 := func(v uint32) {
		le.PutUint32(b[off:], v)
		off += 4
	}
	putStr(name, maxPortNameLen)
	putU32(1)              // dwVersion
	putU32(protocolRawTCP) // dwProtocol
	putU32(portData1Size)  // cbSize
	putU32(0)              // dwReserved
	putStr(host, maxNetworkNameLen)
	putStr("", maxSNMPCommunityLen)
	putU32(0) // dwDoubleSpool
	putStr("", maxQueueNameLen)
	putStr("", maxIPAddrStrLen)
	off += portDataReservedLen
	off = (off + 3) &^ 3
	putU32(uint32(port)) // dwPortNumber
	putU32(0)            // dwSNMPEnabled
	putU32(0)            // dwSNMPDevIndex
	if off != portData1Size {
		panic("installer: PORT_DATA_1 layout")
	}
	return b, nil
}

// DeletePortData returns the DELETE_PORT_DATA_1 record of the "DeletePort"
// XcvData call: the port name (64 WCHARs), 98 reserved bytes, then
// dwVersion = 1 and dwReserved, 4-byte aligned: 236 bytes.
func DeletePortData(name string) []byte {
	b := make([]byte, deletePortData1Size)
	for i, u := range utf16.Encode([]rune(name)) {
		if i >= maxPortNameLen-1 {
			break
		}
		binary.LittleEndian.PutUint16(b[2*i:], u)
	}
	binary.LittleEndian.PutUint32(b[deletePortData1VersionOffset:], 1)
	return b
}

const (
	deletePortData1Size          = 236
	deletePortData1VersionOffset = 228
)

// LpadminAddArgs are lpadmin's arguments for the CUPS raw queue (no -m: a
// queue without a PPD passes jobs through untouched).
func LpadminAddArgs(q Queue) []string {
	q = q.withDefaults()
	return []string{"-p", q.Name, "-E", "-v", "socket://127.0.0.1:" + strconv.Itoa(q.Port),
		"-D", "printpay receipt printer", "-o", "printer-is-shared=false"}
}

// LpadminRemoveArgs are lpadmin's arguments that remove the queue.
func LpadminRemoveArgs(q Queue) []string { return []string{"-x", q.withDefaults().Name} }

// FirewallAddArgs are netsh's arguments for the inbound rule that lets the
// LAN reach the agent's listeners (made only when intake listens beyond
// loopback).
func FirewallAddArgs(exe string) []string {
	return []string{"advfirewall", "firewall", "add", "rule", "name=" + FirewallRuleName,
		"dir=in", "action=allow", "protocol=TCP", "profile=private,domain", "program=" + exe, "enable=yes"}
}

// FirewallDeleteArgs are netsh's arguments that remove that rule.
func FirewallDeleteArgs() []string {
	return []string{"advfirewall", "firewall", "delete", "rule", "name=" + FirewallRuleName}
}
