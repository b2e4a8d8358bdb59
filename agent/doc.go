// Package agent wires the agent together: Run opens the spool, starts the
// raw and LPD listeners, the status server, the server link and one
// printing function per printer, and owns all of their goroutines until its
// context ends.
//
// The printing side is a seam: Options.Print is called once per configured
// printer with that printer's spool queue, configuration and status cache,
// and runs until its context is done. Run uses Workers: the printer's
// driver (drivers/all) opened with its profile, and an agent/worker on its
// queue. RunWith without a Print leaves jobs spooled as pending. The status
// cache handed to Print is the one the raw listener answers the POS from,
// so the driver, opened with drivers.Config.Cache set to it, keeps both
// current.
//
// # The server link
//
// With [server] url = ws:// or wss:// and a token file (printpay enroll),
// Run starts an agent/cloud client (its rules and upload queue in a
// "cloud" folder beside the spool folder) and joins it to the workers:
//
//   - QR source: every worker asks the server for a receipt's order
//     (qr.request with printer, job_id, receipt_index, amount, order_no and
//     the canonical receipt); state "paid" prints the paid line. When the
//     link is down the worker does not wait at all. Without a token file
//     Run logs "not enrolled" once and prints without QR.
//   - Rules: each job is read with the merchant's rules (from the server,
//     merged over the defaults, kept on disk and used offline) in force
//     when its analysis starts; a push switches atomically.
//   - Paid loop: order.paid marks every job that printed the order paid
//     (GET /api/jobs "paid": true) and performs paid_notice (slip, beep or
//     off) on the printer that printed it last. An order.paid for an order
//     this agent does not know is logged and acked; one that comes before
//     its job was recorded is applied when it is.
//   - Uploads: when a job has printed, each of its receipts is queued for
//     the server's ledger (durable, before the job is marked done).
//   - qr.cancel: a later receipt of the same POS order_no that the rules
//     find paid another way (a tender or paid line) cancels the open order
//     an earlier receipt got.
//   - A QR that came after qr_budget ("late") is logged; the customer
//     display that would show it is a server-side feature.
//
// The link sees results through a decorator of the worker's queue (Record,
// Finish), and keeps its indexes (out_trade_no → jobs, order_no → open
// order) bounded in memory.
//
// The status server gets the link's state (/api/status "server"), the log
// tail, the "after" preview, the pause and test-page buttons and, in
// printpay demo, the button that plays the customer paying.
package agent
