package drivers

import (
	"sync"
	"time"
)

// PrinterState is the printer's condition as far as the agent knows it.
type PrinterState uint8

const (
	StateUnknown   PrinterState = iota // nothing heard yet, or no back channel
	StateOnline                        // ready
	StateOffline                       // unreachable, disconnected, or says it is offline
	StatePaperOut                      // out of paper
	StateCoverOpen                     // cover open
	StateError                         // cutter jam, head overheat, unrecoverable error
)

var stateNames = [...]string{"unknown", "online", "offline", "paper-out", "cover-open", "error"}

func (s PrinterState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}

// Status is a snapshot of a printer's condition.
type Status struct {
	State        PrinterState
	PaperNearEnd bool
	Since        time.Time // when State last changed
	Detail       string    // human-readable cause, e.g. "dial tcp: connection refused"
}

// Query is a status request whose one-byte reply the cache understands.
type Query uint8

const (
	QueryNone     Query = iota
	QueryPrinter        // DLE EOT 1: printer status
	QueryOffline        // DLE EOT 2: offline cause
	QueryError          // DLE EOT 3: error cause
	QueryPaper          // DLE EOT 4: paper roll sensor
	QueryGSPaper        // GS r 1: paper sensor
	QueryGSDrawer       // GS r 2: drawer kick-out connector
)

// Bytes returns the command that asks q (nil for QueryNone).
func (q Query) Bytes() []byte {
	switch q {
	case QueryPrinter, QueryOffline, QueryError, QueryPaper:
		return []byte{0x10, 0x04, byte(q)}
	case QueryGSPaper:
		return []byte{0x1d, 0x72, 1}
	case QueryGSDrawer:
		return []byte{0x1d, 0x72, 2}
	}
	return nil
}

// QueryOf returns the Query a 3-byte DLE EOT n or GS r n command asks, or
// QueryNone. n may be given as a digit too ('1' for 1), as ESC/POS allows
// for GS r.
func QueryOf(cmd []byte) Query {
	if len(cmd) != 3 {
		return QueryNone
	}
	n := cmd[2]
	switch {
	case cmd[0] == 0x10 && cmd[1] == 0x04 && n >= 1 && n <= 4:
		return Query(n)
	case cmd[0] == 0x1d && cmd[1] == 0x72 && (n == 1 || n == '1'):
		return QueryGSPaper
	case cmd[0] == 0x1d && cmd[1] == 0x72 && (n == 2 || n == '2'):
		return QueryGSDrawer
	}
	return QueryNone
}

const (
	maxPending    = 16              // outstanding queries remembered
	pendingMaxAge = 5 * time.Second // a query unanswered for this long is forgotten
)

type pending struct {
	q  Query
	at time.Time
}

// StatusCache holds a printer's last known status. It is safe for
// concurrent use and its zero value is ready (state unknown).
//
// Drivers feed it in two ways: Set, for what they learn themselves (the link
// went down, a queue reports paper-out), and Feed, with the raw bytes the
// printer sends back. Feed interprets one-byte replies to the queries
// announced with Expect (in order), and Automatic Status Back blocks
// (GS a, 4 bytes) on its own; bytes it cannot place are counted and ignored,
// so a garbage or flooding back channel costs nothing but CPU.
type StatusCache struct {
	mu      sync.Mutex
	s       Status
	changed chan struct{} // closed and replaced on every change

	// Flags from the printer's own replies; State is derived from them
	// while the link is up.
	offline, cover, paperOut, paperNear, failed bool
	replies                                     [QueryGSDrawer + 1]int16 // last raw reply per Query, -1 none
	haveReply                                   bool
	queue                                       []pending
	asb                                         [4]byte
	asbN                                        int
	ignored                                     uint64
}

// Get returns the current status.
func (c *StatusCache) Get() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s
}

// Set replaces the status. Since is set to now when the state changes and
// s.Since is zero. Flags learned from earlier replies are cleared.
func (c *StatusCache) Set(s Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offline, c.cover, c.paperOut, c.paperNear, c.failed = false, false, false, s.PaperNearEnd, false
	switch s.State {
	case StatePaperOut:
		c.paperOut = true
	case StateCoverOpen:
		c.cover = true
	case StateError:
		c.failed = true
	case StateOffline:
		c.offline = true
	}
	c.setLocked(s)
}

func (c *StatusCache) setLocked(s Status) {
	old := c.s
	if s.Since.IsZero() {
		if s.State == old.State && !old.Since.IsZero() {
			s.Since = old.Since
		} else {
			s.Since = time.Now()
		}
	}
	c.s = s
	if old.State != s.State || old.PaperNearEnd != s.PaperNearEnd || old.Detail != s.Detail {
		if c.changed != nil {
			close(c.changed)
			c.changed = nil
		}
	}
}

