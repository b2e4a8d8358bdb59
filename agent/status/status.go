package status

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"printpay.dev/printpay/agent/intake"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

// Printer is one configured printer as /api/status and the page show it.
type Printer struct {
	Name, Driver, Device, Profile string
	Status                        *drivers.StatusCache // nil: unknown
	// PaperDots is the printer's paper width for previews (0: 576).
	PaperDots int
	// Encoding is the printer's configured encoding for previews ("":
	// detected).
	Encoding string
}

// Link is the state of the agent's server link.
type Link struct {
	URL           string
	Connected     bool
	Since         time.Time
	LastError     string
	RulesVersion  string
	QueuedUploads int
}

// Options configure the server. Every hook is optional: a nil hook hides
// its part of the page and its action answers 404.
type Options struct {
	Spool    *spool.Spool
	Intake   *intake.Intake // nil: no intake metrics
	Printers []Printer
	Link     func() Link // nil: no cloud link (its URL from ServerURL)
	// ServerURL is [server] url, shown when Link is nil.
	ServerURL string
	Version   string
	Password  string // "" = no authentication (loopback only)
	Logger    *slog.Logger

	// Logs feeds the page's live log tail (nil: no log tail). The agent
	// tees its logger through it and runs it (LogHub.Run).
	Logs *LogHub
	// Printed rebuilds what was printed for a job from its original bytes
	// (the "after" preview; nil: only "before" is shown).
	Printed func(job spool.Job, original []byte) ([]byte, error)
	// Pause pauses (true) or resumes (false) a printer's worker.
	Pause func(printer string, paused bool) error
	// Paused reports whether a printer is paused (nil: both buttons shown).
	Paused func(printer string) bool
	// TestPrint prints a test page on a printer.
	TestPrint func(printer string) error
	// DemoPay plays the customer paying the order outTradeNo (printpay demo
	// only: the WeChat Pay sandbox).
	DemoPay func(ctx context.Context, outTradeNo string) error
	// Latency, when set, is the job latency histogram at /metrics (the
	// agent observes each job's end → printed); nil: the histogram is
	// computed from the spool's done jobs, ReceivedAt → Finished.
	Latency *Histogram
	// FontPaths are passed to render for previews (nil: render's defaults).
	FontPaths []string
}

// ErrExposed is returned by Serve for a listener on a non-loopback
// address when no password is set.
var ErrExposed = errors.New("status: a non-loopback listen address needs a password_file")

// CSRFHeader is the request header every action (POST) must carry with the
// server's token; the page sends it, scripts get the token from
// GET /api/csrf.
const CSRFHeader = "X-Printpay-Csrf"

// Server serves the status page and API.
type Server struct {
	opt      Options
	log      *slog.Logger
	mux      *http.ServeMux
	csrf     string
	previews *previewCache
	streams  sync.WaitGroup // log tail connections, which Shutdown does not wait for
}

// New returns a status server.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	var tok [24]byte
	rand.Read(tok[:])
	s := &Server{opt: opt, log: opt.Logger, mux: http.NewServeMux(), csrf: hex.EncodeToString(tok[:]), previews: newPreviewCache(64)}
	s.mux.HandleFunc("GET /api/jobs", s.jobs)
	s.mux.HandleFunc("GET /api/status", s.status)
	s.mux.HandleFunc("GET /api/csrf", s.csrfToken)
	s.mux.HandleFunc("POST /api/jobs/{id}/reprint", s.reprint)
	s.mux.HandleFunc("POST /api/jobs/{id}/demo-pay", s.demoPay)
	s.mux.HandleFunc("POST /api/printers/{name}/{action}", s.printerAction)
	s.mux.HandleFunc("GET /api/logs", s.logs)
	s.mux.HandleFunc("GET /api/logs/ws", s.logsWS)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /jobs/{id}", s.jobPage)
	s.mux.HandleFunc("GET /jobs/{id}/{file}", s.previewPNG)
	s.mux.HandleFunc("GET /fragment/jobs", s.jobsFragment)
	s.mux.HandleFunc("GET /fragment/panels", s.panelsFragment)
	s.mux.HandleFunc("GET /fragment/jobs/{id}", s.jobFragment)
	s.mux.Handle("GET /assets/", assetHandler())
	return s
}

// Handler returns the HTTP handler with the access rules applied: without a
// password only loopback peers addressing the server by a loopback name are
// served (a DNS-rebinding page cannot reach it); with one, every request
// needs HTTP basic auth with it; every action (a method other than GET and
// HEAD) must come from the page's own origin and carry the CSRF token.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		if s.opt.Password == "" {
			if !loopbackPeer(r.RemoteAddr) {
				http.Error(w, "status: only this computer may see the status page without a password", http.StatusForbidden)
				return
			}
			if !loopbackHost(r.Host) {
				http.Error(w, "status: unexpected host name", http.StatusForbidden)
				return
			}
		} else {
			_, pw, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(pw), []byte(s.opt.Password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="printpay", charset="UTF-8"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(s.csrf)) != 1 {
				http.Error(w, "status: missing or wrong "+CSRFHeader+" header", http.StatusForbidden)
				return
			}
		}
		s.mux.ServeHTTP(w, r)
	})
}

// sameOrigin accepts a request whose Origin names this host, or one with
// neither Origin nor Sec-Fetch-Site (not from a browser: a script, which
// still needs the CSRF token).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		sfs := r.Header.Get("Sec-Fetch-Site")
		return sfs == "" || sfs == "same-origin"
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host && (u.Scheme == "http" || u.Scheme == "https")
}

