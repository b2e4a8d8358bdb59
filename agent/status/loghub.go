package status

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// LogLine is one log record as the page's log tail shows it. Text holds no
// control characters: they are written as \xNN.
type LogLine struct {
	Seq   uint64    `json:"seq"`
	Time  time.Time `json:"time"`
	Level string    `json:"level"` // DEBUG, INFO, WARN, ERROR (or e.g. DEBUG-4)
	Lvl   int       `json:"lvl"`   // the slog level as a number, for filtering
	Text  string    `json:"text"`  // the message and its attributes, k=v
}

// maxLineBytes caps one line's text; a longer line ends in "…".
const maxLineBytes = 4096

// clientBuffer is each log tail client's queue: a client that falls this
// many lines behind is dropped.
const clientBuffer = 256

// LogHub keeps the agent's last log lines and fans new ones out to the
// status page's log tail clients.
//
// It is an slog.Handler: records go to the next handler unchanged (when
// there is one) and, formatted as a LogLine, into a ring of the last lines
// and onto the hub's input queue. Logging never waits for a client: the input
// queue and every client's queue are bounded, a line that finds the input
// queue full is kept in the ring only, and a client whose queue is full is
// dropped (its connection closed; the page reconnects and gets the ring).
// Run is the hub goroutine; without it lines are only kept in the ring.
type LogHub struct {
	core *hubCore
	next slog.Handler
	pre  string // formatted attributes from WithAttrs
	grp  string // group prefix from WithGroup, "a.b."
}

type hubCore struct {
	mu   sync.Mutex
	ring []LogLine
	head int // index of the oldest line when the ring is full
	seq  uint64

	in         chan LogLine
	register   chan *logClient
	unregister chan *logClient
	running    atomic.Bool
	done       chan struct{} // closed when Run returns

	clients        atomic.Int64
	droppedClients atomic.Uint64
	droppedLines   atomic.Uint64 // lines that found the input queue full
}

// logClient is one subscriber: the hub writes each line to send, encoded
// as JSON once for all clients, and closes send when it drops the client or
// stops.
type logClient struct {
	send chan []byte
}

// NewLogHub returns a hub keeping the last capacity lines (0 means 500)
// in front of next (nil: none). The tail gets Info and above, and lower
// levels when next is enabled for them.
func NewLogHub(next slog.Handler, capacity int) *LogHub {
	if capacity <= 0 {
		capacity = 500
	}
	return &LogHub{
		core: &hubCore{
			ring:       make([]LogLine, 0, capacity),
			in:         make(chan LogLine, 4096),
			register:   make(chan *logClient),
			unregister: make(chan *logClient),
			done:       make(chan struct{}),
		},
		next: next,
	}
}

// Enabled reports whether the hub (Info and above) or the next handler
// wants the level.
func (h *LogHub) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || (h.next != nil && h.next.Enabled(ctx, l))
}

// Handle passes r to the next handler (when it wants the level) and
// publishes it to the log tail.
func (h *LogHub) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.pre)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.grp, a)
		return true
	})
	h.core.publish(LogLine{Time: r.Time, Level: r.Level.String(), Lvl: int(r.Level), Text: clean(b.String())})
	return err
}

// WithAttrs returns a handler adding attrs to every record.
func (h *LogHub) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	var b strings.Builder
	b.WriteString(h.pre)
	for _, a := range attrs {
		appendAttr(&b, h.grp, a)
	}
	c.pre = b.String()
	if h.next != nil {
		c.next = h.next.WithAttrs(attrs)
	}
	return &c
}

// WithGroup returns a handler that qualifies later attributes with name.
func (h *LogHub) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.grp = h.grp + name + "."
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	return &c
}

func appendAttr(b *strings.Builder, grp string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := grp
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, g, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(grp)
	b.WriteString(a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if needsQuote(v) {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

func needsQuote(v string) bool {
	if v == "" || !utf8.ValidString(v) {
		return true
	}
	for _, r := range v {
		if r <= ' ' || r == '=' || r == '"' || r == '\\' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// clean writes control characters and invalid UTF-8 as \xNN and caps the
// length, so a line is safe to show as text.
func clean(s string) string {
	ok := len(s) <= maxLineBytes
	for i := 0; ok && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			ok = false
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= maxLineBytes {
			b.WriteString("…")
			break
		}
		const hex = "0123456789abcdef"
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&15])
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			b.WriteString(`\x`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&15])
		case r == 0x2028, r == 0x2029:
			b.WriteString(`\u` + strconv.FormatInt(int64(r), 16))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func (c *hubCore) publish(l LogLine) {
	c.mu.Lock()
	c.seq++
	l.Seq = c.seq
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, l)
	} else {
		c.ring[c.head] = l
		c.head = (c.head + 1) % len(c.ring)
	}
	c.mu.Unlock()
	select {
	case c.in <- l:
	default:
		c.droppedLines.Add(1)
	}
}

// Lines returns the lines kept, oldest first.
func (h *LogHub) Lines() []LogLine {
	c := h.core
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]LogLine, 0, len(c.ring))
	out = append(out, c.ring[c.head:]...)
	return append(out, c.ring[:c.head]...)
}

// HubStats are the hub's counters.
type HubStats struct {
	Clients        int    // connected log tail clients
	DroppedClients uint64 // clients dropped for falling behind
	DroppedLines   uint64 // lines that found the hub's input queue full (kept in the ring only)
}

// Stats returns the hub's counters.
func (h *LogHub) Stats() HubStats {
	c := h.core
	return HubStats{int(c.clients.Load()), c.droppedClients.Load(), c.droppedLines.Load()}
}

// Run is the hub goroutine: it hands each new line to every client and drops
// a client whose queue is full. It returns when ctx is done, after closing
// every client's queue. Run may be called once.
func (h *LogHub) Run(ctx context.Context) error {
	c := h.core
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("status: log hub already running")
	}
	clients := map[*logClient]bool{}
	defer func() {
		for cl := range clients {
			close(cl.send)
		}
		c.clients.Store(0)
		close(c.done)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case cl := <-c.register:
			clients[cl] = true
			c.clients.Store(int64(len(clients)))
		case cl := <-c.unregister:
			if clients[cl] {
				delete(clients, cl)
				close(cl.send)
				c.clients.Store(int64(len(clients)))
			}
		case l := <-c.in:
			if len(clients) == 0 {
				continue
			}
			msg, err := json.Marshal(l)
			if err != nil {
				continue // a LogLine always encodes
			}
			for cl := range clients {
				select {
				case cl.send <- msg:
				default:
					// A slow client never holds up the others or the logger.
					delete(clients, cl)
					close(cl.send)
					c.droppedClients.Add(1)
					c.clients.Store(int64(len(clients)))
				}
			}
		}
	}
}

// subscribe registers a client and returns it with the lines kept so far
// (lines newer than the backlog's last Seq arrive on send). It fails when
// ctx (or the hub) is done.
func (h *LogHub) subscribe(ctx context.Context) (*logClient, []LogLine, bool) {
	cl := &logClient{send: make(chan []byte, clientBuffer)}
	select {
	case h.core.register <- cl:
	case <-h.core.done:
		return nil, nil, false
	case <-ctx.Done():
		return nil, nil, false
	}
	return cl, h.Lines(), true
}

// unsubscribe removes a client; it is a no-op once the hub has dropped it or
// stopped (the hub closed send).
func (h *LogHub) unsubscribe(ctx context.Context, cl *logClient) {
	select {
	case h.core.unregister <- cl:
	case <-h.core.done:
	case <-ctx.Done():
	}
}
