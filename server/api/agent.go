package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/oklog/ulid/v2"

	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/wechatpay"
)

const (
	sendBuffer      = 64 // frames queued per connection before it is dropped
	handlersPerConn = 8  // qr.request / qr.cancel handled at once per connection
	writeWait       = 10 * time.Second
	requestBudget   = 20 * time.Second
	sweepEvery      = 10 // pings between looks for missed deliveries
)

var upgrader = websocket.Upgrader{
	// Read buffer: reuse the HTTP server's 4 KiB one. Write buffers come
	// from a pool and are held only while a frame is written, so an idle
	// connection costs little (see TestIdleConnections).
	WriteBufferSize: 4096,
	WriteBufferPool: &sync.Pool{},
	Subprotocols:    []string{apiv1.Subprotocol},
	// Agents send no Origin header; gorilla's default same-origin check
	// still refuses a browser page of another site.
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string, retryable bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(apiv1.Error{Code: code, Message: msg, Retryable: retryable})
}

// serveAgent authenticates the device and runs its websocket.
func (s *Server) serveAgent(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(websocket.Subprotocols(r), apiv1.Subprotocol) {
		writeJSONError(w, http.StatusBadRequest, apiv1.CodeBadRequest, "subprotocol "+apiv1.Subprotocol+" required", false)
		return
	}
	token := bearer(r)
	if token == "" {
		writeJSONError(w, http.StatusUnauthorized, apiv1.CodeUnauthorized, "missing bearer token", false)
		return
	}
	dev, err := s.st.DeviceByToken(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		s.metrics.authFailures.Add(1)
		writeJSONError(w, http.StatusUnauthorized, apiv1.CodeUnauthorized, "unknown device token", false)
		return
	}
	if err != nil {
		s.log.Warn("store failed", "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, apiv1.CodeUnavailable, "server storage unavailable, try again", true)
		return
	}
	select {
	case <-s.closing:
		writeJSONError(w, http.StatusServiceUnavailable, apiv1.CodeUnavailable, "server shutting down", true)
		return
	default:
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := &conn{
		s: s, ws: ws, dev: dev, log: s.log.With("device", dev.ID, "merchant", dev.MerchantID),
		send: make(chan []byte, sendBuffer), done: make(chan struct{}), wakeup: make(chan struct{}, 1),
		sem: make(chan struct{}, handlersPerConn), sent: map[string]bool{},
		limit: s.hub.limiter(dev.ID),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.run()
	}()
}

// conn is one agent websocket.
type conn struct {
	s     *Server
	ws    *websocket.Conn
	dev   store.Device
	log   *slog.Logger
	limit *bucket

	send      chan []byte
	done      chan struct{} // closed when the connection ends
	closeOnce sync.Once
	wakeup    chan struct{} // order.paid waiting
	sem       chan struct{}
	handlers  sync.WaitGroup

	mu     sync.Mutex
	hello  bool
	sent   map[string]bool // deliveries sent on this connection
	reason string          // why the server closed it
}

func (c *conn) run() {
	c.s.metrics.connections.Add(1)
	defer c.s.metrics.connections.Add(-1)
	c.s.hub.add(c)
	defer c.s.hub.remove(c)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writer()
	}()
	c.reader()
	c.mu.Lock()
	hello := c.hello
	c.mu.Unlock()
	if !hello {
		c.shut("no hello")
	}
	c.shut("")
	c.handlers.Wait()
	<-writerDone
	c.ws.Close()
}

// shut ends the connection once; the writer sends a close frame.
func (c *conn) shut(reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.reason = reason
		c.mu.Unlock()
		close(c.done)
	})
}

// queue hands a frame to the writer without ever blocking: a connection
// that cannot keep up is dropped.
func (c *conn) queue(m apiv1.Message) {
	b, err := apiv1.Encode(m)
	if err != nil {
		c.log.Warn("encode frame", "err", err)
		return
	}
	select {
	case <-c.done:
	case c.send <- b:
		c.s.metrics.framesOut.Add(1)
	default:
		c.log.Warn("agent too slow, dropping connection")
		c.shut("send buffer full")
	}
}

// reply queues an answer from the reader or a handler of this connection.
// It waits for room: a device that floods the server only slows down its
// own connection. queue, which never waits, is for frames other
// goroutines push (rules).
func (c *conn) reply(m apiv1.Message) {
	b, err := apiv1.Encode(m)
	if err != nil {
		c.log.Warn("encode frame", "err", err)
		return
	}
	select {
	case <-c.done:
	case c.send <- b:
		c.s.metrics.framesOut.Add(1)
	}
}

