package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("bus: closed")

// Bus carries short announcements between nodes: a device id ("device X has
// order.paid waiting"), or a key the server namespaces itself (such as
// "rules/<merchant>").
type Bus interface {
	// Publish announces deviceID (or another key) to every node.
	Publish(ctx context.Context, deviceID string) error
	// Subscribe calls fn for every announcement, on any node, until the
	// returned cancel is called. fn must not block.
	Subscribe(fn func(deviceID string)) (cancel func())
	Close() error
}

// subscribers is the fan-out both buses share.
type subscribers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func(string)
}

func (s *subscribers) add(fn func(string)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = map[int]func(string){}
	}
	id := s.next
	s.next++
	s.fns[id] = fn
	return func() {
		s.mu.Lock()
		delete(s.fns, id)
		s.mu.Unlock()
	}
}

func (s *subscribers) call(deviceID string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.fns {
		fn(deviceID)
	}
}

// Local is the in-process bus.
type Local struct {
	subs   subscribers
	mu     sync.Mutex
	closed bool
}

// NewLocal returns an in-process bus.
func NewLocal() *Local { return &Local{} }

// Publish calls the subscribers at once.
func (l *Local) Publish(_ context.Context, deviceID string) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	l.subs.call(deviceID)
	return nil
}

// Subscribe registers fn.
func (l *Local) Subscribe(fn func(string)) func() { return l.subs.add(fn) }

// Close stops Publish.
func (l *Local) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return nil
}

// NATS is the bus across nodes.
type NATS struct {
	nc      *nats.Conn
	sub     *nats.Subscription
	subject string
	subs    subscribers
}

// DefaultSubject is the NATS subject the nodes publish on.
const DefaultSubject = "printpay.paid"

// DialNATS connects to the NATS server at url and listens on subject
// (DefaultSubject when empty). Nodes that should see each other's
// announcements use the same subject; tests use a subject of their own.
func DialNATS(url, subject string) (*NATS, error) {
	if subject == "" {
		subject = DefaultSubject
	}
	if strings.ContainsAny(subject, " *>") {
		return nil, fmt.Errorf("bus: bad subject %q", subject)
	}
	nc, err := nats.Connect(url,
		nats.Name("printpay-server"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("bus: connect to nats: %w", err)
	}
	b := &NATS{nc: nc, subject: subject}
	b.sub, err = nc.Subscribe(subject, func(m *nats.Msg) { b.subs.call(string(m.Data)) })
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	// Make sure the server has the subscription before anyone publishes.
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: flush: %w", err)
	}
	return b, nil
}

// Publish sends the announcement to every node (this one included).
func (b *NATS) Publish(_ context.Context, deviceID string) error {
	if err := b.nc.Publish(b.subject, []byte(deviceID)); err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return ErrClosed
		}
		return fmt.Errorf("bus: publish: %w", err)
	}
	return nil
}

// Subscribe registers fn.
func (b *NATS) Subscribe(fn func(string)) func() { return b.subs.add(fn) }

// Close drains the subscription and closes the connection.
func (b *NATS) Close() error {
	b.sub.Unsubscribe()
	b.nc.Close()
	return nil
}
