//go:build linux

package api_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/server/api"
	"printpay.dev/printpay/server/apiv1"
	"printpay.dev/printpay/server/store"
)

// TestIdleConnections opens PRINTPAY_IDLE_CONNS idle agent websockets
// (hello said) to one node running in a child process and reports the
// node's RSS per connection. It is off by default: 20 000 connections take
// a while and need a file limit above them in both processes (with a hard
// limit of 20 000, ask for 19 900).
//
//	PRINTPAY_IDLE_CONNS=19900 go test -run TestIdleConnections -v -timeout 30m ./server/api/
//
// Clients are spread over 127.0.0.2–127.0.0.41 so that no source address
// runs out of ephemeral ports.
func TestIdleConnections(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PRINTPAY_IDLE_CONNS"))
	if n <= 0 {
		t.Skip("set PRINTPAY_IDLE_CONNS=N to open N idle websockets (e.g. 20000)")
	}
	raiseFileLimit(t, uint64(n)+64)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PRINTPAY_HELPER_NODE="+dir, "PRINTPAY_HELPER_DEVICES="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	var addr string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatal("helper node did not start")
	}
	tokens, err := os.ReadFile(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Fields(string(tokens))
	rss0 := vmRSS(t, cmd.Process.Pid)
	start := time.Now()
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i, tok := range list {
		local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%40))}
		d := websocket.Dialer{Subprotocols: []string{apiv1.Subprotocol}, HandshakeTimeout: 30 * time.Second,
			NetDialContext: (&net.Dialer{LocalAddr: local}).DialContext, ReadBufferSize: 512, WriteBufferSize: 512}
		c, _, err := d.Dial("ws://"+addr+"/v1/agent", http.Header{"Authorization": {"Bearer " + tok}})
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		b, _ := apiv1.Encode(&apiv1.Hello{ID: "H", Protocol: 1, AgentVersion: "bench"})
		c.WriteMessage(websocket.TextMessage, b)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, msg, err := c.ReadMessage(); err != nil || !strings.Contains(string(msg), `"welcome"`) {
			t.Fatalf("connection %d: %v %s", i, err, msg)
		}
		conns = append(conns, c)
	}
	took := time.Since(start)
	time.Sleep(2 * time.Second) // let the node settle before measuring
	rss1 := vmRSS(t, cmd.Process.Pid)
	open := metricValue(t, "http://"+addr, "printpay_server_agent_connections")
	if int(open) != n {
		t.Fatalf("node reports %v connections, want %d", open, n)
	}
	t.Logf("%d idle connections in %v; node RSS %d KiB -> %d KiB, %.1f KiB per connection",
		n, took.Round(time.Millisecond), rss0, rss1, float64(rss1-rss0)/float64(n))
}

// helperNode is the child process of TestIdleConnections (see TestMain):
// a node on SQLite in dir with n enrolled devices, their tokens in
// dir/tokens, serving until stdin closes.
func helperNode(dir string, n int) error {
	if err := setFileLimit(uint64(n) + 64); err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "node.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	m, err := st.PutMerchant(ctx, store.Merchant{ID: "m1", Name: "Idle"})
	if err != nil {
		return err
	}
	var tokens strings.Builder
	for range n {
		code, _, err := st.NewPairingCode(ctx, m.ID)
		if err != nil {
			return err
		}
		_, tok, err := st.Enroll(ctx, code, "helper", "idle", "bench")
		if err != nil {
			return err
		}
		tokens.WriteString(tok + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens"), []byte(tokens.String()), 0o600); err != nil {
		return err
	}
	srv, err := api.New(api.Options{Store: st, PingInterval: time.Hour})
	if err != nil {
		return err
	}
	srv.AddMerchant(m, newFakePay(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	fmt.Println("ADDR " + ln.Addr().String())
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	cancel()
	return <-done
}

// raiseFileLimit lifts the soft file limit to the hard one and fails when
// that is below want. (Raising the hard limit needs CAP_SYS_RESOURCE.)
func raiseFileLimit(t *testing.T, want uint64) {
	if err := setFileLimit(want); err != nil {
		t.Fatal(err)
	}
}

func setFileLimit(want uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	if rl.Cur < want {
		return fmt.Errorf("file limit %d, need %d: raise the hard limit (ulimit -Hn) or ask for fewer connections", rl.Cur, want)
	}
	return nil
}

func vmRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb
		}
	}
	return 0
}
