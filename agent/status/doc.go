// Package status is the agent's local HTTP server: the status page, the JSON
// API of DESIGN §6.2 and Prometheus metrics.
//
//	GET  /                              the page (Chinese by default; ?lang=en|zh, remembered in a cookie)
//	GET  /jobs/{id}                     one job: facts, the decision per receipt, previews
//	GET  /jobs/{id}/before.png          the job as received, drawn by agent/render
//	GET  /jobs/{id}/after.png           what was printed (Options.Printed), drawn the same way
//	GET  /fragment/jobs[/{id}]          the page's job list / one job's details, for its script
//	GET  /fragment/panels               the printers and server link panels, for its script
//	GET  /assets/...                    the page's stylesheet and script (embedded)
//	GET  /api/jobs                      jobs, newest first (?limit=N, default 200)
//	GET  /api/status                    printers, the server link, the version
//	GET  /api/csrf                      the CSRF token actions must carry
//	GET  /api/logs                      the log lines kept (Options.Logs)
//	GET  /api/logs/ws                   the live log tail (websocket)
//	POST /api/jobs/{id}/reprint         put a job back in its printer's queue (?confirm=1 for an incomplete job)
//	POST /api/jobs/{id}/demo-pay        play the customer paying (Options.DemoPay; printpay demo)
//	POST /api/printers/{name}/pause     pause a printer (Options.Pause); /resume resumes it
//	POST /api/printers/{name}/test      print a test page (Options.TestPrint)
//	GET  /metrics                       Prometheus text format, printpay_ names
//
// In the API, fields not known yet are null: the analysis fields until the
// job was analysed, qr until the job's QR outcome is final. For a job that was
// not analysed, reason carries the spool's note (why it is truncated, held or
// failed).
//
// # The page
//
// Jobs newest first with their intake and print state, amount, order
// number, QR outcome and why there was none; each opens to the rule
// decision per receipt and the before/after previews, rendered on the server
// (one at a time, bounded by render's caps and the first 4 MiB of a job;
// the last 64 kept). A preview that cannot be drawn shows why. Printers with
// their live state, the server link, and the live log tail. Everything the
// page loads comes from this server; the Content-Security-Policy says so
// to the browser. Every text is escaped: templates through html/template,
// log lines set as text by the script, and control characters in log lines
// written as \xNN by the hub.
//
// # Who may use it
//
// The server binds where [status] listen says (loopback by default). Serve
// refuses a non-loopback listener without a password (ErrExposed). Without a
// password only loopback peers are served, and only under a loopback host
// name (a DNS-rebinding page cannot reach it); with one, every request needs
// HTTP basic auth with that password. Every action (a method other than GET
// and HEAD) must come from the page's own origin (Origin or Sec-Fetch-Site)
// and carry the server's CSRF token in the X-Printpay-Csrf header; the log
// tail websocket keeps gorilla's same-origin check.
//
// # The log tail
//
// LogHub is an slog.Handler the agent tees its logger through: it passes
// every record on and keeps the last lines. Its Run goroutine fans new lines
// out to the page's websocket clients, each with a bounded queue; a client
// whose queue is full is dropped (the page reconnects), so a stalled browser
// tab never slows logging or printing.
//
// # Metrics
//
// Besides the intake and spool counters (kept as they were): printpay_jobs{qr} and
// printpay_receipts_qr{qr} (QR outcomes, "pending" while not final),
// printpay_jobs_paid, printpay_printed_bytes (over the jobs the spool holds),
// printpay_job_latency_seconds (a histogram: from Options.Latency when the
// agent feeds it, else ReceivedAt → Finished of the printed jobs the spool
// holds), printpay_printer_online{printer}, printpay_printer_state{printer,
// state} and printpay_spool_depth{printer}.
//
// # Tests
//
// The page is tested in headless Chromium (Debian chromium, driven over the
// DevTools protocol by internal/browser), against a server over a real spool
// and against a running agent; screenshots go to $PRINTPAY_ARTIFACTS when
// set (testdata/status holds a set).
package status
