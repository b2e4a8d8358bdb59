package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/oklog/ulid/v2"

	"printpay.dev/printpay/server/apiv1"
)

// Upload modes of Config.Upload.
const (
	UploadItems = "items"
	UploadFull  = "full"
	UploadOff   = "off"
)

// Defaults of the Config durations.
const (
	DefaultBackoffMin       = 250 * time.Millisecond
	DefaultBackoffMax       = 30 * time.Second
	DefaultPingInterval     = 20 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
)

const (
	writeWait   = 10 * time.Second
	sendBuffer  = 64   // frames waiting for the writer per connection
	paidHistory = 4096 // out_trade_no values remembered as paid and acked
	closeWait   = time.Second
)

// Sentinel errors callers branch on.
var (
	// ErrNotConnected: the link is not up (or not yet welcomed); nothing
	// was sent.
	ErrNotConnected = errors.New("cloud: not connected")
	// ErrDisconnected: the connection dropped while the call waited.
	ErrDisconnected = errors.New("cloud: connection lost")
	// ErrProtocol: the server answered with something that is not a valid
	// answer to the call.
	ErrProtocol = errors.New("cloud: unexpected answer")
	// ErrTooLarge: the frame would exceed apiv1.MaxFrameBytes.
	ErrTooLarge = errors.New("cloud: frame too large")
)

// Config configures a Client. URL, Token and StateDir are required.
type Config struct {
	URL          string // wss://host/v1/agent; ws:// only to a loopback host
	Token        string // the device token (the caller reads the token file)
	AgentVersion string
	Printers     func() []apiv1.Printer // reported in each hello; nil = none
	StateDir     string                 // rules.json and uploads/ live here
	Upload       string                 // UploadItems (default) | UploadFull | UploadOff

	// OnPaid is called once per paid order (per process), then the order
	// is acked. An error means no ack: the server sends it again. Nil acks
	// without doing anything. It runs on its own goroutine, never on the
	// connection's reader.
	OnPaid func(apiv1.OrderPaid) error
	// OnRules receives a new rule set (from welcome or a rules push)
	// before it is saved; an error rejects it (not saved, not acked).
	OnRules func(version string, rules json.RawMessage) error

	Logger *slog.Logger
	Dialer *websocket.Dialer // nil = a direct dialer with HandshakeTimeout (set Proxy here for a proxy)

	BackoffMin       time.Duration // first reconnect delay; 0 = DefaultBackoffMin
	BackoffMax       time.Duration // 0 = DefaultBackoffMax
	PingInterval     time.Duration // 0 = DefaultPingInterval
	HandshakeTimeout time.Duration // dial + hello→welcome; 0 = DefaultHandshakeTimeout
}

// Status is the "server" part of GET /api/status (DESIGN §6.2).
type Status struct {
	URL           string    `json:"url"`
	Connected     bool      `json:"connected"`
	Since         time.Time `json:"since"` // when Connected last changed (or the client was made)
	LastError     string    `json:"last_error"`
	RulesVersion  string    `json:"rules_version"`
	QueuedUploads int       `json:"queued_uploads"`
}

// Client is the agent's websocket client. Its methods are safe for
// concurrent use; Run may be called once.
type Client struct {
	cfg    Config
	log    *slog.Logger
	dialer *websocket.Dialer
	shown  string // URL as shown in status and logs
	q      *queue
	kick   chan struct{} // the upload queue has new work

	mu           sync.Mutex
	sess         *session // the welcomed connection, nil when down
	since        time.Time
	lastErr      string
	rulesVersion string
	rules        json.RawMessage
	warnedMin    string
	ran          bool
	welcome      apiv1.Welcome // the last one, without its rules
	welcomed     chan struct{} // closed at the first welcome

	paidMu    sync.Mutex
	paid      map[string]*paidState // by out_trade_no
	paidOrder []string              // done entries, oldest first

	handlers sync.WaitGroup // OnPaid goroutines
}

