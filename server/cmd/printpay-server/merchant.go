package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"printpay.dev/printpay/server/config"
)

func cmdMerchant(ctx context.Context, s stdio, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(s.err, "usage: printpay-server merchant add|code [flags]")
		return 2
	}
	switch args[0] {
	case "add":
		return merchantAdd(ctx, s, args[1:])
	case "code":
		return merchantCode(ctx, s, args[1:])
	}
	fmt.Fprintf(s.err, "printpay-server merchant: unknown subcommand %q (add, code)\n", args[0])
	return 2
}

// merchantAdd stores a merchant after checking that its key files load.
func merchantAdd(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("merchant add", flag.ContinueOnError)
	fs.SetOutput(s.err)
	var f serverFlags
	f.register(fs)
	var m config.Merchant
	fs.StringVar(&m.ID, "id", "", "merchant id (1-32 of a-z 0-9 _ -)")
	fs.StringVar(&m.Name, "name", "", "shop name (shown on the payer's bill)")
	fs.StringVar(&m.Mode, "mode", "direct", "direct | partner")
	fs.StringVar(&m.AppID, "appid", "", "appid (sp_appid in partner mode)")
	fs.StringVar(&m.MchID, "mchid", "", "mchid (sp_mchid in partner mode)")
	fs.StringVar(&m.SubMchID, "sub-mchid", "", "partner mode: the sub-merchant")
	fs.StringVar(&m.SubAppID, "sub-appid", "", "partner mode: optional sub_appid")
	fs.StringVar(&m.Serial, "serial", "", "merchant API certificate serial")
	fs.StringVar(&m.PrivateKeyFile, "private-key-file", "", "apiclient_key.pem")
	fs.StringVar(&m.APIv3KeyFile, "apiv3-key-file", "", "file holding the 32-byte APIv3 key")
	fs.StringVar(&m.PublicKeyFile, "wechatpay-public-key-file", "", "pub_key.pem")
	fs.StringVar(&m.PublicKeyID, "wechatpay-public-key-id", "", "PUB_KEY_ID_...")
	fs.BoolVar(&m.PlatformCerts, "platform-certs", false, "verify with platform certificates too")
	fs.Int64Var(&m.AmountCapFen, "amount-cap-fen", config.DefaultAmountCapFen, "largest order in fen")
	fs.StringVar(&m.Timezone, "timezone", "Asia/Shanghai", "the shop's time zone")
	fs.StringVar(&m.BusinessDayStarts, "business-day-starts", "04:00", "when the business day starts (HH:MM)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if m.ID == "" || m.Name == "" {
		fmt.Fprintln(s.err, "printpay-server merchant add: --id and --name are required")
		return 2
	}
	cfg, err := f.load()
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server merchant add:", err)
		return 1
	}
	if _, err := wechatConfig(m, cfg.Sandbox); err != nil {
		fmt.Fprintln(s.err, "printpay-server merchant add:", err)
		return 1
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server merchant add:", err)
		return 1
	}
	defer st.Close()
	if _, err := st.PutMerchant(ctx, storeMerchant(m)); err != nil {
		fmt.Fprintln(s.err, "printpay-server merchant add:", err)
		return 1
	}
	fmt.Fprintf(s.out, "merchant %s (%s) saved; mint a pairing code with: printpay-server merchant code --id %s\n", m.ID, m.Name, m.ID)
	return 0
}

// merchantCode mints a pairing code and prints it.
func merchantCode(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("merchant code", flag.ContinueOnError)
	fs.SetOutput(s.err)
	var f serverFlags
	f.register(fs)
	id := fs.String("id", "", "merchant id")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *id == "" {
		fmt.Fprintln(s.err, "printpay-server merchant code: --id is required")
		return 2
	}
	cfg, err := f.load()
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server merchant code:", err)
		return 1
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server merchant code:", err)
		return 1
	}
	defer st.Close()
	// Merchants of the config file may not be in the database yet.
	for _, m := range cfg.Merchants {
		if m.ID == *id {
			if _, err := st.PutMerchant(ctx, storeMerchant(m)); err != nil {
				fmt.Fprintln(s.err, "printpay-server merchant code:", err)
				return 1
			}
		}
	}
	code, expires, err := st.NewPairingCode(ctx, *id)
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server merchant code:", err)
		return 1
	}
	fmt.Fprintln(s.out, code)
	fmt.Fprintf(s.err, "single use, valid until %s; on the till: printpay enroll --server URL --code %s\n",
		expires.Local().Format(time.RFC3339), code)
	return 0
}
