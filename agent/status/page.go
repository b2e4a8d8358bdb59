package status

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

// The page's HTML templates, stylesheet and script are embedded: the page
// loads nothing from the internet.
//
//go:embed assets
var assetFS embed.FS

var pageTmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"T":     func(l lang, key string) string { return l.t(key) },
	"deref": func(b *bool) bool { return b != nil && *b },
	"pair":  func(l lang, p *previewView) previewPair { return previewPair{l, p} },
}).ParseFS(assetFS, "assets/*.html"))

// csp keeps the page to its own assets even if something slipped through
// escaping.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func assetHandler() http.Handler {
	sub, _ := fs.Sub(assetFS, "assets")
	fsrv := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// jobView is one job as the page shows it.
type jobView struct {
	ID, Printer, Time, Size string
	Intake, State           string // word keys
	Held, Truncated         bool
	Reprint                 int
	Analyzed                bool
	Payable                 bool
	Amount                  string
	OrderNo, Reason         string
	QR, QRReason            string // QR: word key, "" while not final
	Paid                    bool
	OutTradeNo              string
	Receipts                []receiptView
}

// receiptView is one receipt's decision, from the job's receipts record.
type receiptView struct {
	Index        int      `json:"index"`
	Payable      bool     `json:"payable"`
	AmountFen    *int64   `json:"amount_fen"`
	OrderNo      string   `json:"order_no"`
	Reason       string   `json:"reason"`
	QR           string   `json:"qr"`
	QRReason     string   `json:"qr_reason"`
	OutTradeNo   string   `json:"out_trade_no"`
	SpliceOffset *int     `json:"splice_offset"`
	Lines        []string `json:"lines"`
}

func (r receiptView) Amount() string {
	if r.AmountFen == nil {
		return ""
	}
	return yuan(*r.AmountFen)
}

// yuan formats fen as "¥153.00".
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s¥%d.%02d", sign, fen/100, fen%100)
}

func size(n int64) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d B", n)
	case n < 10<<20:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

func viewJob(j spool.Job) jobView {
	r := j.Result
	v := jobView{
		ID: j.ID, Printer: j.Printer, Time: j.ReceivedAt.Local().Format("2006-01-02 15:04:05"), Size: size(j.Bytes),
		Intake: "intake_" + string(j.Intake), State: "state_" + string(j.State),
		Held: j.Held, Truncated: j.Intake == spool.Truncated, Reprint: j.Reprint,
		Analyzed: r.Analyzed, Payable: r.Payable, OrderNo: r.OrderNo, Reason: r.Reason,
		QRReason: r.QRReason, Paid: r.Paid, OutTradeNo: r.OutTradeNo,
	}
	if !r.Analyzed {
		v.Reason = j.Reason
	}
	if r.Analyzed && r.Payable {
		v.Amount = yuan(r.AmountFen)
	}
	if r.QR != "" {
		v.QR = "qr_" + r.QR
	}
	if len(r.Receipts) > 0 {
		json.Unmarshal(r.Receipts, &v.Receipts) // a record the page cannot read shows no receipts
	}
	return v
}

type printerView struct {
	Name, Driver, Device, Profile string
	State                         string // word key
	Since                         string
	Detail                        string
	PaperNearEnd                  bool
	Paused                        *bool
}

type linkView struct {
	URL, Since, LastError, RulesVersion string
	Connected                           bool
	QueuedUploads                       int
}

type pageData struct {
	L                       lang
	Lang, Other             string
	CSRF, Version           string
	Jobs                    []jobView
	Printers                []printerView
	Link                    linkView
	Logs, Pause, Test, Demo bool
	After                   bool
	Job                     *jobView
	Before, AfterP          *previewView
	Now                     string
}

type previewPair struct {
	L lang
	P *previewView
}

// previewView is a preview as the detail shows it: a picture or why not.
type previewView struct {
	URL      string
	Err      string
	Warnings []string
}