// New checks cfg, loads the rules and the upload queue kept in StateDir and
// returns a Client that is not connected yet (see Run).
func New(cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Upload == "" {
		cfg.Upload = UploadItems
	}
	switch cfg.Upload {
	case UploadItems, UploadFull, UploadOff:
	default:
		return nil, fmt.Errorf("cloud: upload %q: want items, full or off", cfg.Upload)
	}
	if cfg.Token == "" {
		return nil, errors.New("cloud: no device token")
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("cloud: device token has a line break")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("cloud: no state directory")
	}
	u, err := checkURL(cfg.URL, "ws")
	if err != nil {
		return nil, err
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = cfg.BackoffMin
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	c := &Client{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "cloud"),
		shown: u.Redacted(),
		kick:  make(chan struct{}, 1),
		since: time.Now(),
		paid:  map[string]*paidState{},

		welcomed: make(chan struct{}),
	}
	c.dialer = cfg.Dialer
	if c.dialer == nil {
		// No proxy unless the caller's Dialer sets one: only main
		// packages read the environment.
		c.dialer = &websocket.Dialer{HandshakeTimeout: cfg.HandshakeTimeout}
	}
	if err := mkdirState(cfg.StateDir); err != nil {
		return nil, err
	}
	v, raw, err := loadRules(cfg.StateDir)
	switch {
	case err != nil:
		c.log.Warn("saved rules unreadable; using defaults until the server sends rules", "err", err)
	case raw != nil:
		c.rulesVersion, c.rules = v, raw
	}
	if c.q, err = openQueue(cfg.StateDir); err != nil {
		return nil, err
	}
	return c, nil
}

// checkURL accepts scheme+"s" anywhere and the plain scheme only for a
// loopback host: the token must not cross a network in clear text.
func checkURL(raw, scheme string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("cloud: no server url")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("cloud: server url: %w", err)
	}
	switch u.Scheme {
	case scheme + "s":
	case scheme:
		if !loopback(u.Hostname()) {
			return nil, fmt.Errorf("cloud: server url %s: %s:// only to a loopback host; use %ss://", u.Redacted(), scheme, scheme)
		}
	default:
		return nil, fmt.Errorf("cloud: server url %s: scheme must be %ss (or %s for loopback)", u.Redacted(), scheme, scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("cloud: server url %s: no host", u.Redacted())
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Ready reports whether the link is up and welcomed, so that QR can be
// asked now.
func (c *Client) Ready() bool { return c.current() != nil }

func (c *Client) current() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Status reports the link for the status page. It never includes the token.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Status{
		URL:           c.shown,
		Connected:     c.sess != nil,
		Since:         c.since,
		LastError:     c.lastErr,
		RulesVersion:  c.rulesVersion,
		QueuedUploads: c.q.len(),
	}
}

// RulesVersion is the version of the rules in force ("" when none came
// from the server yet).
func (c *Client) RulesVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rulesVersion
}

// Rules returns the rule set last received from the server (also from a
// previous run), or nil.
func (c *Client) Rules() json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(json.RawMessage(nil), c.rules...)
}

// Welcomed is closed when the server first welcomes this client.
func (c *Client) Welcomed() <-chan struct{} { return c.welcomed }

// Device returns the device id and merchant name of the last welcome (empty
// before the first).
func (c *Client) Device() (deviceID, merchantName string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome.DeviceID, c.welcome.MerchantName
}

// QueuedUploads is the number of receipt uploads waiting for an ack.
func (c *Client) QueuedUploads() int { return c.q.len() }

