package winspool

import (
	"encoding/binary"
	"errors"
	"testing"
	"unicode/utf16"

	"printpay.dev/printpay/drivers"
)

const base = 0x1f4a0000

// builder lays out records followed by their strings, the way the spooler
// fills an EnumPrinters/EnumJobs buffer: pointers are absolute addresses.
type builder struct {
	recs    []byte
	strs    []byte
	recSize int
	fixups  []fixup
}

type fixup struct {
	at  int // offset of the pointer in recs
	str int // offset of the string in strs, -1 = NULL
}

func (b *builder) record() int {
	o := len(b.recs)
	b.recs = append(b.recs, make([]byte, b.recSize)...)
	return o
}

func (b *builder) str(rec, off int, s string) {
	if s == "" {
		return
	}
	b.fixups = append(b.fixups, fixup{rec + off, len(b.strs)})
	for _, u := range utf16.Encode([]rune(s)) {
		b.strs = binary.LittleEndian.AppendUint16(b.strs, u)
	}
	b.strs = append(b.strs, 0, 0)
}

func (b *builder) u32(rec, off int, v uint32) {
	binary.LittleEndian.PutUint32(b.recs[rec+off:], v)
}

func (b *builder) bytes() []byte {
	out := append([]byte{}, b.recs...)
	for _, f := range b.fixups {
		binary.LittleEndian.PutUint64(out[f.at:], uint64(base+len(b.recs)+f.str))
	}
	return append(out, b.strs...)
}

func printersBuffer() []byte {
	b := &builder{recSize: printerInfo2Size}
	r := b.record()
	b.str(r, 8, "POS-80C")
	b.str(r, 24, "USB001")
	b.str(r, 32, "POS-80C Printer Driver")
	b.str(r, 40, "前台收银")
	b.str(r, 80, "RAW")
	b.u32(r, 104, 0x40)
	b.u32(r, 124, psPaperOut)
	b.u32(r, 128, 2)
	r = b.record()
	b.str(r, 8, "printpay")
	b.str(r, 24, "IP_127.0.0.1")
	b.str(r, 32, "Generic / Text Only")
	return b.bytes()
}

func TestParsePrinterInfo2(t *testing.T) {
	ps, err := parsePrinterInfo2(printersBuffer(), base, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("%d printers", len(ps))
	}
	p := ps[0]
	if p.Name != "POS-80C" || p.Port != "USB001" || p.Driver != "POS-80C Printer Driver" || p.Comment != "前台收银" ||
		p.Datatype != "RAW" || p.Share != "" || p.Status != psPaperOut || p.Jobs != 2 || p.Attributes != 0x40 {
		t.Fatalf("%+v", p)
	}
	if ps[1].Port != "IP_127.0.0.1" {
		t.Fatalf("%+v", ps[1])
	}
	f := found(ps)
	if f[0].Driver != "winspool" || f[0].Device != "POS-80C" || f[0].Description != "POS-80C Printer Driver on USB001" {
		t.Fatalf("%+v", f[0])
	}
}

func TestParseGarbageBuffers(t *testing.T) {
	good := printersBuffer()
	cases := map[string]struct {
		buf   []byte
		count int
	}{
		"count too large":   {good, 50},
		"negative count":    {good, -1},
		"truncated strings": {good[:printerInfo2Size*2+10], 2},
		"empty":             {nil, 1},
		"pointer outside": {func() []byte {
			b := append([]byte{}, good...)
			binary.LittleEndian.PutUint64(b[8:], 0xdeadbeef)
			return b
		}(), 1},
		"pointer at the end": {func() []byte {
			b := append([]byte{}, good...)
			binary.LittleEndian.PutUint64(b[8:], base+uint64(len(b))-1)
			return b
		}(), 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := parsePrinterInfo2(tc.buf, base, tc.count); !errors.Is(err, errBuffer) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	// Unterminated string: overwrite the final NUL.
	b := append([]byte{}, good...)
	b[len(b)-1], b[len(b)-2] = 'x', 'x'
	if _, err := parsePrinterInfo2(b, base, 2); !errors.Is(err, errBuffer) {
		t.Fatalf("unterminated: %v", err)
	}
}

func FuzzParsePrinterInfo2(f *testing.F) {
	f.Add(printersBuffer(), 2)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, buf []byte, count int) {
		parsePrinterInfo2(buf, base, count)
		parseJobInfo1(buf, base, count)
	})
}

