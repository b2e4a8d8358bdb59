// Package wechatpay is printpay-server's WeChat Pay API v3 client for Native
// (QR code) payments, built on the official SDK
// github.com/wechatpay-apiv3/wechatpay-go.
//
// One [Client] serves one merchant configuration, either a direct merchant
// (mode "direct": appid + mchid) or a service provider acting for a
// sub-merchant (mode "partner": sp_appid + sp_mchid + sub_mchid, optional
// sub_appid). It creates Native orders ([Client.CreateNative], which returns
// the code_url to print as a QR), queries, closes and refunds them.
//
// WeChat's answers and notifications are verified with the WeChat Pay public
// key (public-key mode), with the platform certificates downloaded from
// /v3/certificates (certificate mode), or with both while a merchant migrates
// from certificates to the public key: a [Config] with a public key and
// PlatformCerts set accepts either. Platform certificates are downloaded by
// the client itself (not the SDK's global downloader manager, so no
// background goroutine): at start, every 12 hours, and when a serial it does
// not know shows up (certificate rotation). A list is trusted only when its
// answer verifies with a key already trusted or with a certificate in the
// list, whose content the APIv3-key AEAD has authenticated.
//
// [NotifyHandler] is the http.Handler for the merchant's notify_url. It
// verifies the signature over the raw body, rejects the WECHATPAY/SIGNTEST/
// probe like any other bad signature, decrypts the AES-256-GCM resource,
// checks the amount and merchant ids against the order the server recorded
// ([Orders]), and records the payment at most once. [Poller] is the fallback
// WeChat asks for: it queries orders whose notification is late and closes
// expired ones.
//
// Errors are classified by HTTP status first, then by tolerant sets of codes
// (WeChat's documents spell them differently), into sentinels such as
// [ErrOrderPaid], [ErrOutTradeNoUsed] and [ErrUnavailable]. The client retries
// only the answers WeChat says are safe to retry with identical parameters
// (transport failures, 429, 5xx); every call it makes is idempotent.
//
// The real service is reached over HTTPS. When [Config.Sandbox] names a
// printpay sandbox (server/sandbox), and only then, requests for the WeChat
// API hosts are sent over plain HTTP to that address instead; the request
// signature does not cover the host, so everything else is unchanged.
//
// Private keys and the APIv3 key are never logged: [Config] implements
// slog.LogValuer and fmt.Stringer without them.
package wechatpay
