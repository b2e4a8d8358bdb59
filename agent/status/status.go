package status

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"printpay.dev/printpay/agent/intake"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

// Printer is one configured printer as /api/status shows it.
type Printer struct {
	Name, Driver, Device, Profile string
	Status                        *drivers.StatusCache // nil: unknown
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

// Options configure the server.
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
}

// Server serves the status API.
type Server struct {
	opt Options
	log *slog.Logger
	mux *http.ServeMux
}

// New returns a status server.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opt: opt, log: opt.Logger, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /api/jobs", s.jobs)
	s.mux.HandleFunc("GET /api/status", s.status)
	s.mux.HandleFunc("POST /api/jobs/{id}/reprint", s.reprint)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	s.mux.HandleFunc("GET /{$}", s.page)
	return s
}

// Handler returns the HTTP handler, with authentication and the
// same-origin rule applied.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opt.Password != "" {
			_, pw, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(pw), []byte(s.opt.Password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="printpay"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// Serve serves on ln until ctx is done, then shuts down within 5 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
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
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("status: shutdown: %w", err)
	}
	return nil
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

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>printpay</title></head>
<body><h1>printpay %s</h1>
<p><a href="/api/status">status</a> · <a href="/api/jobs">jobs</a> · <a href="/metrics">metrics</a></p>
</body></html>
`, strings.ReplaceAll(s.opt.Version, "<", "&lt;"))
}
