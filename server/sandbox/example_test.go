package sandbox_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/wechatpay"
)

// A server talks to the sandbox with its ordinary WeChat client: the client
// config names the sandbox, so requests for api.mch.weixin.qq.com go to it.
func Example() {
	sb, err := sandbox.New(sandbox.Config{
		Mode:          sandbox.ModePublicKey,
		RetrySchedule: sandbox.ScaledRetrySchedule(1000), // 15ms, 15ms, 30ms, ...
	})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sb.Serve(ctx, ln) }()
	defer func() { stop(); <-done }()

	// Test credentials, generated at run time.
	creds, err := sb.AddMerchant(sandbox.Merchant{})
	if err != nil {
		panic(err)
	}

	// The merchant's notify_url.
	paid := make(chan wechatpay.Transaction, 1)
	orders := &oneOrder{rec: wechatpay.OrderRecord{OutTradeNo: "Example0001", AmountFen: 15300}, paid: paid}
	var handler http.Handler
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer notify.Close()

	// creds.ClientConfig fills a wechatpay.Config; a real server reads the
	// same values from its config file and key files.
	cfg := creds.ClientConfig("demo", notify.URL+"/v1/wechatpay/notify/demo", ln.Addr().String())
	client, err := wechatpay.New(ctx, cfg, nil)
	if err != nil {
		panic(err)
	}
	handler = wechatpay.NewNotifyHandler(client, orders)

	code, err := client.CreateNative(ctx, wechatpay.Order{
		OutTradeNo: "Example0001", Description: "Shop-Till-1001", AmountFen: 15300,
		TimeExpire: time.Now().Add(15 * time.Minute),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(code[:28])

	// A customer pays (or: POST http://<sandbox>/sandbox/pay/Example0001).
	if _, err := sb.Pay("Example0001"); err != nil {
		panic(err)
	}
	t := <-paid
	fmt.Println(t.OutTradeNo, t.TradeState, t.AmountFen)
	// Output:
	// weixin://wxpay/bizpayurl?pr=
	// Example0001 SUCCESS 15300
}

type oneOrder struct {
	rec  wechatpay.OrderRecord
	paid chan wechatpay.Transaction
}

func (o *oneOrder) Lookup(_ context.Context, no string) (wechatpay.OrderRecord, error) {
	if no != o.rec.OutTradeNo {
		return wechatpay.OrderRecord{}, wechatpay.ErrOrderNotExist
	}
	return o.rec, nil
}

func (o *oneOrder) MarkPaid(_ context.Context, t wechatpay.Transaction) error {
	if !o.rec.Paid {
		o.rec.Paid = true
		o.paid <- t
	}
	return nil
}