// write sends one frame; false when the connection failed.
func (c *conn) write(b []byte) bool {
	c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.shut("")
		return false
	}
	return true
}

func (c *conn) writer() {
	ping := time.NewTicker(c.s.opt.PingInterval)
	defer ping.Stop()
	pings := 0
	for {
		select {
		case b := <-c.send:
			if !c.write(b) {
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.shut("")
				return
			}
			// Now and then look for deliveries whose bus announcement was
			// lost (a NATS outage); deliver sends only what this connection
			// has not sent yet.
			if pings++; pings%sweepEvery == 0 {
				c.deliver()
			}
		case <-c.wakeup:
			// Frames queued before the wake-up (welcome above all) go first.
			for flushed := false; !flushed; {
				select {
				case b := <-c.send:
					if !c.write(b) {
						return
					}
				default:
					flushed = true
				}
			}
			c.deliver()
		case <-c.done:
			c.mu.Lock()
			reason := c.reason
			c.mu.Unlock()
			code := websocket.CloseNormalClosure
			if reason == "" {
				reason, code = "bye", websocket.CloseGoingAway
			} else if reason == "send buffer full" || reason == "replaced by a newer connection" || reason == "no hello" {
				code = websocket.ClosePolicyViolation
			}
			c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
			// Unblock the reader.
			c.ws.SetReadDeadline(time.Now())
			return
		}
	}
}

func (c *conn) reader() {
	c.ws.SetReadLimit(apiv1.MaxFrameBytes)
	idle := 2*c.s.opt.PingInterval + 15*time.Second
	c.ws.SetReadDeadline(time.Now().Add(c.s.opt.HelloTimeout))
	alive := func() {
		c.mu.Lock()
		hello := c.hello
		c.mu.Unlock()
		if hello { // before hello only the hello deadline counts
			c.ws.SetReadDeadline(time.Now().Add(idle))
		}
	}
	c.ws.SetPongHandler(func(string) error {
		alive()
		return nil
	})
	// The agent's own pings count as signs of life too. (WriteControl may
	// run alongside the writer goroutine.)
	c.ws.SetPingHandler(func(data string) error {
		alive()
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.log.Warn("frame above the size limit", "limit", apiv1.MaxFrameBytes)
				c.s.metrics.badFrames.Add(1)
			}
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
		c.s.metrics.framesIn.Add(1)
		if typ != websocket.TextMessage {
			c.s.metrics.badFrames.Add(1)
			c.reply(frameError("", apiv1.CodeBadRequest, false, "frames are JSON text, not binary"))
			continue
		}
		if !c.limit.allow(time.Now()) {
			// Acks always pass: refusing one would only make the server
			// send its order.paid again.
			if env := envelope(data); env.Type != apiv1.TypeAck {
				c.s.metrics.rateLimited.Add(1)
				c.reply(frameError(env.ID, apiv1.CodeRateLimited, true, "too many frames from this device; slow down"))
				continue
			}
		}
		m, err := apiv1.Decode(data)
		if err != nil {
			c.s.metrics.badFrames.Add(1)
			var de *apiv1.DecodeError
			errors.As(err, &de)
			c.reply(frameError(de.Envelope.ID, apiv1.CodeBadRequest, false, "%v", err))
			continue
		}
		c.handle(m)
		// Once hello is said, the connection may stay quiet as long as it
		// answers pings.
		c.mu.Lock()
		hello := c.hello
		c.mu.Unlock()
		if hello {
			c.ws.SetReadDeadline(time.Now().Add(idle))
		}
	}
}

// envelope reads just the id of a frame, for answers to frames that are not
// decoded.
func envelope(data []byte) apiv1.Envelope {
	var env apiv1.Envelope
	json.Unmarshal(data, &env)
	return env
}

func (c *conn) handle(m apiv1.Message) {
	c.mu.Lock()
	hello := c.hello
	c.mu.Unlock()
	if h, ok := m.(*apiv1.Hello); ok {
		if hello {
			c.reply(frameError(h.ID, apiv1.CodeBadRequest, false, "hello was already said"))
			return
		}
		c.onHello(h)
		return
	}
	if !hello {
		c.reply(frameError(idOf(m), apiv1.CodeBadRequest, false, "say hello first"))
		return
	}
	switch m := m.(type) {
	case *apiv1.QRRequest:
		c.async(m.ID, func(ctx context.Context) apiv1.Message { return c.s.qrRequest(ctx, c.dev, m) })
	case *apiv1.QRCancel:
		c.async(m.ID, func(ctx context.Context) apiv1.Message { return c.s.qrCancel(ctx, c.dev, m) })
	case *apiv1.ReceiptUpload:
		c.async(m.ID, func(ctx context.Context) apiv1.Message { return c.s.receiptUpload(ctx, c.dev, m) })
	case *apiv1.Ack:
		c.onAck(m)
	case *apiv1.Error:
		c.log.Info("agent reported an error", "re", m.Re, "code", m.Code, "message", m.Message)
	default:
		c.reply(frameError(idOf(m), apiv1.CodeBadRequest, false, "%s is not sent by agents", m.Type()))
	}
}

