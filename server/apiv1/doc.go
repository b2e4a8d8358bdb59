// Package apiv1 holds the wire types of the agent ↔ server protocol
// (DESIGN §4): the websocket frames exchanged on GET /v1/agent under the
// subprotocol "printpay.v1", the canonical receipt, and the enrollment
// request and response of POST /v1/enroll.
//
// Every frame is one JSON object with a "type". A frame that expects an
// answer carries an "id" (a ULID); the answer carries it back in "re".
// Unknown fields are ignored; an unknown type decodes to ErrUnknownType so
// the receiver can answer with an Error frame. Times are RFC 3339 with an
// offset, money is integer fen.
//
//	{"type":"qr.request","id":"01J…","job_id":"01J…","receipt_index":0,
//	 "printer":"front","amount_fen":15300,"currency":"CNY","order_no":"A1024",
//	 "receipt":{…}}
//	{"type":"qr.response","re":"01J…","out_trade_no":"Xq3…","code_url":"weixin://…",
//	 "expires_at":"2026-11-26T12:15:00+08:00","state":"open"}
//
// testdata/frames holds one example of every frame, as both sides put it on
// the wire; the tests here and in agent/cloud decode the same files.
//
// What the server expects of an agent (and printpay-server enforces):
//   - Connect with "Authorization: Bearer <token>" and the subprotocol;
//     401 means the token is unknown (enroll again), 503 try later.
//   - Send hello first, within 10 s; anything else before it is answered
//     with error bad_request, and a connection that stays silent is closed
//     with 1008 "no hello". After welcome, answer pings (any websocket
//     library does); a connection silent for more than two ping intervals
//     is dropped.
//   - Retry a qr.request that got a retryable error (unavailable,
//     wechat_error with retryable, rate_limited) with the same job_id and
//     receipt_index: the answer is the same order. A new id per attempt is
//     fine; re always echoes the attempt's id.
//   - Ack every order.paid and rules frame by its id. An order.paid not
//     acked comes again on the next connection (never twice on one).
//   - Frames are text, at most MaxFrameBytes; a larger one closes the
//     connection with 1009. About 50 frames a second per device are
//     allowed (bursts of 100); more get error rate_limited.
//   - QRResponse may carry amount_fen (set with state "paid"); agents that
//     print the paid line can use it.
//
// The package uses only the standard library so that the agent can import
// it without pulling in anything of the server.
package apiv1
