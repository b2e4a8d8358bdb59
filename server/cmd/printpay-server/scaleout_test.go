package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/sandbox"
	"printpay.dev/printpay/server/store/storetest"
)

// TestScaleOutProcesses runs two `printpay-server serve` processes on one
// PostgreSQL schema and one NATS server. The agent is connected to node A;
// A's public_url names node B, so WeChat's notification for the order goes
// to B; the agent gets order.paid exactly once.
func TestScaleOutProcesses(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	natsURL := testenv.NATS(t)

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
	block, _ := os.ReadFile(filepath.Join(dir, "keys", sandbox.FileMerchantTOML))

	addrA, addrB := freeAddr(t), freeAddr(t)
	write := func(name, listen, public string) string {
		p := filepath.Join(dir, name)
		cfg := fmt.Sprintf("listen = %q\npublic_url = %q\ndatabase = %q\nnats = %q\n%s", listen, public, dsn, natsURL, block)
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfgA := write("a.toml", addrA, "http://"+addrB)
	cfgB := write("b.toml", addrB, "http://"+addrB)

	// Migrate and mint the code before the nodes start.
	if _, errs, code := run(t, "migrate", "--config", cfgB); code != 0 {
		t.Fatal(errs)
	}
	out, errs, code := run(t, "merchant", "code", "--config", cfgB, "--id", "sandbox")
	if code != 0 {
		t.Fatal(errs)
	}
	pairing := strings.TrimSpace(out)

	startChild(t, cfgA, addrA)
	startChild(t, cfgB, addrB)

	body, _ := json.Marshal(apiv1.EnrollRequest{Code: pairing, Hostname: "till"})
	resp, err := http.Post("http://"+addrB+"/v1/enroll", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var er apiv1.EnrollResponse
	json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if er.Token == "" {
		t.Fatalf("enroll: %d", resp.StatusCode)
	}
	d := websocket.Dialer{Subprotocols: []string{apiv1.Subprotocol}}
	ws, _, err := d.Dial("ws://"+addrA+"/v1/agent", http.Header{"Authorization": {"Bearer " + er.Token}})
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
	recv := func(wait time.Duration) (apiv1.Message, error) {
		ws.SetReadDeadline(time.Now().Add(wait))
		_, b, err := ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		return apiv1.Decode(b)
	}
	send(&apiv1.Hello{ID: "H", Protocol: 1, AgentVersion: "0.1.0"})
	if m, err := recv(10 * time.Second); err != nil || m.Type() != apiv1.TypeWelcome {
		t.Fatalf("welcome: %v %v", m, err)
	}
	send(&apiv1.QRRequest{ID: "Q", JobID: "J", AmountFen: 990, Currency: "CNY", OrderNo: "A7"})
	m, err := recv(10 * time.Second)
	r, ok := m.(*apiv1.QRResponse)
	if err != nil || !ok {
		t.Fatalf("qr: %v %v", m, err)
	}
	if _, err := sb.Pay(r.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	if err := sb.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	toB := false
	for _, dl := range sb.Deliveries() {
		toB = toB || (dl.Acked && strings.HasPrefix(dl.URL, "http://"+addrB+"/"))
	}
	if !toB {
		t.Fatalf("notification not acked by node B: %+v", sb.Deliveries())
	}
	m, err = recv(10 * time.Second)
	p, ok := m.(*apiv1.OrderPaid)
	if err != nil || !ok || p.OutTradeNo != r.OutTradeNo {
		t.Fatalf("order.paid: %v %v", m, err)
	}
	// Exactly once on this connection.
	if m, err := recv(500 * time.Millisecond); err == nil {
		t.Fatalf("second frame %v", m)
	}
}

// startChild runs `serve --config cfg` in a child process (this test binary
// again) and waits until it answers /healthz.
func startChild(t *testing.T, cfg, addr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PRINTPAY_HELPER_SERVE="+cfg)
	stdin, _ := cmd.StdinPipe()
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("node %s: %v\n%s", addr, err, logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not start:\n%s", addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
