package serial

import (
	"fmt"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"printpay.dev/printpay/drivers"
)

// openPort opens the port with go.bug.st/serial, then sets flow control on
// the tty's termios, which the library does not expose. Termios belongs to
// the tty, not the file descriptor, so a second descriptor opened before
// the library takes exclusive access (TIOCEXCL) can set it.
func openPort(path string, mode *serial.Mode, flow string) (serial.Port, error) {
	if flow == "" || flow == "none" {
		return serial.Open(path, mode)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	port, err := serial.Open(path, mode)
	if err != nil {
		return nil, err
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		port.Close()
		return nil, fmt.Errorf("flow control: %w: %w", drivers.ErrUnsupported, err)
	}
	t.Cflag &^= unix.CRTSCTS
	t.Iflag &^= unix.IXON | unix.IXOFF | unix.IXANY
	switch flow {
	case "rtscts":
		t.Cflag |= unix.CRTSCTS
	case "xonxoff":
		t.Iflag |= unix.IXON | unix.IXOFF
		t.Cc[unix.VSTART], t.Cc[unix.VSTOP] = 0x11, 0x13
	}
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		port.Close()
		return nil, fmt.Errorf("flow control: %w: %w", drivers.ErrUnsupported, err)
	}
	return port, nil
}