func idOf(m apiv1.Message) string {
	b, _ := json.Marshal(m)
	var env apiv1.Envelope
	json.Unmarshal(b, &env)
	return env.ID
}

// async runs a request in one of the connection's handler slots. When all
// are busy the agent is told to retry: the reader never blocks.
func (c *conn) async(re string, fn func(ctx context.Context) apiv1.Message) {
	select {
	case c.sem <- struct{}{}:
	default:
		c.s.metrics.rateLimited.Add(1)
		c.reply(frameError(re, apiv1.CodeRateLimited, true, "too many requests in flight on this connection"))
		return
	}
	c.handlers.Add(1)
	go func() {
		defer c.handlers.Done()
		defer func() { <-c.sem }()
		ctx, cancel := context.WithTimeout(context.Background(), requestBudget)
		defer cancel()
		start := time.Now()
		ans := fn(ctx)
		c.s.metrics.observe(ans, time.Since(start))
		if e, ok := ans.(*apiv1.Error); ok && e.Re == "" {
			e.Re = re
		}
		c.reply(ans)
	}()
}

func (c *conn) onHello(h *apiv1.Hello) {
	if h.Protocol != apiv1.ProtocolVersion {
		c.reply(frameError(h.ID, apiv1.CodeBadRequest, false, "protocol %d not supported; this server speaks %d", h.Protocol, apiv1.ProtocolVersion))
		c.shut("protocol version")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w := &apiv1.Welcome{Re: h.ID, ServerTime: c.s.now(), DeviceID: c.dev.ID, MinAgentVersion: c.s.opt.MinAgentVersion}
	if m, err := c.s.st.Merchant(ctx, c.dev.MerchantID); err == nil {
		w.MerchantName = m.Name
	} else if mm := c.s.merchant(c.dev.MerchantID); mm != nil {
		w.MerchantName = mm.Name
	}
	if v, body, err := c.s.st.Rules(ctx, c.dev.MerchantID); err == nil && v != h.RulesVersion && json.Valid(body) {
		w.Rules = body
	}
	if err := c.s.st.TouchDevice(ctx, c.dev.ID, h.AgentVersion); err != nil {
		c.log.Warn("touch device", "err", err)
	}
	c.log.Info("agent connected", "agent_version", h.AgentVersion, "printers", len(h.Printers))
	c.reply(w)
	c.mu.Lock()
	c.hello = true
	c.mu.Unlock()
	c.wake()
}

// wake asks the writer to send waiting order.paid deliveries.
func (c *conn) wake() {
	select {
	case c.wakeup <- struct{}{}:
	default:
	}
}

// deliver sends each waiting delivery not yet sent on this connection. It
// runs on the writer goroutine.
func (c *conn) deliver() {
	c.mu.Lock()
	hello := c.hello
	c.mu.Unlock()
	if !hello {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.s.st.PendingDeliveries(ctx, c.dev.ID)
	if err != nil {
		c.log.Warn("pending deliveries", "err", err)
		return
	}
	for _, d := range list {
		c.mu.Lock()
		already := c.sent[d.ID]
		c.sent[d.ID] = true
		c.mu.Unlock()
		if already {
			continue
		}
		b, err := apiv1.Encode(&apiv1.OrderPaid{ID: d.ID, OutTradeNo: d.OutTradeNo, AmountFen: d.AmountFen,
			TransactionID: d.TransactionID, PaidAt: d.PaidAt.In(wechatpay.Beijing)})
		if err != nil {
			continue
		}
		c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			c.shut("")
			return
		}
		c.s.metrics.framesOut.Add(1)
		c.s.metrics.paidSent.Add(1)
	}
}

func (c *conn) onAck(a *apiv1.Ack) {
	c.mu.Lock()
	ours := c.sent[a.Re]
	c.mu.Unlock()
	if !ours {
		return // an ack of a rules push, or of nothing we track
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.s.st.AckDelivery(ctx, c.dev.ID, a.Re); err != nil {
		c.log.Warn("ack delivery", "id", a.Re, "err", err)
	}
}

// receiptUpload keeps a receipt for the ledger, once per (job, index).
func (s *Server) receiptUpload(ctx context.Context, dev store.Device, u *apiv1.ReceiptUpload) apiv1.Message {
	re := u.ID
	if u.ID == "" || u.JobID == "" || len(u.JobID) > maxJobIDLen || u.ReceiptIndex < 0 {
		return frameError(re, apiv1.CodeBadRequest, false, "receipt.upload needs id, job_id and receipt_index")
	}
	body, err := json.Marshal(u.Receipt)
	if err != nil {
		return frameError(re, apiv1.CodeBadRequest, false, "receipt: %v", err)
	}
	printed := u.PrintedAt
	if printed.IsZero() {
		printed = s.now()
	}
	inserted, err := s.st.SaveReceipt(ctx, store.Receipt{DeviceID: dev.ID, MerchantID: dev.MerchantID, JobID: u.JobID,
		ReceiptIndex: u.ReceiptIndex, Printer: u.Printer, PrintedAt: printed, AmountFen: u.Receipt.AmountFen,
		OrderNo: u.Receipt.OrderNo, Body: body})
	if err != nil {
		return s.unavailable(re, err)
	}
	if inserted {
		s.metrics.receipts.Add(1)
	}
	return &apiv1.Ack{Re: re}
}

// PushRules stores a merchant's rule set and sends it to the merchant's
// agents, on every node: the bus carries "rules/<merchant>" and each node
// pushes the stored set to the agents it holds.
func (s *Server) PushRules(ctx context.Context, merchantID, version string, body []byte) error {
	if !json.Valid(body) {
		return errors.New("api: rules are not JSON")
	}
	if err := s.st.SetRules(ctx, merchantID, version, body); err != nil {
		return err
	}
	return s.bus.Publish(ctx, rulesKey+merchantID)
}

// rulesKey prefixes bus announcements of a merchant's new rules; device ids
// never start with it.
const rulesKey = "rules/"

// pushRules sends the merchant's stored rules to its agents on this node.
func (s *Server) pushRules(ctx context.Context, merchantID string) {
	version, body, err := s.st.Rules(ctx, merchantID)
	if err != nil {
		s.log.Warn("rules push", "merchant", merchantID, "err", err)
		return
	}
	for _, c := range s.hub.ofMerchant(merchantID) {
		c.queue(&apiv1.Rules{ID: ulid.Make().String(), Version: version, Rules: body})
	}
}

// hub knows the connections of this node by device.
type hub struct {
	s        *Server
	mu       sync.Mutex
	conns    map[string]*conn // device id -> its newest connection
	limiters map[string]*bucket
}

func newHub(s *Server) *hub {
	return &hub{s: s, conns: map[string]*conn{}, limiters: map[string]*bucket{}}
}

func (h *hub) add(c *conn) {
	h.mu.Lock()
	old := h.conns[c.dev.ID]
	h.conns[c.dev.ID] = c
	h.mu.Unlock()
	if old != nil {
		old.shut("replaced by a newer connection")
	}
}

func (h *hub) remove(c *conn) {
	h.mu.Lock()
	if h.conns[c.dev.ID] == c {
		delete(h.conns, c.dev.ID)
	}
	h.mu.Unlock()
}

// wake is the bus subscriber: it must not block.
func (h *hub) wake(deviceID string) {
	if merchantID, ok := strings.CutPrefix(deviceID, rulesKey); ok {
		h.s.background(func(ctx context.Context) { h.s.pushRules(ctx, merchantID) })
		return
	}
	h.mu.Lock()
	c := h.conns[deviceID]
	h.mu.Unlock()
	if c != nil {
		c.wake()
	}
}

func (h *hub) ofMerchant(merchantID string) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*conn
	for _, c := range h.conns {
		if c.dev.MerchantID == merchantID {
			out = append(out, c)
		}
	}
	return out
}

func (h *hub) closeAll() {
	h.mu.Lock()
	list := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		list = append(list, c)
	}
	h.mu.Unlock()
	for _, c := range list {
		c.shut("")
	}
}

// limiter returns the device's token bucket; it outlives connections so a
// reconnect does not refill it.
func (h *hub) limiter(deviceID string) *bucket {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.limiters[deviceID]
	if b == nil {
		b = &bucket{rate: h.s.opt.RateLimit, burst: float64(h.s.opt.RateBurst), tokens: float64(h.s.opt.RateBurst)}
		h.limiters[deviceID] = b
	}
	return b
}

// bucket is a token bucket.
type bucket struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
}

func (b *bucket) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
