package status_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"printpay.dev/printpay/agent"
	"printpay.dev/printpay/agent/config"
	"printpay.dev/printpay/agent/status/internal/browser"
	"printpay.dev/printpay/internal/receiptgen"
)

// A GBK receipt, as a Chinese POS sends it.
const receipt = `encoding: gbk

@align center
@size 2x2
小李烧烤
@size 1x1
@align left
单号: 20261126-0042
羊肉串	10	￥30.00
烤鸡翅	2	￥16.00
啤酒	2	￥12.00
@bold on
合计: ￥58.00
@bold off
@feed 3
@cut
`

type apiJob struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Reprint int    `json:"reprint"`
}

func jobs(t *testing.T, status string) []apiJob {
	t.Helper()
	resp, err := http.Get("http://" + status + "/api/jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var js []apiJob
	if err := json.NewDecoder(resp.Body).Decode(&js); err != nil {
		t.Fatal(err)
	}
	return js
}

// TestPageOfARunningAgent: the whole agent (spool, raw listener, worker,
// preview printer, log hub) with the page in Chromium. A receipt sent to
// the raw port appears printed, the log tail shows the agent's lines as they
// come, the previews draw the Chinese text, and the reprint button prints the
// job again.
func TestPageOfARunningAgent(t *testing.T) {
	b := browser.Start(t)
	out := browser.Artifacts(t)

	cfg := config.Default()
	cfg.Intake.Raw, cfg.Intake.LPD, cfg.Status.Listen = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.Spool.Dir, cfg.Spool.MinFree, cfg.Log.File = t.TempDir(), 0, ""
	preview := t.TempDir()
	p := config.DefaultPrinter()
	p.Name, p.Driver, p.Device = "front", "file", preview
	cfg.Printers = []config.Printer{p}

	ready := make(chan agent.Addrs, 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- agent.RunWith(ctx, cfg, nil, agent.Options{Print: agent.Workers(nil), Ready: func(a agent.Addrs) { ready <- a }})
	}()
	var addrs agent.Addrs
	select {
	case addrs = <-ready:
	case err := <-errc:
		t.Fatalf("agent: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("agent not ready")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("agent: %v", err)
		}
	})

	b.Call("Network.setExtraHTTPHeaders", map[string]any{"headers": map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}})
	b.Open("http://" + addrs.Status + "/")
	b.Wait("log connected", `document.getElementById("log-state").textContent === "实时"`)

	data, err := receiptgen.Encode([]byte(receipt))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addrs.Raw["front"])
	if err != nil {
		t.Fatal(err)
	}
	c.Write(data)
	c.Close()

	b.Wait("the job printed", `[...document.querySelectorAll("details.job .badge")].some(e => e.textContent === "已打印")`)
	js := jobs(t, addrs.Status)
	if len(js) != 1 || js[0].State != "done" {
		t.Fatalf("jobs %+v", js)
	}
	id := js[0].ID
	b.Wait("a log line about the job", `[...document.querySelectorAll("#log .tx")].some(e => e.textContent.includes(`+browser.JS(id)+`))`)

	sel := `details[data-id=` + browser.JS(id) + `]`
	b.Eval(`document.querySelector(` + browser.JS(sel) + `).open = true`)
	b.Wait("previews", `[...document.querySelectorAll(`+browser.JS(sel+" figure.preview img")+`)].length === 2 &&
		[...document.querySelectorAll(`+browser.JS(sel+" figure.preview img")+`)].every(i => i.complete && i.naturalWidth > 0)`)
	b.Eval(`document.querySelector(` + browser.JS(sel) + `).scrollIntoView()`)
	b.Screenshot(filepath.Join(out, "agent-gbk-preview.png"), sel)

	first, err := os.Stat(filepath.Join(preview, id+".bin"))
	if err != nil {
		t.Fatalf("the preview printer has no %s.bin: %v", id, err)
	}
	b.Eval(`document.querySelector(` + browser.JS(sel+` button[data-action="reprint"]`) + `).click()`)
	b.Wait("confirmation", `document.querySelector(`+browser.JS(sel+" .confirm-box")+`)`)
	b.Eval(`document.querySelector(` + browser.JS(sel+` button[data-action="reprint-yes"]`) + `).click()`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		js = jobs(t, addrs.Status)
		if len(js) == 1 && js[0].Reprint == 1 && js[0].State == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reprint not printed: %+v", js)
		}
		time.Sleep(50 * time.Millisecond)
	}
	again, err := os.Stat(filepath.Join(preview, id+".bin"))
	if err != nil || again.Size() != first.Size() {
		t.Fatalf("after the reprint: %v, %d bytes vs %d", err, again.Size(), first.Size())
	}
	b.Wait("reprint count on the page", `document.querySelector(`+browser.JS(sel+" summary")+`).innerText.includes("重印次数 1")`)
}