// Run keeps the link up until ctx ends, then closes it cleanly and returns
// nil once every goroutine it started has ended.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.ran {
		c.mu.Unlock()
		return errors.New("cloud: Run called twice")
	}
	c.ran = true
	c.mu.Unlock()
	defer c.handlers.Wait()

	backoff := c.cfg.BackoffMin
	for {
		welcomed, err := c.connect(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if welcomed {
			backoff = c.cfg.BackoffMin
		}
		if err == nil {
			err = ErrDisconnected
		}
		c.mu.Lock()
		repeat := c.lastErr == err.Error()
		c.lastErr = err.Error()
		c.mu.Unlock()
		d := jitter(backoff)
		// The same failure again (a long outage) is logged at debug
		// level only, so an offline till does not fill its log.
		level := slog.LevelWarn
		if repeat {
			level = slog.LevelDebug
		}
		c.log.Log(ctx, level, "server link down; reconnecting", "err", err, "in", d.Round(time.Millisecond))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, c.cfg.BackoffMax)
	}
}

// jitter spreads reconnects of many agents: a delay in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) header() http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.cfg.Token)
	h.Set("Sec-WebSocket-Protocol", apiv1.Subprotocol)
	return h
}

// connect runs one connection: dial, hello/welcome, then serve until it
// drops or ctx ends. welcomed says whether the server accepted us.
func (c *Client) connect(ctx context.Context) (welcomed bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	ws, resp, err := c.dialer.DialContext(dctx, c.cfg.URL, c.header())
	cancel()
	if err != nil {
		return false, dialError(err, resp)
	}
	if ws.Subprotocol() != apiv1.Subprotocol {
		ws.Close()
		return false, fmt.Errorf("cloud: server did not agree to subprotocol %s", apiv1.Subprotocol)
	}
	s := newSession(c, ws)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.readLoop() }()
	go func() { defer wg.Done(); s.writeLoop() }()
	defer func() {
		c.detach(s)
		s.fail(ErrDisconnected)
		wg.Wait()
	}()

	if err := c.handshake(ctx, s); err != nil {
		if ctx.Err() != nil {
			s.closeNormal()
			return false, nil
		}
		return false, err
	}
	c.attach(s)
	wg.Add(1)
	go func() { defer wg.Done(); c.sendUploads(ctx, s) }()

	select {
	case <-s.done:
		return true, s.cause()
	case <-ctx.Done():
		s.closeNormal()
		return true, nil
	}
}

func (c *Client) handshake(ctx context.Context, s *session) error {
	var printers []apiv1.Printer
	if c.cfg.Printers != nil {
		printers = c.cfg.Printers()
	}
	if printers == nil {
		printers = []apiv1.Printer{}
	}
	hello := &apiv1.Hello{
		ID: newID(), AgentVersion: c.cfg.AgentVersion, Protocol: apiv1.ProtocolVersion,
		Printers: printers, RulesVersion: c.RulesVersion(),
	}
	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
	defer cancel()
	m, err := s.call(hctx, hello, apiv1.TypeWelcome)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("cloud: no welcome within %v", c.cfg.HandshakeTimeout)
		}
		return fmt.Errorf("cloud: hello: %w", err)
	}
	c.onWelcome(m.(*apiv1.Welcome))
	return nil
}

func (c *Client) attach(s *session) {
	c.mu.Lock()
	c.sess, c.since, c.lastErr = s, time.Now(), ""
	select {
	case <-c.welcomed:
	default:
		close(c.welcomed)
	}
	c.mu.Unlock()
}

func (c *Client) detach(s *session) {
	c.mu.Lock()
	if c.sess == s {
		c.sess, c.since = nil, time.Now()
	}
	c.mu.Unlock()
}

