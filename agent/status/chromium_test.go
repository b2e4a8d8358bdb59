package status

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

	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/spool"
)

// browser is headless Chromium driven over the DevTools protocol: the page
// runs its own script, and the test reads the DOM and clicks as a person
// would.
type browser struct {
	t    *testing.T
	ws   *websocket.Conn
	next int
}

func startBrowser(t *testing.T) *browser {
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
	b := &browser{t: t, ws: ws}
	b.call("Page.enable", nil)
	b.call("Network.enable", nil)
	return b
}

// call sends one DevTools command and returns its result; until then it
// reads past events, returning the first whose method is event (if any).
func (b *browser) call(method string, params any) json.RawMessage {
	b.t.Helper()
	res, _ := b.callUntil(method, params, "")
	return res
}

func (b *browser) callUntil(method string, params any, event string) (json.RawMessage, bool) {
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

// open loads url and waits for its load event.
func (b *browser) open(url string) {
	b.t.Helper()
	b.callUntil("Page.navigate", map[string]any{"url": url}, "Page.loadEventFired")
}

// eval runs JavaScript in the page and returns its value.
func (b *browser) eval(expr string) any {
	b.t.Helper()
	raw := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
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

func (b *browser) str(expr string) string {
	b.t.Helper()
	s, _ := b.eval(expr).(string)
	return s
}

// wait polls a JavaScript condition until it holds.
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for b.eval("!!("+expr+")") != true {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not seen in 20s (%s)\nbody: %.3000s", what, expr, b.str("document.body.innerText"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot saves a PNG of the element matched by selector (the whole page
// for "").
func (b *browser) screenshot(path, selector string) {
	b.t.Helper()
	params := map[string]any{"format": "png", "captureBeyondViewport": true}
	if selector != "" {
		rect := b.eval(fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
			return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height, scale: 1}; })()`, selector))
		params["clip"] = rect
	}
	var r struct{ Data string }
	json.Unmarshal(b.call("Page.captureScreenshot", params), &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) == 0 {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d bytes)", path, len(png))
}

// artifacts is where screenshots go: $PRINTPAY_ARTIFACTS when set (CI keeps
// that folder), else the test's temporary folder.
func artifacts(t *testing.T) string {
	if d := os.Getenv("PRINTPAY_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func js(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestPageInChromium(t *testing.T) {
	f := newFixture(t, "")
	b := startBrowser(t)
	out := artifacts(t)
	b.call("Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}})
	b.open(f.ts.URL + "/")

	t.Run("jobs appear", func(t *testing.T) {
		b.t = t
		if got := b.str("document.title"); got != "printpay 打印状态" {
			t.Fatalf("title %q", got)
		}
		if n := b.eval(`document.querySelectorAll("details.job").length`); n != 4.0 {
			t.Fatalf("%v jobs shown", n)
		}
		sum := b.str(`document.querySelector('details[data-id=` + js(f.ids["gbk"]) + `] summary').innerText`)
		for _, w := range []string{"¥44.00", "已加二维码", "已打印", "A20261126-001"} {
			if !strings.Contains(sum, w) {
				t.Errorf("GBK job line %q lacks %q", sum, w)
			}
		}
		// A job printed while the page is open shows up without a reload.
		id := f.addJob("kitchen", []byte("\x1b@new job\n\x1dV\x00"))
		f.printed(id, spool.Result{Analyzed: true, QR: "none", QRReason: "没有找到应付金额"})
		b.wait("the new job", `document.querySelector('details[data-id=`+js(id)+`]')`)
		if first := b.str(`document.querySelector("details.job").dataset.id`); first != id {
			t.Fatalf("newest job not first: %s", first)
		}
	})

	t.Run("log tail is live and escaped", func(t *testing.T) {
		b.t = t
		b.wait("log connected", `document.getElementById("log-state").textContent === "实时"`)
		f.log.Info("LIVE-1 打印完成 <img src=x onerror=\"window.pwned=1\"> \x07bell", "job", f.ids["gbk"])
		f.log.Warn("LIVE-2 纸快用完了")
		b.wait("live lines", `[...document.querySelectorAll("#log .tx")].some(e => e.textContent.startsWith("LIVE-2"))`)
		line := b.str(`[...document.querySelectorAll("#log .tx")].find(e => e.textContent.startsWith("LIVE-1")).textContent`)
		if !strings.Contains(line, `<img src=x onerror="window.pwned=1">`) || !strings.Contains(line, `\x07bell`) {
			t.Fatalf("log line shown as %q", line)
		}
		if b.eval(`document.querySelectorAll("#log img").length`) != 0.0 || b.eval(`window.pwned === undefined`) != true {
			t.Fatal("a log line became markup")
		}
		b.screenshot(filepath.Join(out, "log-tail.png"), "#logs-panel")
		// Level filter: warnings and above.
		b.eval(`(() => { const s = document.getElementById("log-level"); s.value = "4"; s.dispatchEvent(new Event("change")); })()`)
		vis := func(prefix string) any {
			return b.eval(`[...document.querySelectorAll("#log .line")].find(e => e.querySelector(".tx").textContent.startsWith(` + js(prefix) + `)).classList.contains("hidden")`)
		}
		if vis("LIVE-1") != true || vis("LIVE-2") != false {
			t.Fatal("level filter does not hide info lines")
		}
		f.log.Info("LIVE-3 hidden at warn level")
		b.wait("LIVE-3", `[...document.querySelectorAll("#log .tx")].some(e => e.textContent.startsWith("LIVE-3"))`)
		if vis("LIVE-3") != true {
			t.Fatal("new info line shown under the warn filter")
		}
	})

	t.Run("GBK receipt preview", func(t *testing.T) {
		b.t = t
		sel := `details[data-id=` + js(f.ids["gbk"]) + `]`
		b.eval(`document.querySelector(` + js(sel) + `).open = true`)
		b.wait("previews", `[...document.querySelectorAll(`+js(sel+" figure.preview img")+`)].length === 2 &&
			[...document.querySelectorAll(`+js(sel+" figure.preview img")+`)].every(i => i.complete && i.naturalWidth === 576)`)
		reason := b.str(`document.querySelector(` + js(sel+" td.reason") + `).textContent`)
		if reason != "合计 ￥44.00 与商品金额一致" && reason != "合计 ¥44.00 与商品金额一致" {
			t.Fatalf("receipt reason %q", reason)
		}
		b.eval(`document.querySelector(` + js(sel) + `).scrollIntoView()`)
		b.screenshot(filepath.Join(out, "gbk-preview.png"), sel)
	})

	t.Run("failed preview shows why", func(t *testing.T) {
		b.t = t
		sel := `details[data-id=` + js(f.ids["garbage"]) + `]`
		b.eval(`document.querySelector(` + js(sel) + `).open = true`)
		b.wait("placeholder", `document.querySelector(`+js(sel+" .placeholder .why")+`)`)
		if why := b.str(`document.querySelector(` + js(sel+" .placeholder .why") + `).textContent`); why != "cannot rebuild: test says no" {
			t.Fatalf("placeholder says %q", why)
		}
		if b.eval(`document.querySelector(`+js(sel)+`).innerText.includes('<script>alert("x")</script> no amount')`) != true {
			t.Fatal("the reason is not shown as text")
		}
	})

	t.Run("reprint reaches the queue", func(t *testing.T) {
		b.t = t
		id := f.ids["gbk"]
		sel := `details[data-id=` + js(id) + `]`
		b.eval(`document.querySelector(` + js(sel+` button[data-action="reprint"]`) + `).click()`)
		b.wait("confirmation", `document.querySelector(`+js(sel+" .confirm-box")+`)`)
		if j, _ := f.sp.Get(id); j.Reprint != 0 {
			t.Fatal("requeued before confirmation")
		}
		b.eval(`document.querySelector(` + js(sel+` button[data-action="reprint-yes"]`) + `).click()`)
		b.wait("queued message", `document.querySelector(`+js(sel+" .msg")+`).textContent === "已加入打印队列"`)
		if j, _ := f.sp.Get(id); j.State != spool.Pending || j.Reprint != 1 {
			t.Fatalf("after reprint: %s reprint %d", j.State, j.Reprint)
		}
		if q := f.sp.Queue("front"); !slices.ContainsFunc(q, func(j spool.Job) bool { return j.ID == id }) {
			t.Fatal("the job is not in the printer's queue")
		}

		// The incomplete job asks more plainly, then goes to the queue too.
		id = f.ids["truncated"]
		sel = `details[data-id=` + js(id) + `]`
		b.eval(`document.querySelector(` + js(sel) + `).open = true`)
		b.wait("detail", `document.querySelector(`+js(sel+` button[data-action="reprint"]`)+`)`)
		b.eval(`document.querySelector(` + js(sel+` button[data-action="reprint"]`) + `).click()`)
		b.wait("confirmation", `document.querySelector(`+js(sel+" .confirm-box")+`)`)
		if ask := b.str(`document.querySelector(` + js(sel+" .confirm-box") + `).textContent`); !strings.Contains(ask, "没有收全") {
			t.Fatalf("confirmation %q", ask)
		}
		b.eval(`document.querySelector(` + js(sel+` button[data-action="reprint-yes"]`) + `).click()`)
		b.wait("queued message", `document.querySelector(`+js(sel+" .msg")+`).textContent === "已加入打印队列"`)
		if j, _ := f.sp.Get(id); j.Held || j.State != spool.Pending {
			t.Fatalf("truncated job after reprint: %+v", j)
		}
	})

	t.Run("demo payment and printer buttons", func(t *testing.T) {
		b.t = t
		sel := `details[data-id=` + js(f.ids["gbk"]) + `]`
		b.eval(`document.querySelector(` + js(sel+` button[data-action="demo-pay"]`) + `).click()`)
		b.wait("paid message", `document.querySelector(`+js(sel+" .msg")+`).textContent === "已模拟付款"`)
		b.eval(`document.querySelector('[data-printer="kitchen"] button[data-action="test"]').click()`)
		b.wait("test print message", `document.querySelector('[data-printer="kitchen"] .msg').textContent === "完成"`)
		// Printer state is live; pause turns into resume.
		f.front.Set(drivers.Status{State: drivers.StateOffline, Since: time.Date(2026, 11, 26, 9, 30, 0, 0, time.Local)})
		b.wait("front offline", `document.querySelector('[data-printer="front"]').innerText.includes("离线 (自 2026-11-26 09:30:00)")`)
		b.eval(`document.querySelector('[data-printer="front"] button[data-action="pause"]').click()`)
		b.wait("resume button", `document.querySelector('[data-printer="front"] button[data-action="resume"]') && !document.querySelector('[data-printer="front"] button[data-action="pause"]')`)
		calls := f.called()
		if !slices.Contains(calls, "pause front on") {
			t.Fatalf("hooks called: %v", calls)
		}
		if !slices.Contains(calls, "pay PP20261126001") || !slices.Contains(calls, "test kitchen") {
			t.Fatalf("hooks called: %v", calls)
		}
		if j, _ := f.sp.Get(f.ids["gbk"]); !j.Result.Paid {
			t.Fatal("not paid")
		}
	})

	t.Run("language toggle", func(t *testing.T) {
		b.t = t
		b.screenshot(filepath.Join(out, "page-zh.png"), "")
		href := b.str(`document.getElementById("lang-toggle").href`)
		b.open(href)
		if got := b.str("document.title"); got != "printpay status" {
			t.Fatalf("after the toggle: %q", got)
		}
		b.open(f.ts.URL + "/") // remembered
		if got := b.str("document.title"); got != "printpay status" {
			t.Fatalf("toggle not remembered: %q", got)
		}
		text := b.str("document.body.innerText")
		for _, w := range []string{"Print jobs", "printed", "incomplete", "Why no QR code", "Server link", "out of paper"} {
			if !strings.Contains(text, w) {
				t.Errorf("English page lacks %q", w)
			}
		}
		b.wait("log connected", `document.getElementById("log-state").textContent === "live"`)
		b.screenshot(filepath.Join(out, "page-en.png"), "")
		b.open(f.ts.URL + "/?lang=zh")
		if got := b.str("document.title"); got != "printpay 打印状态" {
			t.Fatalf("back to Chinese: %q", got)
		}
	})
}
