package winspool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf16"

	"printpay.dev/printpay/drivers"
)

// errBuffer reports a spooler buffer that does not hold what it claims.
var errBuffer = errors.New("winspool: malformed spooler buffer")

// Layouts on 64-bit Windows (pointers 8 bytes, natural alignment).
const (
	printerInfo2Size = 136
	jobInfo1Size     = 96
	ptrSize          = 8
)

// PrinterInfo is the part of PRINTER_INFO_2W the agent uses.
type PrinterInfo struct {
	Name, Share, Port, Driver, Comment, Location, Datatype string
	Attributes, Status, Jobs                               uint32
}

// JobInfo is the part of JOB_INFO_1W the agent uses.
type JobInfo struct {
	ID                      uint32
	Printer, Document, Text string // Text: the pStatus string drivers set
	Status                  uint32
}

// view reads a buffer the spooler filled, whose pointers are absolute
// addresses; base is the address of buf[0].
type view struct {
	buf  []byte
	base uint64
}

func (v view) u32(off int) (uint32, error) {
	if off < 0 || off+4 > len(v.buf) {
		return 0, errBuffer
	}
	return binary.LittleEndian.Uint32(v.buf[off:]), nil
}

func (v view) ptr(off int) (uint64, error) {
	if off < 0 || off+ptrSize > len(v.buf) {
		return 0, errBuffer
	}
	return binary.LittleEndian.Uint64(v.buf[off:]), nil
}

