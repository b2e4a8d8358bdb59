package drivers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"
)

// Printer is one real (or preview) printer. The worker is its only writer.
//
// Write sends job bytes in order; it returns only when the bytes were handed
// to the device (or its OS queue) and is bounded by Config.WriteTimeout, so a
// stalled printer yields ErrOffline or ErrBusy, never a hang. A short write
// reports how many bytes the device accepted; after a timeout that count is
// a lower bound (the chunk in flight may still reach the printer), so a
// job cut short that way is best resent whole, marked as a reprint. Status
// reports what the driver knows, from its cache or a quick device query.
//
// Open fails (with a sentinel) when the device cannot be opened now; the
// caller retries it. Once open, a Printer survives the device going away:
// writes fail with ErrOffline or ErrNotFound while it is gone, and the
// first Write after it returns opens it again.
type Printer interface {
	io.Writer
	io.Closer
	Status(ctx context.Context) (Status, error)
}

// JobPrinter is implemented by printers that want to know where one job
// starts and ends (the file driver names its files after the job). The
// worker calls BeginJob before the first byte of a job and EndJob after its
// last; a paid slip is a job of its own whose id is PaidSlipID(jobID).
// Printers that do not implement it see one continuous byte stream.
type JobPrinter interface {
	Printer
	BeginJob(id string) error
	EndJob() error
}

// PaidSlipID is the job id under which a paid slip for jobID is printed.
func PaidSlipID(jobID string) string { return jobID + "-paid" }

// Sentinels shared by every driver. Drivers wrap them with %w and with what
// they were doing, so callers branch with errors.Is.
var (
	// ErrOffline: the printer is unreachable, disconnected or did not take
	// the bytes in time. Retry later; the job stays in the spool.
	ErrOffline = errors.New("drivers: printer offline")
	// ErrBusy: the device is held by someone else (another process, a
	// kernel driver) or temporarily refuses work.
	ErrBusy = errors.New("drivers: printer busy")
	// ErrNotFound: no such device, port, host or queue.
	ErrNotFound = errors.New("drivers: printer not found")
	// ErrPaperOut: the printer reports it is out of paper.
	ErrPaperOut = errors.New("drivers: printer out of paper")
	// ErrUnsupported: the driver, or one of its features, is not available
	// in this build or on this device.
	ErrUnsupported = errors.New("drivers: not supported")
)

// Config describes one configured printer ([[printer]] in the agent's
// configuration). Zero values mean the documented defaults.
type Config struct {
	Name   string // the printer's name (also its LPD queue name)
	Driver string // usb | usblp | serial | tcp | winspool | file
	// Device: usb "VID:PID[:serial]" (or "" for the first printer-class
	// interface), usblp "/dev/usb/lp0", serial "/dev/ttyUSB0" or "COM3",
	// tcp "host:9100", winspool the queue name, file a folder.
	Device string

	// Serial line settings.
	Baud     int    // default 9600
	Parity   string // none (default) | odd | even | mark | space
	DataBits int    // default 8
	StopBits int    // 1 (default) or 2
	Flow     string // none (default) | rtscts | xonxoff

	// Throttling for slow links (from the printer's profile): at most
	// Throttle bytes per second, written in chunks of ChunkSize bytes
	// with ChunkDelay between them. Zero values mean no throttling.
	Throttle   int
	ChunkSize  int
	ChunkDelay time.Duration

	// StatusPoll turns on DLE EOT polls every PollInterval (default 2s).
	// Off by default: drivers then write only what the worker gives them.
	StatusPoll   bool
	PollInterval time.Duration

	WriteTimeout time.Duration // bound on one Write; default 10s
	DialTimeout  time.Duration // tcp connect timeout; default 3s

	// AgentAddrs are the agent's own listen addresses (raw 9100 ports); the
	// winspool driver refuses a queue whose port points at one of them.
	AgentAddrs []string

	// Cache receives the printer's status. Open creates one when nil; the
	// agent passes its own so the raw listener can answer from it.
	Cache *StatusCache

	// Render draws a job as a PNG for the file driver. It is injected by
	// the agent so drivers import no ESC/POS code; nil writes no PNG.
	Render func(job []byte) ([]byte, error)

	Logger *slog.Logger // nil discards
}

// Defaults for Config's zero values.
const (
	DefaultBaud         = 9600
	DefaultWriteTimeout = 10 * time.Second
	DefaultDialTimeout  = 3 * time.Second
	DefaultPollInterval = 2 * time.Second
)

// WithDefaults returns c with its zero values replaced by the defaults and a
// non-nil Cache and Logger.
func (c Config) WithDefaults() Config {
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Cache == nil {
		c.Cache = new(StatusCache)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Found is one printer a driver can see, for discovery (`printpay printers`).
type Found struct {
	Driver      string // the driver that would open it
	Device      string // the value for Config.Device
	Description string // human-readable: product string, queue comment, ...
	DeviceID    string // the IEEE 1284 device ID, when known
	VID, PID    uint16 // USB ids, when known
	Serial      string // USB serial number, when known
}

// Identifier is implemented by printers that can report their IEEE 1284
// device ID (usb, usblp). Parse it with ParseDeviceID.
type Identifier interface {
	DeviceID(ctx context.Context) (string, error)
}
