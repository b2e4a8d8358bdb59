package wechatpay_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/wechatpay"
)

// TestAnswerFaults: WeChat answering 500/429 is retried (the same request,
// which is idempotent); answers signed wrongly on purpose are refused by the
// SDK's verification.
func TestAnswerFaults(t *testing.T) {
	native := "/v3/pay/transactions/native"
	cases := []struct {
		name   string
		mode   sandbox.Mode
		faults []sandbox.Fault
		want   error // nil: succeeds after retries
	}{
		{"500 twice then ok", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Times: 2, Status: 500, Code: "SYSTEM_ERROR", Message: "系统繁忙"}}, nil},
		{"429 once then ok", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Status: 429, Code: "FREQUENCY_LIMITED", Message: "频率超限"}}, nil},
		{"429 beyond the retries", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Times: 3, Status: 429, Code: "FREQUENCY_LIMITED"}}, wechatpay.ErrRateLimited},
		{"503 beyond the retries", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Times: 3, Status: 503, Code: "SERVICE_UNAVAILABLE"}}, wechatpay.ErrUnavailable},
		{"403 business rule not retried", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Status: 403, Code: "RULE_LIMIT"}}, wechatpay.ErrRejected},
		{"HTML 502 then ok", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Status: 502, Body: "<html>Bad Gateway</html>"}}, nil},
		{"garbage 200", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Status: 200, Body: "<html>ok</html>"}}, wechatpay.ErrBadResponse},
		{"200 without code_url", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Status: 200, Body: `{"prepay_id":"x"}`}}, wechatpay.ErrBadResponse},
		{"garbage 400", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Status: 400, Body: "nonsense"}}, wechatpay.ErrInvalidRequest},
		{"forged answer", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Sign: sandbox.SignForged}}, wechatpay.ErrBadResponse},
		{"probe answer", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Sign: sandbox.SignProbe}}, wechatpay.ErrBadResponse},
		{"unsigned answer", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Sign: sandbox.SignNone}}, wechatpay.ErrBadResponse},
		{"skewed answer", sandbox.ModePublicKey, []sandbox.Fault{{Path: native, Skew: -6 * time.Minute}}, wechatpay.ErrBadResponse},
		{"forged answer, certificate", sandbox.ModeCertificate, []sandbox.Fault{{Path: native, Sign: sandbox.SignForged}}, wechatpay.ErrBadResponse},
		{"skewed answer, migrating", sandbox.ModeMigrating, []sandbox.Fault{{Path: native, Skew: 6 * time.Minute}}, wechatpay.ErrBadResponse},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: c.mode})
			for _, f := range c.faults {
				e.sb.InjectFault(f)
			}
			code, err := e.client.CreateNative(context.Background(), wechatpay.Order{OutTradeNo: "Fault0001", Description: "d", AmountFen: 1})
			if c.want == nil {
				if err != nil || code == "" {
					t.Fatalf("got %q, %v", code, err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if wechatpay.Retryable(err) != (c.want == wechatpay.ErrRateLimited || c.want == wechatpay.ErrUnavailable) {
				t.Errorf("Retryable(%v) wrong", err)
			}
		})
	}
}

