package cloud

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/server/apiv1"
)

// session is one websocket connection: a reader goroutine, a writer
// goroutine, and the calls waiting for their answers.
type session struct {
	c    *Client
	ws   *websocket.Conn // nil in FuzzHandleFrame
	out  chan []byte     // frames for the writer
	done chan struct{}   // closed once when the connection ends
	once sync.Once
	err  error // why it ended; set before done is closed

	mu      sync.Mutex
	pending map[string]waiter // by the id of the frame sent
	closed  bool
}

// waiter is one call waiting for the answer to the frame it sent.
type waiter struct {
	want string // the answer's type: welcome, qr.response or ack
	ch   chan result
}

type result struct {
	msg apiv1.Message
	err error
}

func newSession(c *Client, ws *websocket.Conn) *session {
	return &session{
		c: c, ws: ws,
		out:     make(chan []byte, sendBuffer),
		done:    make(chan struct{}),
		pending: map[string]waiter{},
	}
}

// fail ends the session once: every waiting call fails at once with
// ErrDisconnected, and closing the socket unblocks the reader.
func (s *session) fail(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.closed = true
		pending := s.pending
		s.pending = nil
		s.mu.Unlock()
		close(s.done)
		for _, w := range pending {
			w.ch <- result{err: fmt.Errorf("%w: %w", ErrDisconnected, err)}
		}
		if s.ws != nil {
			s.ws.Close()
		}
	})
}

func (s *session) cause() error {
	<-s.done
	return s.err
}

// closeNormal says goodbye with a close frame and gives the server a moment
// to answer it before the socket is closed.
func (s *session) closeNormal() {
	if s.ws != nil {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "agent stopping")
		s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	}
	s.fail(ErrDisconnected)
}

func (s *session) readLoop() {
	idle := 3 * s.c.cfg.PingInterval
	s.ws.SetReadLimit(apiv1.MaxFrameBytes)
	s.ws.SetReadDeadline(time.Now().Add(idle))
	s.ws.SetPongHandler(func(string) error {
		return s.ws.SetReadDeadline(time.Now().Add(idle))
	})
	for {
		typ, data, err := s.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				err = fmt.Errorf("%w: inbound frame above %d bytes", ErrTooLarge, apiv1.MaxFrameBytes)
			}
			s.fail(err)
			return
		}
		s.ws.SetReadDeadline(time.Now().Add(idle))
		if typ != websocket.TextMessage {
			s.c.log.Warn("binary frame from server ignored", "bytes", len(data))
			s.reply(&apiv1.Error{Code: apiv1.CodeBadRequest, Message: "frames are JSON text"})
			continue
		}
		s.c.handleFrame(s, data)
	}
}

func (s *session) writeLoop() {
	ping := time.NewTicker(s.c.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-s.out:
			s.ws.SetWriteDeadline(time.Now().Add(writeWait))
			if err := s.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				s.fail(err)
				return
			}
		case <-ping.C:
			if err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				s.fail(err)
				return
			}
		case <-s.done:
			return
		}
	}
}

func encode(m apiv1.Message) ([]byte, error) {
	b, err := apiv1.Encode(m)
	if err != nil {
		return nil, fmt.Errorf("cloud: %w", err)
	}
	if len(b) > apiv1.MaxFrameBytes {
		return nil, fmt.Errorf("%w: %s of %d bytes", ErrTooLarge, m.Type(), len(b))
	}
	return b, nil
}

// reply queues a frame that answers the server; it waits for room in the
// writer's buffer, or gives up when the connection ends.
func (s *session) reply(m apiv1.Message) {
	b, err := encode(m)
	if err != nil {
		s.c.log.Warn("answer not sent", "type", m.Type(), "err", err)
		return
	}
	select {
	case s.out <- b:
	case <-s.done:
	}
}

// call sends m (whose id is id) and waits for the answer of type want, an
// error frame, the end of the connection, or ctx.
func (s *session) call(ctx context.Context, m apiv1.Message, want string) (apiv1.Message, error) {
	b, err := encode(m)
	if err != nil {
		return nil, err
	}
	return s.callRaw(ctx, frameID(m), b, want)
}

