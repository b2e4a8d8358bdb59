// Package sandbox is a protocol-faithful WeChat Pay API v3 emulator for
// Native payments, strict enough that the official Go SDK's own checks
// reject whatever the real service would make them reject
// (wechatpay-v3.md §11, DESIGN §3).
//
// One plain-HTTP handler ([Sandbox.Handler]; no TLS, loopback) serves:
//
//	POST /v3/pay/transactions/native                                  Native order (direct)
//	POST /v3/pay/partner/transactions/native                          Native order (service provider: sp_appid, sp_mchid, sub_mchid, sub_appid?)
//	GET  /v3/pay/transactions/out-trade-no/{no}?mchid=                query (also .../id/{transaction_id})
//	GET  /v3/pay/partner/transactions/out-trade-no/{no}?sp_mchid=&sub_mchid=
//	POST /v3/pay/transactions/out-trade-no/{no}/close                 {"mchid"}            -> 204
//	POST /v3/pay/partner/transactions/out-trade-no/{no}/close         {"sp_mchid","sub_mchid"} -> 204
//	POST /v3/refund/domestic/refunds, GET /v3/refund/domestic/refunds/{out_refund_no}
//	GET  /v3/certificates                                              certificate and migrating modes
//	POST /sandbox/pay/{out_trade_no}                                   play a customer paying (no body or headers)
//	GET  /sandbox/orders                                               the orders, as JSON
//
// Inbound, every /v3 request must carry a valid WECHATPAY2-SHA256-RSA2048
// Authorization from a registered merchant: the five fields, the merchant's
// mchid and certificate serial, a timestamp within ±5 minutes of the sandbox
// clock, a nonce not reused within 10 minutes, and a signature over the raw
// request-target and body; anything else is 401 SIGN_ERROR. A
// Wechatpay-Serial naming a key the mode lacks is 400 INVALID_REQUEST, and
// POSTs must be application/json. Fields follow wechatpay-v3.md §7 (400
// PARAM_ERROR with detail.field as a JSON pointer; APPID_MCHID_NOT_MATCH).
// Orders are idempotent: the same out_trade_no with identical parameters
// returns the same code_url, different ones 403 OUT_TRADE_NO_USED, a paid
// order 403 ORDERPAID, a closed one 400 ORDER_CLOSED, an unknown one 404
// ORDER_NOT_EXIST. The sandbox also refuses a time_expire written in UTC
// ("Z"): the documents ask for +08:00.
//
// Outbound, every answer (errors and 204s included) is signed over
// TIMESTAMP\nNONCE\nBODY\n with the WeChat Pay public key ([ModePublicKey]),
// the platform certificate ([ModeCertificate]) or, while a merchant migrates
// ([ModeMigrating]), the key the request's Wechatpay-Serial names.
// Notifications are AES-256-GCM encrypted with the merchant's APIv3 key and
// signed likewise (a random mix of both keys when migrating), retried on
// WeChat's schedule ([RealRetrySchedule], or a shorter one in
// Config.RetrySchedule) until answered 200 or 204.
//
// Test hooks: [Sandbox.Pay], [Sandbox.InjectFault] (500s, 429s, forged,
// probe or skewed answer signatures), [Sandbox.PlanNotify] (the
// WECHATPAY/SIGNTEST/ probe, forged, skewed, dropped or duplicated
// notifications, a wrong APIv3 key), [Sandbox.SetClockSkew],
// [Sandbox.Deliveries], [Sandbox.Flush], and certificate rotation.
//
// Merchants and their credentials are made at run time by
// [Sandbox.AddMerchant]: the merchant RSA key and serial, the APIv3 key,
// the WeChat Pay public key with its PUB_KEY_ID_, and the platform
// certificate; [Credentials.WriteFiles] puts them in files a server config
// can point at.
//
// Known guesses (as in wechatpay-v3.md §11): the exact codes for closing a
// paid order (403 ORDERPAID) and for refunds of unpaid orders, a query after
// time_expire (still NOTPAY), and /v3/certificates in public-key mode (404).
//
// Certificate rotation: [Sandbox.AddCertificate] lists a new platform
// certificate without using it, [Sandbox.UseCertificate] switches to it;
// both stay listed.
package sandbox
