package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"printpay.dev/printpay/server/bus"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/wechatpay"
)

// PaymentClient is what the server needs from WeChat Pay for one merchant.
// *wechatpay.Client implements it.
type PaymentClient interface {
	CreateNative(ctx context.Context, o wechatpay.Order) (codeURL string, err error)
	Query(ctx context.Context, outTradeNo string) (wechatpay.Transaction, error)
	Close(ctx context.Context, outTradeNo string) error
}

// Options configure a Server.
type Options struct {
	Store  *store.Store // required
	Bus    bus.Bus      // nil = in-process
	Logger *slog.Logger // nil = discard

	PublicURL       string        // base URL of this server (enroll answers, notify URLs); "" = from the request
	TimeExpire      time.Duration // order lifetime; default 15m
	MinAgentVersion string        // sent in welcome

	RateLimit float64 // frames per second per device; default 50
	RateBurst int     // default 100

	HelloTimeout time.Duration // the agent must say hello within; default 10s
	PingInterval time.Duration // websocket pings; default 30s

	Now func() time.Time // default time.Now
}

// Server serves the HTTP API. Create it with New, add merchants, then call
// Serve.
type Server struct {
	opt     Options
	st      *store.Store
	bus     bus.Bus
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	hub     *hub

	mu        sync.RWMutex
	merchants map[string]*merchant

	wg        sync.WaitGroup // connections and background work
	closing   chan struct{}
	closeOnce sync.Once
	unsub     func()
}

type merchant struct {
	store.Merchant
	pay    PaymentClient
	notify http.Handler
	poller *wechatpay.Poller
}

// New makes a server.
func New(opt Options) (*Server, error) {
	if opt.Store == nil {
		return nil, errors.New("api: no store")
	}
	if opt.Bus == nil {
		opt.Bus = bus.NewLocal()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.TimeExpire <= 0 {
		opt.TimeExpire = 15 * time.Minute
	}
	if opt.RateLimit <= 0 {
		opt.RateLimit = 50
	}
	if opt.RateBurst <= 0 {
		opt.RateBurst = 100
	}
	if opt.HelloTimeout <= 0 {
		opt.HelloTimeout = 10 * time.Second
	}
	if opt.PingInterval <= 0 {
		opt.PingInterval = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	s := &Server{opt: opt, st: opt.Store, bus: opt.Bus, log: opt.Logger, now: opt.Now,
		metrics: newMetrics(), merchants: map[string]*merchant{}, closing: make(chan struct{})}
	s.hub = newHub(s)
	s.unsub = s.bus.Subscribe(s.hub.wake)
	return s, nil
}

// AddMerchant registers a merchant (already in the store) with its payment
// client and, when WeChat should reach this server, its notification
// handler.
func (s *Server) AddMerchant(m store.Merchant, pay PaymentClient, notify http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.merchants[m.ID] = &merchant{Merchant: m, pay: pay, notify: notify}
}

// AddWechatMerchant stores the merchant and wires a WeChat Pay client for
// it: notifications at {PublicURL}/v1/wechatpay/notify/{id}, and a poller
// that Serve runs. cfg carries the keys; its NotifyURL is filled in here.
func (s *Server) AddWechatMerchant(ctx context.Context, m store.Merchant, cfg wechatpay.Config) error {
	m, err := s.st.PutMerchant(ctx, m)
	if err != nil {
		return fmt.Errorf("api: merchant %s: %w", m.ID, err)
	}
	cfg.ID = m.ID
	if cfg.NotifyURL == "" {
		cfg.NotifyURL = s.NotifyURL(m.ID)
	}
	c, err := wechatpay.New(ctx, cfg, s.log.With("merchant", m.ID))
	if err != nil {
		return fmt.Errorf("api: merchant %s: %w", m.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.merchants[m.ID] = &merchant{Merchant: m, pay: c,
		notify: wechatpay.NewNotifyHandler(c, orders{s: s, merchantID: m.ID}),
		poller: &wechatpay.Poller{Client: c, Orders: orders{s: s, merchantID: m.ID}, Now: s.now}}
	return nil
}

// NotifyURL is where WeChat posts the merchant's notifications.
func (s *Server) NotifyURL(merchantID string) string {
	base := s.opt.PublicURL
	if base == "" {
		base = "http://127.0.0.1:9280" // the default listener; set PublicURL for anything real
	}
	return base + "/v1/wechatpay/notify/" + merchantID
}

func (s *Server) merchant(id string) *merchant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.merchants[id]
}

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent", s.serveAgent)
	mux.HandleFunc("POST /v1/enroll", s.serveEnroll)
	mux.HandleFunc("POST /v1/wechatpay/notify/{merchant}", s.serveNotify)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /metrics", s.metrics.serve(s))
	return mux
}

// Serve serves on ln until ctx is done, runs the merchants' pollers, then
// closes every agent connection and waits for its goroutines.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	pctx, cancelPollers := context.WithCancel(ctx)
	var pollers sync.WaitGroup
	s.mu.RLock()
	for _, m := range s.merchants {
		if m.poller != nil {
			pollers.Add(1)
			go func(p *wechatpay.Poller) {
				defer pollers.Done()
				p.Run(pctx)
			}(m.poller)
		}
	}
	s.mu.RUnlock()

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancelPollers()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	s.shutdown()
	pollers.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// shutdown closes all agent connections and waits for their goroutines.
func (s *Server) shutdown() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.unsub()
	})
	s.hub.closeAll()
	s.wg.Wait()
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		http.Error(w, "database: unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (s *Server) serveNotify(w http.ResponseWriter, r *http.Request) {
	m := s.merchant(r.PathValue("merchant"))
	if m == nil || m.notify == nil {
		http.NotFound(w, r)
		return
	}
	s.metrics.notifications.Add(1)
	m.notify.ServeHTTP(w, r)
}
