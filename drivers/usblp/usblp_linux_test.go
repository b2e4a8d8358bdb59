package usblp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/drivers/internal/fakeprinter"
)

// A pty stands in for /dev/usb/lp0: the same read/write/poll behaviour of
// a character device, with the fake printer on the master side. The usblp
// ioctls are not there, which exercises the "not answered" paths.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave := fmt.Sprintf("/dev/pts/%d", n)
	// Raw mode on the slave, as usblp passes bytes untouched.
	sfd, err := unix.Open(slave, unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	tio, _ := unix.IoctlGetTermios(sfd, unix.TCGETS)
	tio.Iflag = 0
	tio.Oflag = 0
	tio.Lflag = 0
	tio.Cflag = unix.CS8 | unix.CREAD | unix.CLOCAL
	unix.IoctlSetTermios(sfd, unix.TCSETS, tio)
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close(); unix.Close(sfd) })
	return master, slave
}

func TestWriteBackChannelAndMissingIoctls(t *testing.T) {
	master, slave := openPTY(t)
	fp := fakeprinter.New(master)
	go fp.Serve()
	cache := new(drivers.StatusCache)
	p, err := Open(drivers.Config{Device: slave, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var job []byte
	for i := 0; i < 1024; i++ {
		job = append(job, byte(i))
	}
	if n, err := p.Write(job); n != len(job) || err != nil {
		t.Fatalf("%d %v", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !fp.WaitLen(ctx, len(job)) || !bytes.Equal(fp.Bytes(), job) {
		t.Fatal("bytes differ")
	}
	cache.Expect(drivers.QueryPrinter)
	p.Write([]byte{0x10, 0x04, 0x01})
	for {
		if b, ok := cache.Reply(drivers.QueryPrinter); ok && b == 0x16 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("reply not read back")
		}
		time.Sleep(time.Millisecond)
	}
	_, err = p.(drivers.Identifier).DeviceID(context.Background())
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Fatalf("device id on a non-usblp node: %v", err)
	}
	if s, err := p.Status(context.Background()); err != nil || s.State != drivers.StateOnline {
		t.Fatalf("%v %v", s, err)
	}
}

func TestHangupThenMissing(t *testing.T) {
	master, slave := openPTY(t)
	go fakeprinter.New(master).Serve()
	cache := new(drivers.StatusCache)
	p, err := Open(drivers.Config{Device: slave, Cache: cache, WriteTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	master.Close()
	deadline := time.Now().Add(5 * time.Second)
	for cache.Get().State != drivers.StateOffline {
		if time.Now().After(deadline) {
			t.Fatalf("state %v", cache.Get().State)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := Open(drivers.Config{Device: "/dev/usb/lp-missing"}); !errors.Is(err, drivers.ErrNotFound) {
		t.Fatalf("%v", err)
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "dev"), 0o755)
	os.WriteFile(filepath.Join(dir, "dev", "lp0"), nil, 0o644)
	usbDev := filepath.Join(dir, "sys", "devices", "usb1", "1-1")
	os.MkdirAll(filepath.Join(usbDev, "1-1:1.0"), 0o755)
	os.WriteFile(filepath.Join(usbDev, "idVendor"), []byte("0416\n"), 0o644)
	os.WriteFile(filepath.Join(usbDev, "idProduct"), []byte("5011\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "class", "lp0"), 0o755)
	os.Symlink(filepath.Join(usbDev, "1-1:1.0"), filepath.Join(dir, "class", "lp0", "device"))
	oldG, oldC := devGlob, sysClass
	devGlob, sysClass = filepath.Join(dir, "dev", "lp*"), filepath.Join(dir, "class")
	defer func() { devGlob, sysClass = oldG, oldC }()
	got, err := List()
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if got[0].VID != 0x0416 || got[0].PID != 0x5011 || got[0].Driver != "usblp" {
		t.Fatalf("%+v", got[0])
	}
}

func TestIoctlNumber(t *testing.T) {
	// LPIOC_GET_DEVICE_ID(1024) as the kernel computes it.
	if got := iocGetDeviceID(1024); got != 0x84005001 {
		t.Fatalf("%#x", got)
	}
}
