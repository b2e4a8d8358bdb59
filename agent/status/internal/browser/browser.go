package browser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"printpay.dev/printpay/internal/testenv"
)

// Browser is headless Chromium driven over the DevTools protocol: the page
// runs its own script, and the test reads the DOM and clicks as a person
// would.
type Browser struct {
	t    testing.TB
	ws   *websocket.Conn
	next int
}

func Start(t testing.TB) *Browser {
	t.Helper()
	bin := testenv.Tool(t, "chromium")
	dir, err := os.MkdirTemp("", "printpay-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+dir,
		"--remote-debugging-port=0", "--window-size=1280,1600", "--hide-scrollbars", "about:blank")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	})
	// Chromium writes its DevTools port here once it listens.
	var port string
	deadline := time.Now().Add(30 * time.Second)
	for port == "" {
		if b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			port, _, _ = strings.Cut(string(b), "\n")
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://127.0.0.1:" + strings.TrimSpace(port) + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	var targets []struct{ Type, WebSocketDebuggerURL string }
	json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	i := slices.IndexFunc(targets, func(x struct{ Type, WebSocketDebuggerURL string }) bool { return x.Type == "page" })
	if i < 0 {
		t.Fatalf("no page target: %+v", targets)
	}
	ws, _, err := websocket.DefaultDialer.Dial(targets[i].WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	b := &Browser{t: t, ws: ws}
	b.Call("Page.enable", nil)
	b.Call("Network.enable", nil)
	return b
}

// Call sends one DevTools command and returns its result; until then it
// reads past events, returning the first whose method is event (if any).
func (b *Browser) Call(method string, params any) json.RawMessage {
	b.t.Helper()
	res, _ := b.callUntil(method, params, "")
	return res
}

func (b *Browser) callUntil(method string, params any, event string) (json.RawMessage, bool) {
	b.t.Helper()
	b.next++
	id := b.next
	if params == nil {
		params = struct{}{}
	}
	if err := b.ws.WriteJSON(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		b.t.Fatal(err)
	}
	var result json.RawMessage
	got, seen := false, event == ""
	b.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for !got || !seen {
		var m struct {
			ID     int
			Method string
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if err := b.ws.ReadJSON(&m); err != nil {
			b.t.Fatalf("%s: %v", method, err)
		}
		switch {
		case m.ID == id && m.Error != nil:
			b.t.Fatalf("%s: %s", method, m.Error.Message)
		case m.ID == id:
			result, got = m.Result, true
		case m.Method == event:
			seen = true
		}
	}
	return result, seen
}

// Open loads url and waits for its load event.
func (b *Browser) Open(url string) {
	b.t.Helper()
	b.callUntil("Page.navigate", map[string]any{"url": url}, "Page.loadEventFired")
}

// Eval runs JavaScript in the page and returns its value.
func (b *Browser) Eval(expr string) any {
	b.t.Helper()
	raw := b.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result           struct{ Value any }
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	json.Unmarshal(raw, &r)
	if r.ExceptionDetails != nil {
		b.t.Fatalf("eval %s: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	return r.Result.Value
}

func (b *Browser) Str(expr string) string {
	b.t.Helper()
	s, _ := b.Eval(expr).(string)
	return s
}

// Wait polls a JavaScript condition until it holds.
func (b *Browser) Wait(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for b.Eval("!!("+expr+")") != true {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not seen in 20s (%s)\nbody: %.3000s", what, expr, b.Str("document.body.innerText"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Screenshot saves a PNG of the element matched by selector (the whole page
// for "").
func (b *Browser) Screenshot(path, selector string) {
	b.t.Helper()
	params := map[string]any{"format": "png", "captureBeyondViewport": true}
	if selector != "" {
		rect := b.Eval(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
			return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height, scale: 1}; })()`, selector))
		params["clip"] = rect
	}
	var r struct{ Data string }
	json.Unmarshal(b.Call("Page.captureScreenshot", params), &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) == 0 {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d bytes)", path, len(png))
}

// Artifacts is where screenshots go: $PRINTPAY_ARTIFACTS when set (CI keeps
// that folder), else the test's temporary folder.
func Artifacts(t testing.TB) string {
	if d := os.Getenv("PRINTPAY_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// SetT points failures at t (a subtest).
func (b *Browser) SetT(t testing.TB) { b.t = t }

// JS quotes s as a JavaScript string.
func JS(s string) string { q, _ := json.Marshal(s); return string(q) }
