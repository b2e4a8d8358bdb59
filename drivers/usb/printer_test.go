package usb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/drivers"
)

var errGone = errors.New("fake: no device")

// fakeDev is a printer interface: it records bulk OUT, answers DLE EOT 1
// on bulk IN, and can be unplugged, stall, or report paper empty.
type fakeDev struct {
	mu       sync.Mutex
	out      bytes.Buffer
	in       chan []byte
	gone     chan struct{}
	unplug   sync.Once
	stall    bool
	portByte byte
	id       []byte
	closed   bool
}

func newFakeDev() *fakeDev {
	return &fakeDev{in: make(chan []byte, 16), gone: make(chan struct{}), portByte: 0x18,
		id: append([]byte{0, 49}, "MFG:Virtual;MDL:POS58;CMD:ESC/POS;CLS:PRINTER;"...)}
}

func (f *fakeDev) Write(ctx context.Context, p []byte) (int, error) {
	f.mu.Lock()
	stall := f.stall
	f.mu.Unlock()
	select {
	case <-f.gone:
		return 0, errGone
	default:
	}
	if stall {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-f.gone:
			return 0, errGone
		}
	}
	f.mu.Lock()
	f.out.Write(p)
	f.mu.Unlock()
	if bytes.Contains(p, []byte{0x10, 0x04, 0x01}) {
		f.in <- []byte{0x16}
	}
	return len(p), nil
}

func (f *fakeDev) Read(ctx context.Context, p []byte) (int, error) {
	select {
	case b := <-f.in:
		return copy(p, b), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-f.gone:
		return 0, errGone
	}
}

func (f *fakeDev) Control(rType, req uint8, val, idx uint16, data []byte) (int, error) {
	select {
	case <-f.gone:
		return 0, errGone
	default:
	}
	if rType != rtClassIn {
		return 0, errors.New("fake: bad request type")
	}
	switch req {
	case reqGetDeviceID:
		return copy(data, f.id), nil
	case reqGetPortStatus:
		f.mu.Lock()
		defer f.mu.Unlock()
		data[0] = f.portByte
		return 1, nil
	}
	return 0, errors.New("fake: stall")
}

func (f *fakeDev) Index() uint16 { return 0 }
func (f *fakeDev) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}
func (f *fakeDev) Unplug() { f.unplug.Do(func() { close(f.gone) }) }
func (f *fakeDev) Bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.out.Bytes())
}

// bus hands out fake devices: plugged is the device the next open finds.
type bus struct {
	mu      sync.Mutex
	plugged *fakeDev
	opens   int
}

func (b *bus) open() (device, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opens++
	if b.plugged == nil {
		return nil, fmt.Errorf("usb: no printer matches: %w", drivers.ErrNotFound)
	}
	return b.plugged, nil
}

func (b *bus) plug(d *fakeDev) {
	b.mu.Lock()
	b.plugged = d
	b.mu.Unlock()
}

func testMap(what string, err error) error {
	if errors.Is(err, errGone) {
		return fmt.Errorf("%s: %w: %w", what, drivers.ErrOffline, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func waitState(t *testing.T, c *drivers.StatusCache, want drivers.PrinterState) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		ch := c.Changed()
		if c.Get().State == want {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("state %v, want %v", c.Get().State, want)
		}
	}
}

func TestWriteReadBackAndID(t *testing.T) {
	b := &bus{}
	d := newFakeDev()
	b.plug(d)
	cache := new(drivers.StatusCache)
	p, err := newPrinter(drivers.Config{Cache: cache}, "fake", b.open, testMap)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	job := make([]byte, 10000)
	for i := range job {
		job[i] = byte(i)
	}
	if n, err := p.Write(job); n != len(job) || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	if !bytes.Equal(d.Bytes(), job) {
		t.Fatal("bulk OUT differs")
	}
	cache.Expect(drivers.QueryPrinter)
	p.Write([]byte{0x10, 0x04, 0x01})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r, ok := cache.Reply(drivers.QueryPrinter); ok && r == 0x16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("DLE EOT reply never reached the cache")
		}
		time.Sleep(time.Millisecond)
	}
	id, err := p.DeviceID(context.Background())
	if err != nil || drivers.ParseDeviceID(id).Model() != "POS58" {
		t.Fatalf("id %q %v", id, err)
	}
	if s, _ := p.Status(context.Background()); s.State != drivers.StateOnline {
		t.Fatalf("status %v", s.State)
	}
	d.mu.Lock()
	d.portByte = 0x38 // paper empty
	d.mu.Unlock()
	if s, _ := p.Status(context.Background()); s.State != drivers.StatePaperOut {
		t.Fatalf("status %v", s.State)
	}
}

