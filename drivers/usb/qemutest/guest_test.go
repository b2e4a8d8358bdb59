//go:build qemuguest && usb && cgo && linux

package qemutest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/usb"
	"printpay.dev/printpay/drivers/usblp"
)

const (
	gadgetDev = "/dev/g_printer0"
	udcFile   = "/sys/kernel/config/usb_gadget/pos/UDC"
	spec      = "0416:5011"
	// GADGET_SET_PRINTER_STATUS = _IOWR('g', 0x22, unsigned char)
	gadgetSetStatus = 3<<30 | 1<<16 | 'g'<<8 | 0x22
)

// gadget is the printer end: it records everything the host sends and
// answers DLE EOT 1 with 0x16, reopening /dev/g_printer0 when the gadget
// is unbound and bound again.
type gadget struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	f      *os.File
	paused bool // stop reading: the host's bulk OUT stalls once the gadget's buffers fill
	stop   chan struct{}
}

func (g *gadget) pause(on bool) {
	g.mu.Lock()
	g.paused = on
	g.mu.Unlock()
}

func startGadget(t *testing.T) *gadget {
	g := &gadget{stop: make(chan struct{})}
	go g.loop()
	t.Cleanup(func() { close(g.stop) })
	return g
}

func (g *gadget) loop() {
	rb := make([]byte, 4096)
	state := 0
	for {
		select {
		case <-g.stop:
			return
		default:
		}
		f, err := os.OpenFile(gadgetDev, os.O_RDWR, 0)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		g.mu.Lock()
		g.f = f
		g.mu.Unlock()
		for {
			g.mu.Lock()
			paused := g.paused
			g.mu.Unlock()
			if paused {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			n, err := f.Read(rb)
			if n > 0 {
				g.mu.Lock()
				g.buf.Write(rb[:n])
				g.mu.Unlock()
				for _, c := range rb[:n] {
					switch {
					case state == 0 && c == 0x10:
						state = 1
					case state == 1 && c == 0x04:
						state = 2
					case state == 2:
						state = 0
						if c == 1 {
							f.Write([]byte{0x16})
						}
					default:
						state = 0
						if c == 0x10 {
							state = 1
						}
					}
				}
			}
			if err != nil {
				break
			}
		}
		g.mu.Lock()
		g.f = nil
		g.mu.Unlock()
		f.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *gadget) take() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := bytes.Clone(g.buf.Bytes())
	g.buf.Reset()
	return b
}

func (g *gadget) waitLen(n int, d time.Duration) []byte {
	deadline := time.Now().Add(d)
	for {
		g.mu.Lock()
		l := g.buf.Len()
		g.mu.Unlock()
		if l >= n || time.Now().After(deadline) {
			return g.take()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// setStatus sets what the gadget answers to GET_PORT_STATUS, on the open
// gadget file (/dev/g_printer0 allows one opener).
func (g *gadget) setStatus(t *testing.T, b byte) {
	t.Helper()
	g.mu.Lock()
	f := g.f
	g.mu.Unlock()
	if f == nil {
		t.Fatal("gadget not open")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	v := b
	var e unix.Errno
	rc.Control(func(fd uintptr) {
		_, _, e = unix.Syscall(unix.SYS_IOCTL, fd, gadgetSetStatus, uintptr(unsafe.Pointer(&v)))
	})
	if e != 0 {
		t.Fatalf("GADGET_SET_PRINTER_STATUS: %v", e)
	}
}

func job(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	// No DLE EOT inside the job, so the only replies are the ones asked for.
	return bytes.ReplaceAll(b, []byte{0x10, 0x04}, []byte{0x10, 0x05})
}

func report(t *testing.T, format string, args ...any) {
	t.Helper()
	fmt.Printf("QEMUTEST "+format+"\n", args...)
}

func waitReply(t *testing.T, c *drivers.StatusCache, q drivers.Query, want byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, ok := c.Reply(q); ok && b == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %#x reply in the status cache", want)
}

func waitForDevice(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		fs, _ := usb.List()
		for _, f := range fs {
			if f.VID == 0x0416 && f.PID == 0x5011 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("gadget never enumerated")
}

func setUDC(t *testing.T, v string) {
	t.Helper()
	if v == "" {
		v = "\n"
	}
	if err := os.WriteFile(udcFile, []byte(v), 0); err != nil {
		t.Fatalf("write UDC %q: %v", v, err)
	}
}

func udcName(t *testing.T) string {
	ents, err := os.ReadDir("/sys/class/udc")
	if err != nil || len(ents) == 0 {
		t.Fatalf("no UDC: %v", err)
	}
	return ents[0].Name()
}

// exercise runs the checks common to both drivers on an open printer.
func exercise(t *testing.T, name string, g *gadget, p drivers.Printer, cache *drivers.StatusCache) {
	t.Helper()
	j := job(64 << 10)
	if n, err := p.Write(j); n != len(j) || err != nil {
		t.Fatalf("%s: write %d %v", name, n, err)
	}
	got := g.waitLen(len(j), 20*time.Second)
	if sha256.Sum256(got) != sha256.Sum256(j) {
		t.Fatalf("%s: gadget got %d bytes, sha256 differs from the %d sent", name, len(got), len(j))
	}
	report(t, "%s job %d bytes sha256 %x ok", name, len(j), sha256.Sum256(j))

	cache.Expect(drivers.QueryPrinter)
	if _, err := p.Write(drivers.QueryPrinter.Bytes()); err != nil {
		t.Fatalf("%s: write DLE EOT: %v", name, err)
	}
	waitReply(t, cache, drivers.QueryPrinter, 0x16)
	g.waitLen(3, time.Second)
	report(t, "%s DLE EOT reply 0x16 in cache ok", name)

	id, err := p.(drivers.Identifier).DeviceID(context.Background())
	if err != nil || drivers.ParseDeviceID(id).Model() != "POS58" {
		t.Fatalf("%s: 1284 id %q %v", name, id, err)
	}
	report(t, "%s 1284 id %q ok", name, id)
}

func TestGuest(t *testing.T) {
	g := startGadget(t)
	waitForDevice(t)
	udc := udcName(t)

	t.Run("gousb", func(t *testing.T) {
		cache := new(drivers.StatusCache)
		p, err := usb.Open(drivers.Config{Device: spec, Cache: cache, WriteTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		exercise(t, "gousb", g, p, cache)

		g.setStatus(t, 0x38) // selected, not error, paper empty
		if s, _ := p.Status(context.Background()); s.State != drivers.StatePaperOut {
			t.Fatalf("port status paper empty read as %v", s.State)
		}
		g.setStatus(t, 0x18)
		cache.Set(drivers.Status{State: drivers.StateOnline})
		report(t, "gousb port status paper-out ok")

		// A printer that stops taking data: the write is bounded and
		// reports offline; once it reads again, printing goes on.
		g.pause(true)
		p2, err := usb.Open(drivers.Config{Device: spec, WriteTimeout: time.Second})
		if err == nil {
			t.Fatal("second claim of the same interface succeeded")
		}
		start := time.Now()
		if _, err := p.Write(job(1 << 20)); !errors.Is(err, drivers.ErrOffline) {
			t.Fatalf("stalled bulk OUT: %v", err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("stalled write took %v", el)
		}
		g.pause(false)
		time.Sleep(500 * time.Millisecond)
		g.take()
		if _, err := p.Write([]byte("after stall\n")); err != nil {
			t.Fatalf("write after the stall: %v", err)
		}
		if got := string(g.waitLen(12, 5*time.Second)); !strings.HasSuffix(got, "after stall\n") {
			t.Fatalf("after the stall the gadget got %q", got)
		}
		g.take()
		report(t, "gousb stalled bulk OUT bounded (%v) then resumed ok", time.Since(start).Round(time.Second))
		_ = p2

		// Unplug: jobs fail with a sentinel and stay queued; after the
		// gadget is bound again they print in order.
		setUDC(t, "")
		queue := [][]byte{[]byte("job-2\n"), []byte("job-3\n"), []byte("job-4\n")}
		time.Sleep(300 * time.Millisecond)
		if _, err := p.Write(queue[0]); !errors.Is(err, drivers.ErrOffline) && !errors.Is(err, drivers.ErrNotFound) {
			t.Fatalf("write while unbound: %v", err)
		}
		report(t, "gousb unplugged write refused ok")
		setUDC(t, udc)
		waitForDevice(t)
		for len(queue) > 0 {
			_, err := p.Write(queue[0])
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				if !errors.Is(err, drivers.ErrOffline) && !errors.Is(err, drivers.ErrNotFound) && !errors.Is(err, drivers.ErrBusy) {
					t.Fatalf("write after rebind: %v", err)
				}
				continue
			}
			queue = queue[1:]
		}
		if got := string(g.waitLen(18, 10*time.Second)); got != "job-2\njob-3\njob-4\n" {
			t.Fatalf("after rebind the gadget got %q", got)
		}
		report(t, "gousb rebind resumed queued jobs in order ok")
	})

	t.Run("usblp", func(t *testing.T) {
		if out, err := exec.Command("insmod", "/lib/modules/usblp.ko").CombinedOutput(); err != nil {
			t.Fatalf("insmod usblp: %v %s", err, out)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := os.Stat("/dev/usb/lp0"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("/dev/usb/lp0 never appeared")
			}
			time.Sleep(50 * time.Millisecond)
		}
		fs, _ := usblp.List()
		if len(fs) != 1 || fs[0].VID != 0x0416 || !strings.Contains(fs[0].DeviceID, "POS58") {
			t.Fatalf("usblp.List: %+v", fs)
		}
		report(t, "usblp list %s %04x:%04x ok", fs[0].Device, fs[0].VID, fs[0].PID)
		cache := new(drivers.StatusCache)
		p, err := usblp.Open(drivers.Config{Device: "/dev/usb/lp0", Cache: cache, WriteTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		exercise(t, "usblp", g, p, cache)
		defer p.Close()

		setUDC(t, "")
		queue := [][]byte{[]byte("lp-2\n"), []byte("lp-3\n"), []byte("lp-4\n")}
		time.Sleep(300 * time.Millisecond)
		if _, err := p.Write(queue[0]); !errors.Is(err, drivers.ErrOffline) && !errors.Is(err, drivers.ErrNotFound) {
			t.Fatalf("write while unbound: %v", err)
		}
		report(t, "usblp unplugged write refused ok")
		setUDC(t, udc)
		deadline = time.Now().Add(15 * time.Second)
		for len(queue) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("usblp never came back")
			}
			if _, err := p.Write(queue[0]); err != nil {
				if !errors.Is(err, drivers.ErrOffline) && !errors.Is(err, drivers.ErrNotFound) && !errors.Is(err, drivers.ErrBusy) {
					t.Fatalf("write after rebind: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			queue = queue[1:]
		}
		if got := string(g.waitLen(15, 10*time.Second)); got != "lp-2\nlp-3\nlp-4\n" {
			t.Fatalf("after rebind the gadget got %q", got)
		}
		report(t, "usblp rebind resumed queued jobs in order ok")
	})

	t.Run("gousb-detach", func(t *testing.T) {
		// usblp is bound now: the driver must detach it to claim.
		cache := new(drivers.StatusCache)
		p, err := usb.Open(drivers.Config{Device: spec, Cache: cache, WriteTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		j := []byte("detached kernel driver\n")
		if _, err := p.Write(j); err != nil {
			t.Fatal(err)
		}
		if got := g.waitLen(len(j), 10*time.Second); !bytes.Equal(got, j) {
			t.Fatalf("got %q", got)
		}
		p.Close()
		report(t, "gousb with usblp bound (detached) ok")
	})
}