func jobsBuffer(statuses ...uint32) []byte {
	b := &builder{recSize: jobInfo1Size}
	for i, s := range statuses {
		r := b.record()
		b.u32(r, 0, uint32(10+i))
		b.str(r, 8, "POS-80C")
		b.str(r, 32, "printpay 01JOB")
		if s&jsPaperOut != 0 {
			b.str(r, 48, "Paper out")
		}
		b.u32(r, 56, s)
	}
	return b.bytes()
}

func TestParseJobInfo1AndStatus(t *testing.T) {
	js, err := parseJobInfo1(jobsBuffer(jsPrinting, jsPrinted), base, 2)
	if err != nil {
		t.Fatal(err)
	}
	if js[0].ID != 10 || js[0].Document != "printpay 01JOB" || js[0].Printer != "POS-80C" || js[1].Status != jsPrinted {
		t.Fatalf("%+v", js)
	}
	ready := PrinterInfo{Name: "q"}
	tests := []struct {
		name string
		p    PrinterInfo
		jobs []uint32
		want drivers.PrinterState
	}{
		{"ready", ready, nil, drivers.StateOnline},
		{"queue paper out", PrinterInfo{Status: psPaperOut}, nil, drivers.StatePaperOut},
		{"job paper out (usbmon)", ready, []uint32{jsPrinting | jsPaperOut}, drivers.StatePaperOut},
		{"finished job's error ignored", ready, []uint32{jsError | jsPrinted}, drivers.StateOnline},
		{"job offline", ready, []uint32{jsOffline}, drivers.StateOffline},
		{"work offline", PrinterInfo{Attributes: attrWorkOffline}, nil, drivers.StateOffline},
		{"paused", PrinterInfo{Status: psPaused}, nil, drivers.StateOffline},
		{"door open", PrinterInfo{Status: psDoorOpen}, nil, drivers.StateCoverOpen},
		{"jam", PrinterInfo{Status: psPaperJam}, nil, drivers.StateError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var jobs []JobInfo
			if len(tc.jobs) > 0 {
				var err error
				if jobs, err = parseJobInfo1(jobsBuffer(tc.jobs...), base, len(tc.jobs)); err != nil {
					t.Fatal(err)
				}
			}
			if got := statusOf(tc.p, jobs); got.State != tc.want {
				t.Fatalf("%v (%s), want %v", got.State, got.Detail, tc.want)
			}
		})
	}
}

func TestLoopsBack(t *testing.T) {
	agent := []string{"127.0.0.1:9100", "127.0.0.1:9101", "192.168.1.20:9100"}
	tests := []struct {
		port, host string
		num        int
		want       bool
	}{
		{"IP_127.0.0.1", "", 0, true},
		{"127.0.0.1:9100", "", 0, true},
		{"localhost", "", 0, true},
		{"MyPort", "127.0.0.1", 9101, true},
		{"MyPort", "192.168.1.20", 9100, true},
		{"MyPort", "127.0.0.1", 515, false},
		{"IP_192.168.1.50", "192.168.1.50", 9100, false},
		{"USB001", "", 0, false},
		{"LPT1:", "", 0, false},
		{"COM1:", "", 0, false},
		{"[::1]:9100", "", 0, true},
	}
	for _, tc := range tests {
		if got := loopsBack(tc.port, tc.host, tc.num, agent); got != tc.want {
			t.Errorf("loopsBack(%q, %q, %d) = %v, want %v", tc.port, tc.host, tc.num, got, tc.want)
		}
	}
	if !loopsBack("IP_127.0.0.1", "", 0, nil) {
		t.Error("127.0.0.1:9100 must be refused even without agent addresses")
	}
}
