package wechatpay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/wechatpay"
)

// TestCertificateRotation: WeChat lists a new platform certificate, then
// signs with it. A client that has not fetched it yet downloads the list
// when the new serial shows up, and accepts it because the list is signed by
// a certificate it carries; answers and notifications keep verifying.
func TestCertificateRotation(t *testing.T) {
	keys, _ := testKeys(t)
	e := newEnv(t, envOpts{mode: sandbox.ModeCertificate})
	ctx := context.Background()
	e.order(t, "Rotate001", 100, time.Time{})
	// A new certificate (the public key's pair stands in for its key).
	serial, err := e.sb.AddCertificate(keys.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.UseCertificate(serial); err != nil {
		t.Fatal(err)
	}
	// Within a minute of the last download an unknown serial does
	// not trigger another one: the answer is refused.
	if _, err := e.client.Query(ctx, "Rotate001"); !errors.Is(err, wechatpay.ErrBadResponse) {
		t.Fatalf("answer signed by an unfetched certificate: %v", err)
	}
	wechatpay.AgeCertificates(e.client, 2*time.Minute)
	if tx, err := e.client.Query(ctx, "Rotate001"); err != nil || tx.TradeState != wechatpay.StateNotPay {
		t.Fatalf("after rotation: %+v, %v", tx, err)
	}
	if _, err := e.sb.Pay("Rotate001"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e.store.paidCh, "Rotate001")
	for _, d := range e.sb.Deliveries() {
		if d.Header.Get("Wechatpay-Serial") != serial || !d.Acked {
			t.Fatalf("delivery %+v", d)
		}
	}
}

// TestCertificateListMustVerify: a certificate list whose answer is forged
// is refused, so nothing it carries is trusted.
func TestCertificateListMustVerify(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModeCertificate})
	e.sb.InjectFault(sandbox.Fault{Path: "/v3/certificates", Sign: sandbox.SignForged})
	if err := e.client.RefreshCertificates(context.Background()); !errors.Is(err, wechatpay.ErrBadResponse) {
		t.Fatalf("forged list: %v", err)
	}
	// A wrong APIv3 key cannot decrypt the list.
	cfg := e.cfg
	cfg.APIv3Key = []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
	if _, err := wechatpay.New(context.Background(), cfg, nil); !errors.Is(err, wechatpay.ErrBadResponse) {
		t.Fatalf("wrong apiv3 key: %v", err)
	}
}
