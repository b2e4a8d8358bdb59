// Package api is printpay-server's HTTP side:
//
//	GET  /v1/agent                          the agents' websocket (DESIGN §4)
//	POST /v1/enroll                         pairing code -> device token
//	POST /v1/wechatpay/notify/{merchant}    WeChat Pay notifications
//	GET  /healthz                           200 when the database answers
//	GET  /metrics                           Prometheus text, printpay_server_*
//
// The agent websocket speaks apiv1 frames under the subprotocol
// "printpay.v1" with "Authorization: Bearer <device token>". Each
// connection has one reader and one writer goroutine; requests that wait
// on WeChat (qr.request, qr.cancel) run in a few handler goroutines per
// connection, so one slow order never holds up the rest. A connection whose
// send buffer fills is dropped, not waited for.
//
// Orders follow DESIGN §3.1: the server mints out_trade_no; a qr.request
// is idempotent by (device, job_id, receipt_index); a reprint of the same
// bill (device, order_no, amount, business day) reuses its open order or
// answers state "paid"; the same bill with another amount gets a new order
// and the old one is queried and closed.
//
// order.paid is kept in the store until the agent acks it. A payment
// recorded on any node is announced on the bus; the node holding the
// device's websocket sends each waiting delivery once per connection, and
// again on the next connection until it is acked.
//
// WeChat Pay is reached through PaymentClient, which *wechatpay.Client
// implements; tests use the sandbox (server/sandbox) behind the real
// client, and a small in-package fake for the protocol corner cases.
package api