func TestUnplugReplugResumes(t *testing.T) {
	b := &bus{}
	d1 := newFakeDev()
	b.plug(d1)
	cache := new(drivers.StatusCache)
	p, err := newPrinter(drivers.Config{Cache: cache}, "fake", b.open, testMap)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Write([]byte("job1"))
	d1.Unplug()
	b.plug(nil)
	waitState(t, cache, drivers.StateOffline)
	if _, err := p.Write([]byte("job2")); !errors.Is(err, drivers.ErrNotFound) && !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("write while unplugged: %v", err)
	}
	d2 := newFakeDev()
	b.plug(d2)
	if _, err := p.Write([]byte("job2")); err != nil {
		t.Fatalf("write after replug: %v", err)
	}
	if string(d1.Bytes()) != "job1" || string(d2.Bytes()) != "job2" {
		t.Fatalf("%q %q", d1.Bytes(), d2.Bytes())
	}
	if !d1.closed {
		t.Fatal("old handle not closed")
	}
}

func TestStalledBulkOut(t *testing.T) {
	b := &bus{}
	d := newFakeDev()
	d.stall = true
	b.plug(d)
	p, err := newPrinter(drivers.Config{WriteTimeout: 100 * time.Millisecond}, "fake", b.open, testMap)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	if _, err := p.Write([]byte("x")); !errors.Is(err, drivers.ErrOffline) {
		t.Fatalf("%v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("stalled write not bounded")
	}
	d.mu.Lock()
	d.stall = false
	d.mu.Unlock()
	if _, err := p.Write([]byte("y")); err != nil {
		t.Fatalf("after the stall cleared: %v", err)
	}
}

func TestOpenNothing(t *testing.T) {
	b := &bus{}
	if _, err := newPrinter(drivers.Config{}, "fake", b.open, testMap); !errors.Is(err, drivers.ErrNotFound) {
		t.Fatalf("%v", err)
	}
}

func TestGarbageAndHugeDeviceID(t *testing.T) {
	for _, id := range [][]byte{
		{0xff, 0xff},
		{0, 0},
		append([]byte{0x04, 0x00}, bytes.Repeat([]byte{0xff, ';', ':'}, 400)...),
		{},
	} {
		d := newFakeDev()
		d.id = id
		got, err := readDeviceID(d, testMap, "fake")
		if err != nil || len(got) > drivers.MaxDeviceID {
			t.Fatalf("%q %v", got, err)
		}
		drivers.ParseDeviceID(got)
	}
}

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want spec
		ok   bool
	}{
		{"", spec{any: true}, true},
		{"0416:5011", spec{vid: 0x0416, pid: 0x5011}, true},
		{"04B8:0202:ABC123", spec{vid: 0x04b8, pid: 0x0202, serial: "ABC123"}, true},
		{"0x0416:0x5011", spec{vid: 0x0416, pid: 0x5011}, true},
		{"0416", spec{}, false},
		{"zz:5011", spec{}, false},
		{"10000:1", spec{}, false},
	} {
		got, err := parseSpec(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseSpec(%q) = %+v, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, drivers.ErrNotFound) {
			t.Errorf("parseSpec(%q): %v is not ErrNotFound", tc.in, err)
		}
	}
}

func TestPortStatus(t *testing.T) {
	for b, want := range map[byte]drivers.PrinterState{
		0x18: drivers.StateOnline,
		0x38: drivers.StatePaperOut,
		0x10: drivers.StateError,
		0x08: drivers.StateOffline,
	} {
		if got := drivers.PortStatus(b).State; got != want {
			t.Errorf("PortStatus(%#x) = %v, want %v", b, got, want)
		}
	}
}

func TestKernelDriverBound(t *testing.T) {
	if !kernelDriverSupported {
		t.Skip("kernel drivers are a Linux matter")
	}
	root := t.TempDir()
	old := sysfsRoot
	sysfsRoot = root
	defer func() { sysfsRoot = old }()
	os.MkdirAll(filepath.Join(root, "1-1.4:1.0"), 0o755)
	os.Symlink("../../../bus/usb/drivers/usblp", filepath.Join(root, "1-1.4:1.0", "driver"))
	os.MkdirAll(filepath.Join(root, "2-1:1.0"), 0o755)
	if !kernelDriverBound(1, []int{1, 4}, 1, 0) {
		t.Fatal("usblp bound but not seen")
	}
	if kernelDriverBound(2, []int{1}, 1, 0) || kernelDriverBound(3, nil, 1, 0) {
		t.Fatal("no driver reported as bound")
	}
}
