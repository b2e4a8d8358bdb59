package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/sandbox"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), stdio{strings.NewReader(""), &out, &errb}, args)
	return out.String(), errb.String(), code
}

// TestServeEndToEnd runs `printpay-server serve` with a config written from
// sandbox credentials, mints a pairing code with `merchant code`, enrolls
// and pays one order, and then checks that no secret reached the logs.
func TestServeEndToEnd(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{RetrySchedule: []time.Duration{50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan struct{})
	go func() { defer close(sdone); sb.Serve(sctx, sln) }()
	defer func() { scancel(); <-sdone }()

	cr, err := sb.AddMerchant(sandbox.Merchant{MchID: "1900000109", AppID: "wx1900000109"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cr.WriteFiles(filepath.Join(dir, "keys"), sln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	block, err := os.ReadFile(filepath.Join(dir, "keys", sandbox.FileMerchantTOML))
	if err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	cfgPath := filepath.Join(dir, "server.toml")
	cfg := "listen = \"" + listen + "\"\ndatabase = \"sqlite:" + filepath.Join(dir, "pp.db") + "\"\n" + string(block)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	if out, errs, code := run(t, "migrate", "--config", cfgPath); code != 0 || !strings.Contains(out, "schema version 1") {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	out, errs, code := run(t, "merchant", "code", "--config", cfgPath, "--id", "sandbox")
	pairing := strings.TrimSpace(out)
	if code != 0 || len(pairing) != 10 {
		t.Fatalf("merchant code: %d %q %s", code, out, errs)
	}

	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- dispatch(ctx, stdio{strings.NewReader(""), logs, logs}, []string{"serve", "--config", cfgPath})
	}()
	base := "http://" + listen
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not come up:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	body, _ := json.Marshal(apiv1.EnrollRequest{Code: pairing, AgentVersion: "0.1.0", Hostname: "till"})
	resp, err := http.Post(base+"/v1/enroll", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var er apiv1.EnrollResponse
	json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if er.Token == "" || er.ServerURL != "ws://"+listen+"/v1/agent" {
		t.Fatalf("enroll: %d %+v", resp.StatusCode, er)
	}
	d := websocket.Dialer{Subprotocols: []string{apiv1.Subprotocol}}
	ws, _, err := d.Dial(er.ServerURL, http.Header{"Authorization": {"Bearer " + er.Token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	send := func(m apiv1.Message) {
		b, _ := apiv1.Encode(m)
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() apiv1.Message {
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := apiv1.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	send(&apiv1.Hello{ID: "H", AgentVersion: "0.1.0", Protocol: 1})
	if w, ok := recv().(*apiv1.Welcome); !ok || w.MerchantName != "Sandbox shop" {
		t.Fatalf("welcome %+v", w)
	}
	send(&apiv1.QRRequest{ID: "Q", JobID: "J", Printer: "front", AmountFen: 1234, Currency: "CNY", OrderNo: "A1"})
	r, ok := recv().(*apiv1.QRResponse)
	if !ok || r.State != "open" {
		t.Fatalf("qr: %+v", r)
	}
	if _, err := sb.Pay(r.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	p, ok := recv().(*apiv1.OrderPaid)
	if !ok || p.OutTradeNo != r.OutTradeNo {
		t.Fatalf("order.paid: %+v", p)
	}
	send(&apiv1.Ack{Re: p.ID})
	ws.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}

	// No secret in the logs: not the APIv3 key, not the private key (PEM
	// or DER), not the device token, not the pairing code.
	der, _ := x509.MarshalPKCS8PrivateKey(cr.PrivateKey)
	privPEM, _ := os.ReadFile(filepath.Join(dir, "keys", sandbox.FilePrivateKey))
	secrets := map[string]string{
		"apiv3 key":       cr.APIv3Key,
		"private key pem": strings.Split(string(privPEM), "\n")[1],
		"private key der": base64.StdEncoding.EncodeToString(der)[40:80],
		"private key D":   cr.PrivateKey.D.String()[:40],
		"device token":    er.Token,
		"pairing code":    pairing,
	}
	l := logs.String()
	if !strings.Contains(l, "merchant ready") || !strings.Contains(l, "order paid") {
		t.Fatalf("logs look empty:\n%s", l)
	}
	for name, sec := range secrets {
		if sec != "" && strings.Contains(l, sec) {
			t.Errorf("%s found in the logs", name)
		}
	}
}

func TestServeNoConfig(t *testing.T) {
	dir := t.TempDir()
	// A config that only moves the listener; no merchants.
	cfgPath := filepath.Join(dir, "s.toml")
	listen := freeAddr(t)
	os.WriteFile(cfgPath, []byte("listen = \""+listen+"\"\n"), 0o600)
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- dispatch(ctx, stdio{strings.NewReader(""), logs, logs}, []string{"serve", "--config", cfgPath, "--data-dir", dir})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "listening") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "printpay-server merchant add") {
		t.Fatalf("no hint how to add a merchant:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "printpay-server.db")); err != nil {
		t.Fatalf("default database: %v", err)
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("listen = \"127.0.0.1:1\"\nlisen = 2\n"), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"config error has file:line", []string{"serve", "--config", bad}, 1, bad + ":2: unknown key \"lisen\""},
		{"merchant without subcommand", []string{"merchant"}, 2, "usage: printpay-server merchant add|code"},
		{"merchant add needs id", []string{"merchant", "add", "--data-dir", dir}, 2, "--id and --name are required"},
		{"merchant add checks key files", []string{"merchant", "add", "--data-dir", dir, "--id", "m", "--name", "M",
			"--private-key-file", filepath.Join(dir, "nope.pem"), "--apiv3-key-file", filepath.Join(dir, "nope")}, 1, "private_key_file"},
		{"code for unknown merchant", []string{"merchant", "code", "--data-dir", dir, "--id", "ghost"}, 1, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, code := run(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
		})
	}
}

// TestMerchantAdd stores a merchant from the command line; serve wires it.
func TestMerchantAdd(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := sb.AddMerchant(sandbox.Merchant{MchID: "1900000200", AppID: "wx1900000200"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kd := filepath.Join(dir, "keys")
	if err := cr.WriteFiles(kd, ""); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, "merchant", "add", "--data-dir", dir, "--id", "noodles", "--name", "老王面馆",
		"--appid", cr.AppID, "--mchid", cr.MchID, "--serial", cr.Serial,
		"--private-key-file", filepath.Join(kd, sandbox.FilePrivateKey), "--apiv3-key-file", filepath.Join(kd, sandbox.FileAPIv3Key),
		"--wechatpay-public-key-file", filepath.Join(kd, sandbox.FilePublicKey), "--wechatpay-public-key-id", cr.PublicKeyID)
	if code != 0 || !strings.Contains(out, "merchant noodles") {
		t.Fatalf("add: %d %s %s", code, out, errs)
	}
	out, errs, code = run(t, "merchant", "code", "--data-dir", dir, "--id", "noodles")
	if code != 0 || len(strings.TrimSpace(out)) != 10 || !strings.Contains(errs, "single use") {
		t.Fatalf("code: %d %q %s", code, out, errs)
	}
}
