//go:build linux

package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// device is a pty pair standing in for the printer: the system under test
// writes to slave; a goroutine reads master and notes when bytes arrive.
type device struct {
	master    *os.File
	slaveFile *os.File
	slave     string

	mu     sync.Mutex
	cond   *sync.Cond
	n      int64
	last   time.Time
	closed bool
}

func openDevice() (*device, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, fmt.Errorf("unlockpt: %w", err)
	}
	num, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("ptsname: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", num)
	s, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, err
	}
	for _, f := range []*os.File{m, s} {
		t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		if err == nil {
			t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
			t.Oflag &^= unix.OPOST
			t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
			t.Cflag &^= unix.CSIZE | unix.PARENB
			t.Cflag |= unix.CS8
			unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
		}
	}
	d := &device{master: m, slaveFile: s, slave: name}
	d.cond = sync.NewCond(&d.mu)
	go d.read()
	return d, nil
}

func (d *device) read() {
	buf := make([]byte, 64<<10)
	for {
		n, err := d.master.Read(buf)
		now := time.Now()
		d.mu.Lock()
		if n > 0 {
			d.n += int64(n)
			d.last = now
		}
		if err != nil {
			d.closed = true
		}
		d.cond.Broadcast()
		d.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (d *device) total() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// waitFor waits until want bytes arrived and returns when the last of them
// did.
func (d *device) waitFor(want int64, limit time.Duration) (time.Time, error) {
	t := time.AfterFunc(limit, func() { d.mu.Lock(); d.cond.Broadcast(); d.mu.Unlock() })
	defer t.Stop()
	deadline := time.Now().Add(limit)
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.n < want && !d.closed {
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("device got %d of %d bytes in %v", d.n, want, limit)
		}
		d.cond.Wait()
	}
	if d.n < want {
		return time.Time{}, fmt.Errorf("device closed after %d of %d bytes", d.n, want)
	}
	return d.last, nil
}

// settle waits until no byte arrived for quiet.
func (d *device) settle(quiet time.Duration) {
	for {
		d.mu.Lock()
		last := d.last
		d.mu.Unlock()
		if time.Since(last) >= quiet {
			return
		}
		time.Sleep(quiet / 4)
	}
}

func (d *device) Close() error {
	d.slaveFile.Close()
	return d.master.Close()
}