// dialError explains a failed dial, with the server's JSON error when it
// refused the upgrade.
func dialError(err error, resp *http.Response) error {
	if resp == nil {
		return fmt.Errorf("cloud: dial: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e apiv1.Error
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return fmt.Errorf("cloud: server refused the connection (%s): %w", resp.Status, e)
	}
	return fmt.Errorf("cloud: server refused the connection (%s): %w", resp.Status, err)
}

func (c *Client) onWelcome(w *apiv1.Welcome) {
	c.log.Info("connected to server", "device_id", w.DeviceID, "merchant", w.MerchantName, "url", c.shown)
	c.mu.Lock()
	c.welcome = *w
	c.welcome.Rules = nil
	c.mu.Unlock()
	if w.MinAgentVersion != "" {
		older, ok := versionLess(c.cfg.AgentVersion, w.MinAgentVersion)
		c.mu.Lock()
		warn := older && ok && c.warnedMin != w.MinAgentVersion
		if warn {
			c.warnedMin = w.MinAgentVersion
		}
		c.mu.Unlock()
		if warn {
			c.log.Warn(fmt.Sprintf("the server requires agent version %s or newer; this agent is %s; please upgrade (it keeps working meanwhile)",
				w.MinAgentVersion, c.cfg.AgentVersion))
		}
	}
	if len(w.Rules) == 0 || string(w.Rules) == "null" {
		return
	}
	var head struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(w.Rules, &head); err != nil {
		c.log.Warn("rules in welcome are not a JSON object; kept the current rules", "err", err)
		return
	}
	if err := c.applyRules(head.Version, w.Rules); err != nil {
		c.log.Warn("rules in welcome refused; kept the current rules", "version", head.Version, "err", err)
	}
}

// applyRules hands a rule set to OnRules, then saves it and makes it
// current.
func (c *Client) applyRules(version string, raw json.RawMessage) error {
	raw = append(json.RawMessage(nil), raw...)
	if c.cfg.OnRules != nil {
		if err := c.cfg.OnRules(version, raw); err != nil {
			return fmt.Errorf("cloud: rules %s refused: %w", version, err)
		}
	}
	if err := saveRules(c.cfg.StateDir, version, raw); err != nil {
		// In force anyway; after a restart the hello names the older
		// version on disk and the server sends these again.
		c.log.Warn("rules not saved", "version", version, "err", err)
	}
	c.mu.Lock()
	c.rulesVersion, c.rules = version, raw
	c.mu.Unlock()
	c.log.Info("rules updated", "version", version)
	return nil
}

// QR asks the server for the payment QR of one receipt. It fills req.ID
// (and Currency when empty), fails at once with ErrNotConnected when the
// link is down, and otherwise waits for the answer or for ctx. A server
// refusal is returned as an error wrapping apiv1.Error.
func (c *Client) QR(ctx context.Context, req apiv1.QRRequest) (apiv1.QRResponse, error) {
	s := c.current()
	if s == nil {
		return apiv1.QRResponse{}, ErrNotConnected
	}
	req.ID = newID()
	if req.Currency == "" {
		req.Currency = apiv1.CurrencyCNY
	}
	if req.Receipt != nil {
		r, ok := shapeReceipt(*req.Receipt, c.cfg.Upload)
		if ok {
			req.Receipt = &r
		} else {
			req.Receipt = nil
		}
	}
	if c.cfg.Upload == UploadItems {
		req.OrderNo = MaskPhones(req.OrderNo)
	}
	m, err := s.call(ctx, &req, apiv1.TypeQRResponse)
	if err != nil {
		return apiv1.QRResponse{}, fmt.Errorf("cloud: qr.request: %w", err)
	}
	resp := *m.(*apiv1.QRResponse)
	switch {
	case resp.OutTradeNo == "":
		return apiv1.QRResponse{}, fmt.Errorf("cloud: qr.request: %w: no out_trade_no", ErrProtocol)
	case resp.State == apiv1.StateOpen && resp.CodeURL == "":
		return apiv1.QRResponse{}, fmt.Errorf("cloud: qr.request: %w: open order without code_url", ErrProtocol)
	case resp.State != apiv1.StateOpen && resp.State != apiv1.StatePaid:
		return apiv1.QRResponse{}, fmt.Errorf("cloud: qr.request: %w: state %q", ErrProtocol, resp.State)
	}
	return resp, nil
}

// Cancel asks the server to close an order whose bill was paid another way,
// and waits for its ack.
func (c *Client) Cancel(ctx context.Context, outTradeNo, reason string) error {
	s := c.current()
	if s == nil {
		return ErrNotConnected
	}
	m := &apiv1.QRCancel{ID: newID(), OutTradeNo: outTradeNo, Reason: reason}
	if _, err := s.call(ctx, m, apiv1.TypeAck); err != nil {
		return fmt.Errorf("cloud: qr.cancel %s: %w", outTradeNo, err)
	}
	return nil
}

// paidState is what the client knows of one out_trade_no.
type paidState struct {
	done    bool     // OnPaid succeeded: repeats are acked at once
	waiting []string // frame ids that arrived while OnPaid ran, acked when it ends
}

// onPaid runs OnPaid once per out_trade_no and acks after it succeeded.
// A repeat of an order already handled is acked again (the first ack may
// have been lost); a repeat while OnPaid still runs is acked when it ends.
func (c *Client) onPaid(s *session, m *apiv1.OrderPaid) {
	if m.OutTradeNo == "" {
		s.reply(&apiv1.Error{Re: m.ID, Code: apiv1.CodeBadRequest, Message: "order.paid without out_trade_no"})
		return
	}
	c.paidMu.Lock()
	st, seen := c.paid[m.OutTradeNo]
	done := seen && st.done
	switch {
	case !seen:
		c.paid[m.OutTradeNo] = &paidState{}
	case !done:
		st.waiting = append(st.waiting, m.ID)
	}
	c.paidMu.Unlock()
	switch {
	case done:
		c.log.Debug("order.paid repeated; acked again", "out_trade_no", m.OutTradeNo)
		s.reply(&apiv1.Ack{Re: m.ID})
		return
	case seen:
		return
	}
	paid := *m
	c.handlers.Add(1)
	go func() {
		defer c.handlers.Done()
		var err error
		if c.cfg.OnPaid != nil {
			err = c.cfg.OnPaid(paid)
		}
		c.paidMu.Lock()
		st := c.paid[paid.OutTradeNo]
		ids := append([]string{paid.ID}, st.waiting...)
		st.waiting = nil
		if err != nil {
			delete(c.paid, paid.OutTradeNo)
		} else {
			st.done = true
			c.paidOrder = append(c.paidOrder, paid.OutTradeNo)
			if len(c.paidOrder) > paidHistory {
				delete(c.paid, c.paidOrder[0])
				c.paidOrder = c.paidOrder[1:]
			}
		}
		c.paidMu.Unlock()
		if err != nil {
			c.log.Warn("order paid but not handled; the server will send it again", "out_trade_no", paid.OutTradeNo, "err", err)
			return
		}
		c.log.Info("order paid", "out_trade_no", paid.OutTradeNo, "amount_fen", paid.AmountFen)
		// Ack on the connection that is up now: the one it came on may
		// be gone. With none, the server sends it again later and the
		// repeat is acked then.
		if cur := c.current(); cur != nil {
			s = cur
		}
		for _, id := range slices.Compact(ids) {
			s.reply(&apiv1.Ack{Re: id})
		}
	}()
}

func (c *Client) onRulesPush(s *session, m *apiv1.Rules) {
	if m.Version == "" || len(m.Rules) == 0 || !json.Valid(m.Rules) {
		s.reply(&apiv1.Error{Re: m.ID, Code: apiv1.CodeBadRequest, Message: "rules need a version and a JSON rule set"})
		return
	}
	if err := c.applyRules(m.Version, m.Rules); err != nil {
		c.log.Warn("rules push refused", "version", m.Version, "err", err)
		s.reply(&apiv1.Error{Re: m.ID, Code: apiv1.CodeBadRequest, Message: err.Error()})
		return
	}
	s.reply(&apiv1.Ack{Re: m.ID})
}

func newID() string { return ulid.Make().String() }
