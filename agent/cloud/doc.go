// Package cloud is the agent's link to printpay-server: one websocket on
// GET /v1/agent speaking the protocol of DESIGN §4 (the frames of
// server/apiv1), plus enrollment over POST /v1/enroll.
//
// A Client keeps the link up while its Run runs:
//
//	dial (Authorization: Bearer <token>, subprotocol printpay.v1)
//	  -> hello -> welcome            Ready() turns true
//	  <- rules / order.paid           saved / handed to the caller, then acked
//	  -> qr.request, qr.cancel        answered by id (qr.response, ack, error)
//	  -> receipt.upload               from the on-disk queue, removed on ack
//	connection lost -> pending calls fail at once, reconnect with
//	exponential backoff and jitter (250 ms doubling to 30 s by default)
//	ctx done -> close frame, all goroutines ended, Run returns
//
// Each connection has exactly one reader and one writer goroutine; answers
// are matched to callers by the frame id, so an answer can reach only the
// caller whose id it carries. Frames are bounded by apiv1.MaxFrameBytes: a
// larger inbound frame ends the connection (the websocket read limit), a
// larger outbound one is refused before it is sent. Malformed and unknown
// frames are logged and, when they carry an id, answered with an error
// frame; the connection stays up. Keepalive: a ping every PingInterval and
// a read deadline of three times that, renewed by any frame or pong.
//
// QR never waits for a connection: when the link is not up (Ready is
// false) it fails at once with ErrNotConnected, and otherwise it honours
// its ctx, which carries the print worker's budget.
//
// State on disk, under Config.StateDir:
//
//	rules.json          {"version": ..., "rules": ...} — the merchant's rules,
//	                    written atomically, loaded by New, used offline
//	uploads/<ulid>.json one receipt.upload frame per file, fsynced before
//	                    Upload returns, removed only after the server's ack
//
// Uploads are shaped by Config.Upload before they reach the disk: "items"
// (the default) keeps items and totals, drops lines and masks phone-like
// numbers (mainland mobiles and landlines keep their first 3 and last 4
// digits: 138****5678); "full" keeps the lines as printed, cut to fit
// MaxFrameBytes; "off" keeps and sends nothing. The receipt carried by a
// qr.request is shaped the same way.
//
// The device token is sent only in the Authorization header and is never
// logged nor shown by Status. WriteToken writes the token file with
// owner-only permissions (0600) by an atomic rename. On Windows the mode
// bits do not restrict other users; an explicit ACL on the token file is
// left to a later change.
package cloud