// Changed returns a channel that is closed at the next change of State,
// PaperNearEnd or Detail.
func (c *StatusCache) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// Expect announces that q was sent to the printer, so the next unplaced
// reply byte is read as its answer. Drivers call it for their own polls;
// the worker calls it for queries it forwards from the POS.
func (c *StatusCache) Expect(q Query) {
	if q == QueryNone || q > QueryGSDrawer {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(time.Now())
	if len(c.queue) >= maxPending {
		c.queue = append(c.queue[:0], c.queue[1:]...)
	}
	c.queue = append(c.queue, pending{q, time.Now()})
}

func (c *StatusCache) expireLocked(now time.Time) {
	i := 0
	for i < len(c.queue) && now.Sub(c.queue[i].at) > pendingMaxAge {
		i++
	}
	if i > 0 {
		c.queue = append(c.queue[:0], c.queue[i:]...)
	}
}

// Reply returns the last raw reply byte the printer gave to q.
func (c *StatusCache) Reply(q Query) (byte, bool) {
	if q == QueryNone || q > QueryGSDrawer {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveReply || c.replies[q] < 0 {
		return 0, false
	}
	return byte(c.replies[q]), true
}

// Ignored returns how many fed bytes could not be placed.
func (c *StatusCache) Ignored() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ignored
}

// Feed interprets bytes the printer sent back. It never blocks on I/O and
// keeps no more than a 4-byte partial block.
func (c *StatusCache) Feed(b []byte) {
	if len(b) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveReply {
		for i := range c.replies {
			c.replies[i] = -1
		}
		c.haveReply = true
	}
	now := time.Now()
	c.expireLocked(now)
	changed := false
	for _, x := range b {
		if c.asbN > 0 {
			// Inside an Automatic Status Back block: bytes 2..4 have bits 4 and 7 clear.
			if x&0x90 != 0 {
				c.asbN = 0
				c.ignored++
				continue
			}
			c.asb[c.asbN] = x
			c.asbN++
			if c.asbN == 4 {
				c.asbN = 0
				c.applyASB()
				changed = true
			}
			continue
		}
		if len(c.queue) > 0 {
			q := c.queue[0].q
			if validReply(q, x) {
				c.queue = c.queue[1:]
				c.replies[q] = int16(x)
				c.applyReply(q, x)
				changed = true
				continue
			}
		}
		// ASB first byte: 0xx1 xx00.
		if x&0x93 == 0x10 {
			c.asb[0] = x
			c.asbN = 1
			continue
		}
		c.ignored++
	}
	if changed {
		c.deriveLocked()
	}
}

// validReply reports whether x has the fixed bits of a reply to q.
func validReply(q Query, x byte) bool {
	switch q {
	case QueryPrinter, QueryOffline, QueryError, QueryPaper:
		return x&0x93 == 0x12 // 0xx1 xx10
	case QueryGSPaper, QueryGSDrawer:
		return x&0x90 == 0
	}
	return false
}

func (c *StatusCache) applyReply(q Query, x byte) {
	switch q {
	case QueryPrinter:
		c.offline = x&0x08 != 0
	case QueryOffline:
		c.cover = x&0x04 != 0
		c.paperOut = x&0x20 != 0
		c.failed = x&0x40 != 0
	case QueryError:
		c.failed = x&0x68 != 0 // autocutter, unrecoverable, auto-recoverable
	case QueryPaper:
		c.paperNear = x&0x0c != 0
		c.paperOut = x&0x60 != 0
	case QueryGSPaper:
		c.paperNear = x&0x03 != 0
		c.paperOut = x&0x0c != 0
	}
}

// applyASB reads a 4-byte Automatic Status Back block:
//
//	byte 1  0xx1 xx00  bit 3 offline, bit 5 cover open
//	byte 2  0xx0 xxxx  bit 3 autocutter error, bit 5 unrecoverable, bit 6 auto-recoverable
//	byte 3  0xx0 xxxx  bits 0-1 paper near end, bits 2-3 paper end
//	byte 4  0xx0 xxxx  (reserved)
func (c *StatusCache) applyASB() {
	a := c.asb
	c.offline = a[0]&0x08 != 0
	c.cover = a[0]&0x20 != 0
	c.failed = a[1]&0x68 != 0
	c.paperNear = a[2]&0x03 != 0
	c.paperOut = a[2]&0x0c != 0
}

func (c *StatusCache) deriveLocked() {
	s := Status{State: StateOnline, PaperNearEnd: c.paperNear}
	switch {
	case c.paperOut:
		s.State, s.Detail = StatePaperOut, "printer reports paper end"
	case c.cover:
		s.State, s.Detail = StateCoverOpen, "printer reports cover open"
	case c.failed:
		s.State, s.Detail = StateError, "printer reports an error"
	case c.offline:
		s.State, s.Detail = StateOffline, "printer reports offline"
	}
	c.setLocked(s)
}

// ReplyFor synthesises the one-byte reply a printer in status s would give
// to q, for answering a POS when the printer's own reply is unknown.
func (s Status) ReplyFor(q Query) byte {
	switch q {
	case QueryPrinter:
		if s.State != StateOnline && s.State != StateUnknown {
			return 0x1a // offline bit
		}
		return 0x12
	case QueryOffline:
		b := byte(0x12)
		switch s.State {
		case StateCoverOpen:
			b |= 0x04
		case StatePaperOut:
			b |= 0x20
		case StateError:
			b |= 0x40
		}
		return b
	case QueryError:
		if s.State == StateError {
			return 0x12 | 0x20
		}
		return 0x12
	case QueryPaper:
		b := byte(0x12)
		if s.PaperNearEnd {
			b |= 0x0c
		}
		if s.State == StatePaperOut {
			b |= 0x60
		}
		return b
	case QueryGSPaper:
		var b byte
		if s.PaperNearEnd {
			b |= 0x03
		}
		if s.State == StatePaperOut {
			b |= 0x0c
		}
		return b
	}
	return 0
}
