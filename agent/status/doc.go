// Package status is the agent's local HTTP server: the JSON API of DESIGN
// §6.2, Prometheus metrics and (later) the status page.
//
//	GET  /api/jobs                 jobs, newest first (?limit=N, default 200)
//	GET  /api/status               printers, the server link, the version
//	POST /api/jobs/{id}/reprint    put a job back in its printer's queue
//	GET  /metrics                  Prometheus text format, printpay_ names
//	GET  /                         a minimal page
//
// Fields not known yet are null: the analysis fields until the job was
// analysed, qr until the job's QR outcome is final. For a job that was not
// analysed, reason carries the spool's note (why it is truncated, held or
// failed). The server binds where [status] listen says (loopback by
// default); with a password file every request needs HTTP basic auth with
// that password. POST requests from another origin are refused.
package status
