// Package config reads printpay-server's TOML configuration (DESIGN §6.3):
//
//	listen      = "127.0.0.1:9280"         # loopback unless told otherwise
//	public_url  = "https://pay.example.com" # base of the notify URLs WeChat calls
//	database    = "sqlite:/var/lib/printpay-server/printpay.db"  # or postgres://...
//	nats        = ""                        # "" = one node, in-process bus
//	sandbox     = ""                        # host:port of a printpay sandbox; only then are WeChat hosts redirected
//	time_expire = "15m"                     # how long an order's QR can be paid
//
//	[[merchant]]
//	id = "noodles"
//	name = "老王面馆"
//	mode = "direct"                         # or "partner" (sub_mchid)
//	appid = "wx..."; mchid = "1900000109"; serial = "5157F09E..."
//	private_key_file = "/etc/printpay-server/noodles/apiclient_key.pem"
//	apiv3_key_file = "/etc/printpay-server/noodles/apiv3.key"
//	wechatpay_public_key_file = "/etc/printpay-server/noodles/pub_key.pem"
//	wechatpay_public_key_id = "PUB_KEY_ID_..."
//	platform_certs = false
//	amount_cap_fen = 500000
//	timezone = "Asia/Shanghai"
//	business_day_starts = "04:00"
//
// Secrets live in files named by the config and are read by Merchant.Keys;
// neither Config nor Keys print them (both implement fmt.Stringer and
// slog.LogValuer without the key material). Errors name file:line.
package config
