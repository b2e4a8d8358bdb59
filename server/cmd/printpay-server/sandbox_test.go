package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"printpay.dev/printpay/server/config"
	"printpay.dev/printpay/server/wechatpay"
)

// sandboxOut is a goroutine-safe buffer for the command's output.
type sandboxOut struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *sandboxOut) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *sandboxOut) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestSandboxCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut sandboxOut
	done := make(chan int, 1)
	go func() {
		done <- dispatch(ctx, stdio{strings.NewReader(""), &out, &errOut},
			[]string{"sandbox", "--listen", "127.0.0.1:0", "--out", dir, "--mode", "migrating", "--partner"})
	}()
	re := regexp.MustCompile(`(?m)^sandbox: (http://127\.0\.0\.1:\d+)$`)
	var url string
	deadline := time.Now().Add(20 * time.Second)
	for url == "" {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "pay: ") {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("exited %d early: %s %s", code, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address printed: %q", out.String())
		}
	}
	for _, want := range []string{"mode: migrating", "credentials: " + dir, "merchant: partner", "sub_mchid="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, f := range []string{"apiclient_key.pem", "apiv3_key.txt", "pub_key.pem", "pub_key_id.txt", "platform_cert.pem", "merchant.toml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("credential file: %v", err)
		}
	}
	toml, _ := os.ReadFile(filepath.Join(dir, "merchant.toml"))
	if !strings.Contains(string(toml), `sandbox = "`+strings.TrimPrefix(url, "http://")+`"`) || !strings.Contains(string(toml), `mode = "partner"`) {
		t.Errorf("merchant.toml:\n%s", toml)
	}
	// The written merchant.toml is a server config: it loads, and its keys
	// order through the official SDK against this sandbox.
	cfg, err := config.Load(filepath.Join(dir, "merchant.toml"))
	if err != nil || len(cfg.Merchants) != 1 || cfg.Sandbox != strings.TrimPrefix(url, "http://") {
		t.Fatalf("load merchant.toml: %+v, %v", cfg, err)
	}
	m := cfg.Merchants[0]
	keys, err := m.Keys()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := wechatpay.ParsePrivateKey(keys.PrivateKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := wechatpay.ParsePublicKey(keys.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	client, err := wechatpay.New(ctx, wechatpay.Config{ID: m.ID, Mode: wechatpay.Mode(m.Mode), AppID: m.AppID, MchID: m.MchID,
		SubMchID: m.SubMchID, SubAppID: m.SubAppID, Serial: m.Serial, PrivateKey: priv, APIv3Key: keys.APIv3Key,
		PublicKey: pub, PublicKeyID: m.PublicKeyID, PlatformCerts: m.PlatformCerts,
		NotifyURL: "http://127.0.0.1:9/notify", Sandbox: cfg.Sandbox}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := client.CreateNative(ctx, wechatpay.Order{OutTradeNo: "CmdOrder01", Description: "Sandbox shop", AmountFen: 1}); err != nil || code == "" {
		t.Fatalf("order with the written credentials: %q, %v", code, err)
	}
	// The pay hook answers without a body or headers.
	resp, err := http.Post(url+"/sandbox/pay/NoSuchOrder1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("pay unknown order: %d", resp.StatusCode)
	}
	// An unsigned API call is refused.
	resp, err = http.Get(url + "/v3/certificates")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Wechatpay-Signature") == "" {
		t.Fatalf("unsigned call: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

func TestSandboxCommandRefusesRemote(t *testing.T) {
	for _, args := range [][]string{
		{"sandbox", "--listen", "0.0.0.0:0"},
		{"sandbox", "--mode", "bogus"},
		{"sandbox", "extra"},
	} {
		var out, errOut sandboxOut
		if code := dispatch(context.Background(), stdio{strings.NewReader(""), &out, &errOut}, args); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9290": true, "[::1]:80": true, "localhost:1": true,
		"0.0.0.0:9290": false, ":9290": false, "192.168.1.2:1": false, "nonsense": false,
	} {
		if got := loopbackAddr(addr); got != want {
			t.Errorf("loopbackAddr(%q) = %t", addr, got)
		}
	}
}
