// Package serial drives a receipt printer on an RS-232 or USB-serial port
// through go.bug.st/serial: baud rate, parity, data and stop bits, and
// RTS/CTS or XON/XOFF flow control, which the library does not expose: set
// on the tty's termios on Linux (tested over a pty: XOFF stalls writes, XON
// resumes them) and in the port's DCB on Windows (not exercised by the
// tests: there is no Windows COM port here); elsewhere only "none".
//
// Writes are chunked and paced by the profile's throttling and bounded by
// Config.WriteTimeout. A goroutine reads everything the printer sends back
// into the status cache. Modem-status ioctls are optional: on ports that
// do not support them (a pty, some adapters: ENOTTY) the modem lines are
// simply not consulted, and Mode.InitialStatusBits is left nil so opening
// never depends on them.
//
// After the port drops (USB-serial adapter unplugged, read or write error)
// the next Write re-opens it.
package serial