func loopbackPeer(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackListener reports whether ln accepts only loopback connections.
func loopbackListener(ln net.Listener) bool {
	a, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return ln.Addr().Network() == "unix" || ln.Addr().Network() == "pipe"
	}
	return a.IP.IsLoopback()
}

// Serve serves on ln until ctx is done, then shuts down within 5 seconds.
// A listener on a non-loopback address without a password is refused with
// ErrExposed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.opt.Password == "" && !loopbackListener(ln) {
		ln.Close()
		return fmt.Errorf("%w (listen %s)", ErrExposed, ln.Addr())
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("status: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	s.streams.Wait() // they end with ctx: each closes its connection
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("status: shutdown: %w", err)
	}
	return nil
}

// CheckListen reports whether addr (a [status] listen value) may be used:
// a non-loopback address, or all addresses, needs a password (ErrExposed).
func CheckListen(addr string, hasPassword bool) error {
	if addr == "" || hasPassword {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("status: listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w (listen %s)", ErrExposed, addr)
	}
	return nil
}

func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"header": CSRFHeader, "token": s.csrf})
}

// apiJob is one element of GET /api/jobs (DESIGN §6.2).
type apiJob struct {
	ID         string           `json:"id"`
	Printer    string           `json:"printer"`
	ReceivedAt time.Time        `json:"received_at"`
	Bytes      int64            `json:"bytes"`
	Intake     string           `json:"intake"`
	State      string           `json:"state"`
	Reprint    int              `json:"reprint"`
	Payable    *bool            `json:"payable"`
	AmountFen  *int64           `json:"amount_fen"`
	OrderNo    *string          `json:"order_no"`
	Reason     *string          `json:"reason"`
	OutTradeNo *string          `json:"out_trade_no"`
	QR         *string          `json:"qr"`
	QRReason   *string          `json:"qr_reason"`
	Paid       bool             `json:"paid"`
	Receipts   *json.RawMessage `json:"receipts"`
}

func ptr[T any](v T) *T { return &v }

func strOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func jobJSON(j spool.Job) apiJob {
	r := j.Result
	a := apiJob{
		ID: j.ID, Printer: j.Printer, ReceivedAt: j.ReceivedAt, Bytes: j.Bytes,
		Intake: string(j.Intake), State: string(j.State), Reprint: j.Reprint,
		OutTradeNo: strOrNull(r.OutTradeNo), QR: strOrNull(r.QR), QRReason: strOrNull(r.QRReason), Paid: r.Paid,
	}
	if r.Analyzed {
		a.Payable, a.AmountFen, a.OrderNo, a.Reason = ptr(r.Payable), ptr(r.AmountFen), strOrNull(r.OrderNo), strOrNull(r.Reason)
	} else {
		a.Reason = strOrNull(j.Reason)
	}
	if len(r.Receipts) > 0 {
		raw := json.RawMessage(r.Receipts)
		a.Receipts = &raw
	}
	return a
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request) {
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, "limit: want a number", http.StatusBadRequest)
			return
		}
		limit = n
	}
	list := s.opt.Spool.List(limit)
	out := make([]apiJob, 0, len(list))
	for _, j := range list {
		out = append(out, jobJSON(j))
	}
	writeJSON(w, out)
}

func (s *Server) reprint(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if j, err := s.opt.Spool.Get(id); err == nil && (j.Intake == spool.Truncated || j.Held) && r.URL.Query().Get("confirm") != "1" {
		// Printing what is known to be incomplete needs a person's yes.
		http.Error(w, "status: the job is incomplete; reprint with ?confirm=1 to print it anyway", http.StatusPreconditionRequired)
		return
	}
	err := s.opt.Spool.Requeue(id)
	switch {
	case errors.Is(err, spool.ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case errors.Is(err, spool.ErrState):
		http.Error(w, err.Error(), http.StatusConflict)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.log.Info("status: job requeued by a person", "job", id)
	j, _ := s.opt.Spool.Get(id)
	writeJSON(w, jobJSON(j))
}

// StateName is how /api/status names a printer state.
func StateName(st drivers.PrinterState) string {
	switch st {
	case drivers.StateOnline:
		return "online"
	case drivers.StateOffline:
		return "offline"
	case drivers.StatePaperOut:
		return "paper-out"
	case drivers.StateCoverOpen:
		return "cover-open"
	case drivers.StateError:
		return "error"
	}
	return "unknown"
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	type apiPrinter struct {
		Name    string     `json:"name"`
		Driver  string     `json:"driver"`
		Device  string     `json:"device"`
		Profile string     `json:"profile"`
		Status  string     `json:"status"`
		Since   *time.Time `json:"since"`
	}
	type apiServer struct {
		URL           string     `json:"url"`
		Connected     bool       `json:"connected"`
		Since         *time.Time `json:"since"`
		LastError     *string    `json:"last_error"`
		RulesVersion  *string    `json:"rules_version"`
		QueuedUploads int        `json:"queued_uploads"`
	}
	out := struct {
		Printers []apiPrinter `json:"printers"`
		Server   apiServer    `json:"server"`
		Version  string       `json:"version"`
	}{Printers: []apiPrinter{}, Version: s.opt.Version}
	for _, p := range s.opt.Printers {
		var st drivers.Status
		if p.Status != nil {
			st = p.Status.Get()
		}
		out.Printers = append(out.Printers, apiPrinter{p.Name, p.Driver, p.Device, p.Profile, StateName(st.State), timeOrNull(st.Since)})
	}
	link := Link{URL: s.opt.ServerURL}
	if s.opt.Link != nil {
		link = s.opt.Link()
	}
	out.Server = apiServer{link.URL, link.Connected, timeOrNull(link.Since), strOrNull(link.LastError), strOrNull(link.RulesVersion), link.QueuedUploads}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
