package pkgtest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/server/sandbox"
)

// pairingServer runs printpay-server (built by artefacts) on a loopback
// port with one sandbox merchant, and returns its base URL and a fresh
// pairing code.
func pairingServer(t *testing.T, dir string) (base, code string) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{})
	must(t, err)
	cr, err := sb.AddMerchant(sandbox.Merchant{MchID: "1900000200", AppID: "wx1900000200"})
	must(t, err)
	work := t.TempDir()
	keys := filepath.Join(work, "keys")
	must(t, cr.WriteFiles(keys, ""))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	l.Close()
	conf := filepath.Join(work, "server.toml")
	must(t, os.WriteFile(conf, []byte("listen = \""+addr+"\"\ndatabase = \"sqlite:"+filepath.Join(work, "db.sqlite")+"\"\n"), 0o644))

	bin := filepath.Join(dir, "printpay-server")
	if out, err := run(t, time.Minute, nil, bin, "merchant", "add", "--config", conf, "--id", "noodles", "--name", "Noodles",
		"--appid", cr.AppID, "--mchid", cr.MchID, "--serial", cr.Serial,
		"--private-key-file", filepath.Join(keys, sandbox.FilePrivateKey), "--apiv3-key-file", filepath.Join(keys, sandbox.FileAPIv3Key),
		"--wechatpay-public-key-file", filepath.Join(keys, sandbox.FilePublicKey), "--wechatpay-public-key-id", cr.PublicKeyID); err != nil {
		t.Fatalf("merchant add: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "merchant", "code", "--config", conf, "--id", "noodles").Output()
	if err != nil {
		t.Fatalf("merchant code: %v", err)
	}
	code = strings.TrimSpace(string(out))

	logf, err := os.Create(filepath.Join(work, "server.log"))
	must(t, err)
	srv := exec.Command(bin, "serve", "--config", conf)
	srv.Stdout, srv.Stderr = logf, logf
	must(t, srv.Start())
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		logf.Close()
	})
	base = "http://" + addr
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return base, code
		}
	}
	b, _ := os.ReadFile(logf.Name())
	t.Fatalf("printpay-server did not come up on %s:\n%s", addr, b)
	return "", ""
}
