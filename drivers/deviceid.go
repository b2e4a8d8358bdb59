package drivers

import "strings"

// MaxDeviceID bounds the IEEE 1284 device ID we keep (the wire format's
// 2-byte length allows 65535; real printers send under 1 KB).
const MaxDeviceID = 4096

// DeviceID is a parsed IEEE 1284 device ID:
//
//	MFG:EPSON;CMD:ESC/POS;MDL:TM-T88V;CLS:PRINTER;DES:TM-T88V;
//
// Keys are upper-cased and both short and long forms are kept as sent
// (MFG / MANUFACTURER, MDL / MODEL, CMD / COMMAND SET).
type DeviceID map[string]string

// ParseDeviceID parses an ID string (without its 2-byte length prefix).
// Garbage yields whatever key:value pairs it contains; the input is cut at
// MaxDeviceID bytes.
func ParseDeviceID(s string) DeviceID {
	if len(s) > MaxDeviceID {
		s = s[:MaxDeviceID]
	}
	id := DeviceID{}
	for _, f := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		if k == "" || len(id) >= 64 {
			continue
		}
		id[k] = strings.TrimSpace(v)
	}
	return id
}

// DeviceIDFromWire strips the big-endian 2-byte length prefix of a
// GET_DEVICE_ID reply (USB printer class, LPIOC_GET_DEVICE_ID) and returns
// the ID text. A length that does not fit the buffer is clamped.
func DeviceIDFromWire(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	n := int(b[0])<<8 | int(b[1])
	if n < 2 || n > len(b) {
		n = len(b)
	}
	s := b[2:n]
	if len(s) > MaxDeviceID {
		s = s[:MaxDeviceID]
	}
	// Drop trailing NULs some firmware pads with.
	return strings.TrimRight(string(s), "\x00")
}

func (id DeviceID) first(keys ...string) string {
	for _, k := range keys {
		if v := id[k]; v != "" {
			return v
		}
	}
	return ""
}

// Manufacturer returns MFG or MANUFACTURER.
func (id DeviceID) Manufacturer() string { return id.first("MFG", "MANUFACTURER") }

// Model returns MDL or MODEL.
func (id DeviceID) Model() string { return id.first("MDL", "MODEL") }

// CommandSet returns CMD or COMMAND SET.
func (id DeviceID) CommandSet() string { return id.first("CMD", "COMMAND SET") }

// PortStatus decodes the one-byte port status of the USB printer class
// (GET_PORT_STATUS) and of Linux usblp (LPGETSTATUS), both IEEE 1284
// status lines:
//
//	bit 5  paper empty
//	bit 4  selected (online)
//	bit 3  not error
func PortStatus(b byte) Status {
	switch {
	case b&0x20 != 0:
		return Status{State: StatePaperOut, Detail: "port status reports paper empty"}
	case b&0x08 == 0:
		return Status{State: StateError, Detail: "port status reports an error"}
	case b&0x10 == 0:
		return Status{State: StateOffline, Detail: "port status reports not selected"}
	}
	return Status{State: StateOnline}
}