// str reads the NUL-terminated UTF-16 string the pointer at off points to
// ("" for NULL). A pointer outside the buffer, or a string that runs past
// its end, is an error, never a read outside buf.
func (v view) str(off int) (string, error) {
	p, err := v.ptr(off)
	if err != nil || p == 0 {
		return "", err
	}
	if p < v.base || p-v.base >= uint64(len(v.buf)) {
		return "", fmt.Errorf("%w: pointer %#x outside the buffer", errBuffer, p)
	}
	start := int(p - v.base)
	var u []uint16
	for i := start; ; i += 2 {
		if i+2 > len(v.buf) {
			return "", fmt.Errorf("%w: unterminated string", errBuffer)
		}
		c := binary.LittleEndian.Uint16(v.buf[i:])
		if c == 0 {
			break
		}
		if len(u) >= 4096 {
			return "", fmt.Errorf("%w: string too long", errBuffer)
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), nil
}

// parsePrinterInfo2 reads count PRINTER_INFO_2W records from buf.
func parsePrinterInfo2(buf []byte, base uint64, count int) ([]PrinterInfo, error) {
	if count < 0 || count > len(buf)/printerInfo2Size {
		return nil, fmt.Errorf("%w: %d printers in %d bytes", errBuffer, count, len(buf))
	}
	v := view{buf, base}
	out := make([]PrinterInfo, 0, count)
	for i := 0; i < count; i++ {
		o := i * printerInfo2Size
		var p PrinterInfo
		var err error
		for _, f := range []struct {
			dst *string
			off int
		}{{&p.Name, 8}, {&p.Share, 16}, {&p.Port, 24}, {&p.Driver, 32}, {&p.Comment, 40}, {&p.Location, 48}, {&p.Datatype, 80}} {
			if *f.dst, err = v.str(o + f.off); err != nil {
				return nil, fmt.Errorf("printer %d: %w", i, err)
			}
		}
		if p.Attributes, err = v.u32(o + 104); err != nil {
			return nil, err
		}
		if p.Status, err = v.u32(o + 124); err != nil {
			return nil, err
		}
		if p.Jobs, err = v.u32(o + 128); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parseJobInfo1 reads count JOB_INFO_1W records from buf.
func parseJobInfo1(buf []byte, base uint64, count int) ([]JobInfo, error) {
	if count < 0 || count > len(buf)/jobInfo1Size {
		return nil, fmt.Errorf("%w: %d jobs in %d bytes", errBuffer, count, len(buf))
	}
	v := view{buf, base}
	out := make([]JobInfo, 0, count)
	for i := 0; i < count; i++ {
		o := i * jobInfo1Size
		var j JobInfo
		var err error
		if j.ID, err = v.u32(o); err != nil {
			return nil, err
		}
		for _, f := range []struct {
			dst *string
			off int
		}{{&j.Printer, 8}, {&j.Document, 32}, {&j.Text, 48}} {
			if *f.dst, err = v.str(o + f.off); err != nil {
				return nil, fmt.Errorf("job %d: %w", i, err)
			}
		}
		if j.Status, err = v.u32(o + 56); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// Printer status bits (PRINTER_STATUS_*) and attributes.
const (
	psPaused         = 0x1
	psError          = 0x2
	psPaperJam       = 0x8
	psPaperOut       = 0x10
	psPaperProblem   = 0x40
	psOffline        = 0x80
	psNotAvailable   = 0x1000
	psUserInterv     = 0x100000
	psDoorOpen       = 0x400000
	attrWorkOffline  = 0x400
	jsError          = 0x2
	jsOffline        = 0x20
	jsPaperOut       = 0x40
	jsUserInterv     = 0x400
	jsBlockedDevQ    = 0x200
	jsDeleting       = 0x4
	jsPrinted        = 0x80
	jsComplete       = 0x1000
	jsDeleted        = 0x100
	jsSpooling       = 0x8
	jsPrinting       = 0x10
	jsPaused         = 0x1
	jsRestart        = 0x800
	jsRetained       = 0x2000
	jsDone           = jsPrinted | jsComplete | jsDeleted | jsDeleting
	printerEnumLocal = 0x2
	printerEnumConn  = 0x4
)

// statusOf turns the queue's status, attributes and its jobs' statuses
// into a drivers.Status. USB port monitors report a printer that is off
// or out of paper on the job being printed, not on the queue, so both
// count.
func statusOf(p PrinterInfo, jobs []JobInfo) drivers.Status {
	st := p.Status
	var jst uint32
	text := ""
	for _, j := range jobs {
		if j.Status&jsDone != 0 {
			continue
		}
		jst |= j.Status
		if text == "" && j.Text != "" {
			text = j.Text
		}
	}
	detail := func(s string) string {
		if text != "" {
			return "winspool: " + s + ": " + text
		}
		return "winspool: " + s
	}
	switch {
	case st&psPaperOut != 0 || jst&jsPaperOut != 0:
		return drivers.Status{State: drivers.StatePaperOut, Detail: detail("queue reports paper out")}
	case st&psDoorOpen != 0:
		return drivers.Status{State: drivers.StateCoverOpen, Detail: detail("queue reports door open")}
	case st&(psError|psPaperJam|psPaperProblem|psUserInterv) != 0 || jst&(jsError|jsUserInterv|jsBlockedDevQ) != 0:
		return drivers.Status{State: drivers.StateError, Detail: detail("queue reports an error")}
	case st&(psOffline|psNotAvailable) != 0 || p.Attributes&attrWorkOffline != 0 || jst&jsOffline != 0:
		return drivers.Status{State: drivers.StateOffline, Detail: detail("queue reports the printer offline")}
	case st&psPaused != 0:
		return drivers.Status{State: drivers.StateOffline, Detail: detail("queue is paused")}
	}
	return drivers.Status{State: drivers.StateOnline, Detail: detail("queue ready")}
}

// loopsBack reports whether a queue's port sends its jobs to the agent
// itself. port is the queue's port name; host and portNum the target of a
// Standard TCP/IP port when known ("" and 0 otherwise). agent lists the
// agent's raw listen addresses (host:port).
func loopsBack(port, host string, portNum int, agent []string) bool {
	targets := map[string]bool{}
	add := func(h string, n int) {
		if h == "" {
			return
		}
		h = strings.ToLower(strings.Trim(h, "[]"))
		if n == 0 {
			n = 9100
		}
		targets[net.JoinHostPort(h, strconv.Itoa(n))] = true
	}
	add(host, portNum)
	p := strings.TrimSuffix(strings.TrimSpace(port), ":")
	p = strings.TrimPrefix(p, "IP_")
	if h, n, err := net.SplitHostPort(p); err == nil {
		num, _ := strconv.Atoi(n)
		add(h, num)
	} else if net.ParseIP(p) != nil || strings.EqualFold(p, "localhost") {
		add(p, 9100)
	}
	listen := map[string]bool{"9100": true}
	agentHosts := map[string]bool{}
	for _, a := range agent {
		h, n, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		listen[n] = true
		agentHosts[strings.ToLower(h)] = true
	}
	for t := range targets {
		h, n, _ := net.SplitHostPort(t)
		local := h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.") || h == "0.0.0.0" || h == "::" || agentHosts[h]
		if local && listen[n] {
			return true
		}
	}
	return false
}