func (s *Server) data(w http.ResponseWriter, r *http.Request) pageData {
	l := pickLang(w, r)
	d := pageData{
		L: l, Lang: l.code(), Other: langEN.code(), CSRF: s.csrf, Version: s.opt.Version,
		Logs: s.opt.Logs != nil, Pause: s.opt.Pause != nil, Test: s.opt.TestPrint != nil,
		Demo: s.opt.DemoPay != nil, After: s.opt.Printed != nil,
		Now: time.Now().Local().Format("15:04:05"),
	}
	if l == langEN {
		d.Other = langZH.code()
	}
	return d
}

func (s *Server) jobViews(limit int) []jobView {
	list := s.opt.Spool.List(limit)
	out := make([]jobView, 0, len(list))
	for _, j := range list {
		out = append(out, viewJob(j))
	}
	return out
}

func (s *Server) printerViews() []printerView {
	var out []printerView
	for _, p := range s.opt.Printers {
		var st drivers.Status
		if p.Status != nil {
			st = p.Status.Get()
		}
		v := printerView{Name: p.Name, Driver: p.Driver, Device: p.Device, Profile: p.Profile,
			State: "pr_" + StateName(st.State), Detail: st.Detail, PaperNearEnd: st.PaperNearEnd}
		if !st.Since.IsZero() {
			v.Since = st.Since.Local().Format("2006-01-02 15:04:05")
		}
		if s.opt.Paused != nil {
			paused := s.opt.Paused(p.Name)
			v.Paused = &paused
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) linkView() linkView {
	link := Link{URL: s.opt.ServerURL}
	if s.opt.Link != nil {
		link = s.opt.Link()
	}
	v := linkView{URL: link.URL, Connected: link.Connected, LastError: link.LastError, RulesVersion: link.RulesVersion, QueuedUploads: link.QueuedUploads}
	if !link.Since.IsZero() {
		v.Since = link.Since.Local().Format("2006-01-02 15:04:05")
	}
	return v
}

func (s *Server) execute(w http.ResponseWriter, name string, d pageData) {
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, name, d); err != nil {
		s.log.Error("status: page template", "template", name, "err", err)
		http.Error(w, "status: page template failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	d := s.data(w, r)
	d.Jobs = s.jobViews(200)
	d.Printers = s.printerViews()
	d.Link = s.linkView()
	s.execute(w, "page.html", d)
}

func (s *Server) panelsFragment(w http.ResponseWriter, r *http.Request) {
	d := s.data(w, r)
	d.Printers = s.printerViews()
	d.Link = s.linkView()
	s.execute(w, "panels", d)
}

func (s *Server) jobsFragment(w http.ResponseWriter, r *http.Request) {
	d := s.data(w, r)
	d.Jobs = s.jobViews(200)
	s.execute(w, "jobs", d)
}

// detail fills d with job id and its previews; false when there is no such
// job (a 404 has been written).
func (s *Server) detail(w http.ResponseWriter, r *http.Request, d *pageData) bool {
	j, err := s.opt.Spool.Get(r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return false
	}
	v := viewJob(j)
	d.Job = &v
	pv := func(kind string) *previewView {
		p := s.preview(r.Context(), j, kind)
		if p.png == nil {
			return &previewView{Err: p.err}
		}
		return &previewView{URL: "/jobs/" + j.ID + "/" + kind + ".png", Warnings: p.warnings}
	}
	d.Before = pv("before")
	if s.opt.Printed != nil {
		d.AfterP = pv("after")
	}
	return true
}

func (s *Server) jobFragment(w http.ResponseWriter, r *http.Request) {
	d := s.data(w, r)
	if s.detail(w, r, &d) {
		s.execute(w, "detail", d)
	}
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	d := s.data(w, r)
	if s.detail(w, r, &d) {
		s.execute(w, "job.html", d)
	}
}