// TestSandboxRefusesBadRequests: the sandbox is strict about the merchant's
// signature: the wrong key, the wrong serial, or a clock out of the window
// are all 401 SIGN_ERROR.
func TestSandboxRefusesBadRequests(t *testing.T) {
	keys, _ := testKeys(t)
	cases := []struct {
		name   string
		change func(e *env, c *wechatpay.Config)
	}{
		{"wrong key", func(_ *env, c *wechatpay.Config) { c.PrivateKey = keys.CertKey }},
		{"wrong serial", func(_ *env, c *wechatpay.Config) { c.Serial = strings.Repeat("AB", 20) }},
		{"wrong mchid", func(_ *env, c *wechatpay.Config) { c.MchID = "1234567890" }},
		{"clock ahead", func(e *env, _ *wechatpay.Config) { e.sb.SetClockSkew(-6 * time.Minute) }},
		{"clock behind", func(e *env, _ *wechatpay.Config) { e.sb.SetClockSkew(6 * time.Minute) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
			cfg := e.cfg
			c.change(e, &cfg)
			client, err := wechatpay.New(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.CreateNative(context.Background(), wechatpay.Order{OutTradeNo: "Strict001", Description: "d", AmountFen: 1})
			var ae *wechatpay.APIError
			if !errors.Is(err, wechatpay.ErrUnauthorized) || !errors.As(err, &ae) || ae.Code != "SIGN_ERROR" {
				t.Fatalf("got %v, want 401 SIGN_ERROR", err)
			}
		})
	}
}

// TestWrongVerificationKey: a client that holds a different public key id
// than the sandbox (a merchant with a stale config) is refused by the
// sandbox (unknown Wechatpay-Serial) rather than trusting anything.
func TestWrongVerificationKey(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
	cfg := e.cfg
	cfg.PublicKeyID = "PUB_KEY_ID_0000000000000000000000000000000000"
	client, err := wechatpay.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateNative(context.Background(), wechatpay.Order{OutTradeNo: "WrongPub1", Description: "d", AmountFen: 1}); !errors.Is(err, wechatpay.ErrInvalidRequest) {
		t.Fatalf("got %v, want 400 INVALID_REQUEST", err)
	}
	// Certificate mode with a public key the sandbox does not use: the
	// client asks for the public key, the sandbox has none to sign with.
	e2 := newEnv(t, envOpts{mode: sandbox.ModeCertificate})
	cfg2 := e2.cfg
	cfg2.PublicKey, cfg2.PublicKeyID = e.creds.PublicKey, e.creds.PublicKeyID
	client2, err := wechatpay.New(context.Background(), cfg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client2.Query(context.Background(), "WrongPub2"); !errors.Is(err, wechatpay.ErrInvalidRequest) {
		t.Fatalf("got %v, want 400 INVALID_REQUEST", err)
	}
}

// TestPublicKeyModeHasNoCertificates: a client configured for platform
// certificates fails to start against a public-key-only merchant.
func TestPublicKeyModeHasNoCertificates(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
	cfg := e.cfg
	cfg.PlatformCerts = true
	if _, err := wechatpay.New(context.Background(), cfg, nil); !errors.Is(err, wechatpay.ErrOrderNotExist) {
		t.Fatalf("got %v, want a 404 from /v3/certificates", err)
	}
}

func TestConfigValidate(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
	cases := []struct {
		name   string
		change func(c *wechatpay.Config)
		want   string
	}{
		{"ok", func(*wechatpay.Config) {}, ""},
		{"short apiv3 key", func(c *wechatpay.Config) { c.APIv3Key = []byte("short") }, "apiv3 key must be 32 bytes"},
		{"no verifier", func(c *wechatpay.Config) { c.PublicKey, c.PublicKeyID = nil, "" }, "no way to verify WeChat"},
		{"bad key id", func(c *wechatpay.Config) { c.PublicKeyID = "KEY1" }, "PUB_KEY_ID_"},
		{"partner without sub", func(c *wechatpay.Config) { c.Mode = wechatpay.ModePartner }, "sub_mchid"},
		{"direct with sub", func(c *wechatpay.Config) { c.SubMchID = "123" }, "direct mode"},
		{"query in notify url", func(c *wechatpay.Config) { c.NotifyURL += "?a=1" }, "query string"},
		{"http notify url without sandbox", func(c *wechatpay.Config) { c.Sandbox = "" }, "https"},
		{"bad mode", func(c *wechatpay.Config) { c.Mode = "proxy" }, "not direct or partner"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := e.cfg
			c.change(&cfg)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestSecretsNotPrinted: the config's string forms leave the keys out.
func TestSecretsNotPrinted(t *testing.T) {
	e := newEnv(t, envOpts{mode: sandbox.ModePublicKey})
	for _, s := range []string{e.cfg.String(), e.cfg.GoString(), e.cfg.LogValue().String()} {
		if strings.Contains(s, string(e.cfg.APIv3Key)) || strings.Contains(s, e.cfg.PrivateKey.N.String()[:20]) {
			t.Fatalf("secret in %q", s)
		}
	}
}
