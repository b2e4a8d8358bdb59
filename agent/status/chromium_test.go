package status

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/agent/status/internal/browser"
	"printpay.dev/printpay/drivers"
	"printpay.dev/printpay/spool"
)

func TestPageInChromium(t *testing.T) {
	f := newFixture(t, "")
	b := browser.Start(t)
	out := browser.Artifacts(t)
	b.Call("Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}})
	b.Open(f.ts.URL + "/")

	t.Run("jobs appear", func(t *testing.T) {
		b.SetT(t)
		if got := b.Str("document.title"); got != "printpay 打印状态" {
			t.Fatalf("title %q", got)
		}
		if n := b.Eval(`document.querySelectorAll("details.job").length`); n != 4.0 {
			t.Fatalf("%v jobs shown", n)
		}
		sum := b.Str(`document.querySelector('details[data-id=` + browser.JS(f.ids["gbk"]) + `] summary').innerText`)
		for _, w := range []string{"¥44.00", "已加二维码", "已打印", "A20261126-001"} {
			if !strings.Contains(sum, w) {
				t.Errorf("GBK job line %q lacks %q", sum, w)
			}
		}
		// A job printed while the page is open shows up without a reload.
		id := f.addJob("kitchen", []byte("\x1b@new job\n\x1dV\x00"))
		f.printed(id, spool.Result{Analyzed: true, QR: "none", QRReason: "没有找到应付金额"})
		b.Wait("the new job", `document.querySelector('details[data-id=`+browser.JS(id)+`]')`)
		if first := b.Str(`document.querySelector("details.job").dataset.id`); first != id {
			t.Fatalf("newest job not first: %s", first)
		}
	})

	t.Run("log tail is live and escaped", func(t *testing.T) {
		b.SetT(t)
		b.Wait("log connected", `document.getElementById("log-state").textContent === "实时"`)
		f.log.Info("LIVE-1 打印完成 <img src=x onerror=\"window.pwned=1\"> \x07bell", "job", f.ids["gbk"])
		f.log.Warn("LIVE-2 纸快用完了")
		b.Wait("live lines", `[...document.querySelectorAll("#log .tx")].some(e => e.textContent.startsWith("LIVE-2"))`)
		line := b.Str(`[...document.querySelectorAll("#log .tx")].find(e => e.textContent.startsWith("LIVE-1")).textContent`)
		if !strings.Contains(line, `<img src=x onerror="window.pwned=1">`) || !strings.Contains(line, `\x07bell`) {
			t.Fatalf("log line shown as %q", line)
		}
		if b.Eval(`document.querySelectorAll("#log img").length`) != 0.0 || b.Eval(`window.pwned === undefined`) != true {
			t.Fatal("a log line became markup")
		}
		b.Screenshot(filepath.Join(out, "log-tail.png"), "#logs-panel")
		// Level filter: warnings and above.
		b.Eval(`(() => { const s = document.getElementById("log-level"); s.value = "4"; s.dispatchEvent(new Event("change")); })()`)
		vis := func(prefix string) any {
			return b.Eval(`[...document.querySelectorAll("#log .line")].find(e => e.querySelector(".tx").textContent.startsWith(` + browser.JS(prefix) + `)).classList.contains("hidden")`)
		}
		if vis("LIVE-1") != true || vis("LIVE-2") != false {
			t.Fatal("level filter does not hide info lines")
		}
		f.log.Info("LIVE-3 hidden at warn level")
		b.Wait("LIVE-3", `[...document.querySelectorAll("#log .tx")].some(e => e.textContent.startsWith("LIVE-3"))`)
		if vis("LIVE-3") != true {
			t.Fatal("new info line shown under the warn filter")
		}
	})

	t.Run("GBK receipt preview", func(t *testing.T) {
		b.SetT(t)
		sel := `details[data-id=` + browser.JS(f.ids["gbk"]) + `]`
		b.Eval(`document.querySelector(` + browser.JS(sel) + `).open = true`)
		b.Wait("previews", `[...document.querySelectorAll(`+browser.JS(sel+" figure.preview img")+`)].length === 2 &&
			[...document.querySelectorAll(`+browser.JS(sel+" figure.preview img")+`)].every(i => i.complete && i.naturalWidth === 576)`)
		reason := b.Str(`document.querySelector(` + browser.JS(sel+" td.reason") + `).textContent`)
		if reason != "合计 ￥44.00 与商品金额一致" && reason != "合计 ¥44.00 与商品金额一致" {
			t.Fatalf("receipt reason %q", reason)
		}
		b.Eval(`document.querySelector(` + browser.JS(sel) + `).scrollIntoView()`)
		b.Screenshot(filepath.Join(out, "gbk-preview.png"), sel)
	})

	t.Run("failed preview shows why", func(t *testing.T) {
		b.SetT(t)
		sel := `details[data-id=` + browser.JS(f.ids["garbage"]) + `]`
		b.Eval(`document.querySelector(` + browser.JS(sel) + `).open = true`)
		b.Wait("placeholder", `document.querySelector(`+browser.JS(sel+" .placeholder .why")+`)`)
		if why := b.Str(`document.querySelector(` + browser.JS(sel+" .placeholder .why") + `).textContent`); why != "cannot rebuild: test says no" {
			t.Fatalf("placeholder says %q", why)
		}
		if b.Eval(`document.querySelector(`+browser.JS(sel)+`).innerText.includes('<script>alert("x")</script> no amount')`) != true {
			t.Fatal("the reason is not shown as text")
		}
	})

	t.Run("reprint reaches the queue", func(t *testing.T) {
		b.SetT(t)
		id := f.ids["gbk"]
		sel := `details[data-id=` + browser.JS(id) + `]`
		b.Eval(`document.querySelector(` + browser.JS(sel+` button[data-action="reprint"]`) + `).click()`)
		b.Wait("confirmation", `document.querySelector(`+browser.JS(sel+" .confirm-box")+`)`)
		if j, _ := f.sp.Get(id); j.Reprint != 0 {
			t.Fatal("requeued before confirmation")
		}
		b.Eval(`document.querySelector(` + browser.JS(sel+` button[data-action="reprint-yes"]`) + `).click()`)
		b.Wait("queued message", `document.querySelector(`+browser.JS(sel+" .msg")+`).textContent === "已加入打印队列"`)
		if j, _ := f.sp.Get(id); j.State != spool.Pending || j.Reprint != 1 {
			t.Fatalf("after reprint: %s reprint %d", j.State, j.Reprint)
		}
		if q := f.sp.Queue("front"); !slices.ContainsFunc(q, func(j spool.Job) bool { return j.ID == id }) {
			t.Fatal("the job is not in the printer's queue")
		}

		// The incomplete job asks more plainly, then goes to the queue too.
		id = f.ids["truncated"]
		sel = `details[data-id=` + browser.JS(id) + `]`
		b.Eval(`document.querySelector(` + browser.JS(sel) + `).open = true`)
		b.Wait("detail", `document.querySelector(`+browser.JS(sel+` button[data-action="reprint"]`)+`)`)
		b.Eval(`document.querySelector(` + browser.JS(sel+` button[data-action="reprint"]`) + `).click()`)
		b.Wait("confirmation", `document.querySelector(`+browser.JS(sel+" .confirm-box")+`)`)
		if ask := b.Str(`document.querySelector(` + browser.JS(sel+" .confirm-box") + `).textContent`); !strings.Contains(ask, "没有收全") {
			t.Fatalf("confirmation %q", ask)
		}
		b.Eval(`document.querySelector(` + browser.JS(sel+` button[data-action="reprint-yes"]`) + `).click()`)
		b.Wait("queued message", `document.querySelector(`+browser.JS(sel+" .msg")+`).textContent === "已加入打印队列"`)
		if j, _ := f.sp.Get(id); j.Held || j.State != spool.Pending {
			t.Fatalf("truncated job after reprint: %+v", j)
		}
	})

	t.Run("demo payment and printer buttons", func(t *testing.T) {
		b.SetT(t)
		sel := `details[data-id=` + browser.JS(f.ids["gbk"]) + `]`
		b.Eval(`document.querySelector(` + browser.JS(sel+` button[data-action="demo-pay"]`) + `).click()`)
		b.Wait("paid message", `document.querySelector(`+browser.JS(sel+" .msg")+`).textContent === "已模拟付款"`)
		b.Eval(`document.querySelector('[data-printer="kitchen"] button[data-action="test"]').click()`)
		b.Wait("test print message", `document.querySelector('[data-printer="kitchen"] .msg').textContent === "完成"`)
		// Printer state is live; pause turns into resume.
		f.front.Set(drivers.Status{State: drivers.StateOffline, Since: time.Date(2026, 11, 26, 9, 30, 0, 0, time.Local)})
		b.Wait("front offline", `document.querySelector('[data-printer="front"]').innerText.includes("离线 (自 2026-11-26 09:30:00)")`)
		b.Eval(`document.querySelector('[data-printer="front"] button[data-action="pause"]').click()`)
		b.Wait("resume button", `document.querySelector('[data-printer="front"] button[data-action="resume"]') && !document.querySelector('[data-printer="front"] button[data-action="pause"]')`)
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
		b.SetT(t)
		b.Screenshot(filepath.Join(out, "page-zh.png"), "")
		href := b.Str(`document.getElementById("lang-toggle").href`)
		b.Open(href)
		if got := b.Str("document.title"); got != "printpay status" {
			t.Fatalf("after the toggle: %q", got)
		}
		b.Open(f.ts.URL + "/") // remembered
		if got := b.Str("document.title"); got != "printpay status" {
			t.Fatalf("toggle not remembered: %q", got)
		}
		text := b.Str("document.body.innerText")
		for _, w := range []string{"Print jobs", "printed", "incomplete", "Why no QR code", "Server link", "out of paper"} {
			if !strings.Contains(text, w) {
				t.Errorf("English page lacks %q", w)
			}
		}
		b.Wait("log connected", `document.getElementById("log-state").textContent === "live"`)
		b.Screenshot(filepath.Join(out, "page-en.png"), "")
		b.Open(f.ts.URL + "/?lang=zh")
		if got := b.Str("document.title"); got != "printpay 打印状态" {
			t.Fatalf("back to Chinese: %q", got)
		}
	})
}
