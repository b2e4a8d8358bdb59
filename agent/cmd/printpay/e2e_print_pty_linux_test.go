//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"printpay.dev/printpay/agent/escpos"
)

// fakePrinter is a receipt printer at the master end of a pty: it records
// every byte the agent writes to the slave, answers DLE EOT n and GS r n,
// and can run out of paper, go silent (stop reading, so writes stall),
// disappear (its pty closed), answer garbage, or flood its back channel.
// The agent is configured with Device, a symlink that follows the current
// pty across disappearances.
type fakePrinter struct {
	t      *testing.T
	Device string

	mu       sync.Mutex
	cond     *sync.Cond
	master   *os.File
	gen      int // pty generation; a reader of an old one stops
	data     []byte
	tok      int // next byte of data to tokenize for queries
	last     time.Time
	paperOut bool
	silent   bool
	garbage  bool
	flooding chan struct{}
	replies  int
}

func newFakePrinter(t *testing.T) *fakePrinter {
	t.Helper()
	f := &fakePrinter{t: t, Device: filepath.Join(t.TempDir(), "printer")}
	f.cond = sync.NewCond(&f.mu)
	f.back()
	t.Cleanup(func() {
		f.Flood(false)
		f.gone()
	})
	return f
}

// openMaster opens a raw pty pair's master end (non-blocking, so Close ends
// a pending Read) and returns it with the slave's path.
func openMaster() (*os.File, string, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, "", err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("ptsname: %w", err)
	}
	if tio, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		unix.IoctlSetTermios(fd, unix.TCSETS, tio)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), fmt.Sprintf("/dev/pts/%d", n), nil
}

// back brings the printer (back) online on a new pty.
func (f *fakePrinter) back() {
	f.t.Helper()
	m, slave, err := openMaster()
	if err != nil {
		f.t.Skipf("no pty: %v", err)
	}
	tmp := f.Device + ".new"
	os.Remove(tmp)
	if err := os.Symlink(slave, tmp); err != nil {
		m.Close()
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.Device); err != nil {
		m.Close()
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.gen++
	gen := f.gen
	f.master = m
	f.tok = len(f.data) // a new link starts a fresh stream
	f.mu.Unlock()
	go f.read(m, gen)
}

// gone makes the printer disappear: its pty closes (bytes in flight are
// lost, as on a printer switched off) and its device path goes away.
func (f *fakePrinter) gone() {
	f.mu.Lock()
	m := f.master
	f.master = nil
	f.gen++
	f.cond.Broadcast()
	f.mu.Unlock()
	os.Remove(f.Device)
	if m != nil {
		m.Close()
	}
}

func (f *fakePrinter) read(m *os.File, gen int) {
	buf := make([]byte, 32<<10)
	for {
		f.mu.Lock()
		for f.silent && f.gen == gen {
			f.cond.Wait()
		}
		stale := f.gen != gen
		f.mu.Unlock()
		if stale {
			return
		}
		n, err := m.Read(buf)
		now := time.Now()
		f.mu.Lock()
		if f.gen != gen {
			f.mu.Unlock()
			return
		}
		if n > 0 {
			f.data = append(f.data, buf[:n]...)
			f.last = now
			f.answerLocked(m)
		}
		f.cond.Broadcast()
		f.mu.Unlock()
		if errors.Is(err, unix.EIO) {
			// No one has the slave open (the agent is down or reopening
			// it): a printer waits for its line to come back.
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if err != nil {
			return
		}
	}
}

// answerLocked answers the status queries that arrived, as a printer does.
func (f *fakePrinter) answerLocked(m *os.File) {
	for f.tok < len(f.data) {
		n, tok := escpos.Split(f.data[f.tok:], false)
		if n == 0 {
			return
		}
		b := f.data[f.tok : f.tok+n]
		f.tok += n
		if tok.Op != escpos.OpStatusQuery || len(b) < 3 {
			continue
		}
		var reply []byte
		switch {
		case f.garbage:
			reply = []byte{0xff, 0x00, 0x13, 0x11, 0x1b, 0x40, 0xa5}
		case b[0] == 0x10 && b[1] == 0x04:
			switch b[2] {
			case 4:
				reply = []byte{0x12}
				if f.paperOut {
					reply = []byte{0x72}
				}
			default:
				reply = []byte{0x16}
				if f.paperOut && b[2] == 2 {
					reply = []byte{0x32}
				}
			}
		case b[0] == 0x1d && b[1] == 'r':
			reply = []byte{0x00}
			if f.paperOut {
				reply = []byte{0x0c}
			}
		}
		if reply != nil {
			m.Write(reply)
			f.replies++
		}
	}
}

// Silent stops (or resumes) reading: the agent's writes stall once the
// pty's buffer is full.
func (f *fakePrinter) Silent(on bool) {
	f.mu.Lock()
	f.silent = on
	f.cond.Broadcast()
	f.mu.Unlock()
}

// PaperOut makes status answers report the paper end.
func (f *fakePrinter) PaperOut(on bool) {
	f.mu.Lock()
	f.paperOut = on
	f.mu.Unlock()
}

// Garbage makes status answers garbage.
func (f *fakePrinter) Garbage(on bool) {
	f.mu.Lock()
	f.garbage = on
	f.mu.Unlock()
}

// Flood makes the printer send garbage on its back channel without pause.
func (f *fakePrinter) Flood(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !on {
		if f.flooding != nil {
			close(f.flooding)
			f.flooding = nil
		}
		return
	}
	if f.flooding != nil || f.master == nil {
		return
	}
	stop := make(chan struct{})
	f.flooding = stop
	m := f.master
	go func() {
		junk := bytes.Repeat([]byte{0x12, 0xff, 0x00, 0x7f, 0x1b}, 800)
		for {
			select {
			case <-stop:
				return
			default:
			}
			m.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			if _, err := m.Write(junk); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	}()
}

// Len is how many bytes have arrived.
func (f *fakePrinter) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.data)
}

// Bytes returns a copy of what arrived from off on.
func (f *fakePrinter) Bytes(off int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.data[min(off, len(f.data)):]...)
}

// Last is when the last byte arrived.
func (f *fakePrinter) Last() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// WaitLen waits until at least n bytes arrived.
func (f *fakePrinter) WaitLen(n int, limit time.Duration) bool {
	return f.WaitFor(func(b []byte) bool { return len(b) >= n }, limit)
}

// WaitFor waits until ok holds for everything that arrived.
func (f *fakePrinter) WaitFor(ok func([]byte) bool, limit time.Duration) bool {
	timer := time.AfterFunc(limit, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(limit)
	f.mu.Lock()
	defer f.mu.Unlock()
	for !ok(f.data) {
		if !time.Now().Before(deadline) {
			return false
		}
		f.cond.Wait()
	}
	return true
}