func (s *session) callRaw(ctx context.Context, id string, frame []byte, want string) (apiv1.Message, error) {
	ch := make(chan result, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrNotConnected
	}
	s.pending[id] = waiter{want: want, ch: ch}
	s.mu.Unlock()
	select {
	case s.out <- frame:
	case r := <-ch: // the connection ended
		return nil, r.err
	case <-ctx.Done():
		s.forget(id)
		return nil, ctx.Err()
	}
	select {
	case r := <-ch:
		return r.msg, r.err
	case <-ctx.Done():
		s.forget(id)
		return nil, ctx.Err()
	}
}

func (s *session) forget(id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// resolve hands an answer to the call waiting for id, and only to it.
// It reports whether there was one.
func (s *session) resolve(re string, m apiv1.Message, err error) bool {
	s.mu.Lock()
	w, ok := s.pending[re]
	if ok {
		delete(s.pending, re)
	}
	s.mu.Unlock()
	if !ok {
		return false
	}
	switch {
	case err != nil:
	case m.Type() == apiv1.TypeError:
		e := *m.(*apiv1.Error)
		err = e
		m = nil
	case m.Type() != w.want:
		err = fmt.Errorf("%w: %s where %s was expected", ErrProtocol, m.Type(), w.want)
		m = nil
	}
	w.ch <- result{msg: m, err: err}
	return true
}

// frameID is the id of a frame the agent sends.
func frameID(m apiv1.Message) string {
	switch m := m.(type) {
	case *apiv1.Hello:
		return m.ID
	case *apiv1.QRRequest:
		return m.ID
	case *apiv1.QRCancel:
		return m.ID
	case *apiv1.ReceiptUpload:
		return m.ID
	case *apiv1.Rules:
		return m.ID
	case *apiv1.OrderPaid:
		return m.ID
	}
	return ""
}

// handleFrame routes one inbound text frame. It runs on the reader
// goroutine and never blocks on the caller's callbacks.
func (c *Client) handleFrame(s *session, data []byte) {
	m, err := apiv1.Decode(data)
	if err != nil {
		var de *apiv1.DecodeError
		if !errors.As(err, &de) {
			de = &apiv1.DecodeError{Err: err}
		}
		c.log.Warn("bad frame from server", "err", err, "type", de.Envelope.Type, "id", de.Envelope.ID, "re", de.Envelope.Re)
		if de.Envelope.Re != "" {
			// A garbled answer to one of our calls fails that call
			// now rather than at its deadline.
			s.resolve(de.Envelope.Re, nil, fmt.Errorf("%w: %w", ErrProtocol, err))
		}
		if de.Envelope.ID != "" {
			s.reply(&apiv1.Error{Re: de.Envelope.ID, Code: apiv1.CodeBadRequest, Message: err.Error()})
		}
		return
	}
	switch m := m.(type) {
	case *apiv1.Welcome:
		c.answer(s, m.Re, m)
	case *apiv1.QRResponse:
		c.answer(s, m.Re, m)
	case *apiv1.Ack:
		c.answer(s, m.Re, m)
	case *apiv1.Error:
		if m.Re == "" {
			c.log.Warn("server reported an error", "code", m.Code, "message", m.Message)
			return
		}
		c.answer(s, m.Re, m)
	case *apiv1.Rules:
		c.onRulesPush(s, m)
	case *apiv1.OrderPaid:
		c.onPaid(s, m)
	default:
		c.log.Warn("frame the server does not send", "type", m.Type())
		if id := frameID(m); id != "" {
			s.reply(&apiv1.Error{Re: id, Code: apiv1.CodeBadRequest, Message: m.Type() + " is not sent by servers"})
		}
	}
}

func (c *Client) answer(s *session, re string, m apiv1.Message) {
	if re == "" || !s.resolve(re, m, nil) {
		c.log.Warn("answer for no waiting request ignored", "type", m.Type(), "re", re)
	}
}
