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
// The package uses only the standard library so that the agent can import
// it without pulling in anything of the server.
package apiv1
