package status

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/spool"
)

func fetch(t *testing.T, url string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	r, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestPageLanguage(t *testing.T) {
	f := newFixture(t, "")
	for _, c := range []struct {
		name   string
		query  string
		hdr    []string
		want   string // the page's title
		cookie string
	}{
		{"default is Chinese", "", nil, "printpay 打印状态", ""},
		{"English browser", "", []string{"Accept-Language", "en-US,en;q=0.9"}, "printpay status", ""},
		{"Chinese browser", "", []string{"Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8"}, "printpay 打印状态", ""},
		{"English preferred by weight", "", []string{"Accept-Language", "zh;q=0.5, en;q=0.8"}, "printpay status", ""},
		{"neither: Chinese", "", []string{"Accept-Language", "fr-FR"}, "printpay 打印状态", ""},
		{"toggle to English", "?lang=en", []string{"Accept-Language", "zh-CN"}, "printpay status", "printpay_lang=en"},
		{"cookie", "", []string{"Cookie", "printpay_lang=en"}, "printpay status", ""},
		{"toggle back", "?lang=zh", []string{"Cookie", "printpay_lang=en"}, "printpay 打印状态", "printpay_lang=zh"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body, h := fetch(t, f.ts.URL+"/"+c.query, c.hdr...)
			if code != 200 || !strings.Contains(body, "<title>"+c.want+"</title>") {
				t.Fatalf("%d, title not %q:\n%.400s", code, c.want, body)
			}
			if got := h.Get("Set-Cookie"); !strings.HasPrefix(got, c.cookie) || (c.cookie == "") != (got == "") {
				t.Fatalf("Set-Cookie %q, want %q", got, c.cookie)
			}
		})
	}
	// Plain words for the states.
	_, zh, _ := fetch(t, f.ts.URL+"/")
	for _, w := range []string{"已打印", "等待中", "不完整", "未加二维码的原因", "已加二维码", "¥44.00", "缺纸"} {
		if !strings.Contains(zh, w) {
			t.Errorf("Chinese page lacks %q", w)
		}
	}
	_, en, _ := fetch(t, f.ts.URL+"/?lang=en")
	for _, w := range []string{"printed", "waiting", "incomplete", "Why no QR code", "QR added", "out of paper"} {
		if !strings.Contains(en, w) {
			t.Errorf("English page lacks %q", w)
		}
	}
}

func TestPageEscapesEverything(t *testing.T) {
	f := newFixture(t, "")
	f.sp.UpdateResult(f.ids["pending"], func(r *spool.Result) {
		r.Analyzed, r.OrderNo, r.Reason = true, `"><img src=x onerror=alert(1)>`, "<b>bold</b>\x1b[31m"
	})
	_, body, h := fetch(t, f.ts.URL+"/")
	_, detail, _ := fetch(t, f.ts.URL+"/fragment/jobs/"+f.ids["garbage"])
	for _, raw := range []string{"<img src=x", "<b>bold", "<script>alert", "<b>lid"} {
		if strings.Contains(body, raw) || strings.Contains(detail, raw) {
			t.Errorf("raw %q in the page", raw)
		}
	}
	for _, esc := range []string{"&lt;b&gt;bold&lt;/b&gt;", "&lt;b&gt;lid&lt;/b&gt;", "dial: &lt;refused&gt;"} {
		if !strings.Contains(body, esc) {
			t.Errorf("page lacks escaped %q", esc)
		}
	}
	if !strings.Contains(detail, "&lt;script&gt;alert(") {
		t.Error("detail lacks the escaped reason")
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	// No internet assets: every src and href is local.
	for _, page := range []string{body, detail} {
		for _, attr := range []string{`src="http`, `href="http`, `src="//`, `href="//`, "@import", "url("} {
			if strings.Contains(page, attr) {
				t.Errorf("page refers to %q", attr)
			}
		}
	}
	for _, a := range []string{"/assets/page.js", "/assets/page.css"} {
		code, text, _ := fetch(t, f.ts.URL+a)
		if code != 200 || strings.Contains(text, "http://") || strings.Contains(text, "https://") || strings.Contains(text, "url(") {
			t.Errorf("%s: %d or refers outside", a, code)
		}
	}
}

func TestPreviews(t *testing.T) {
	f := newFixture(t, "")
	get := func(path string) (int, []byte) {
		resp, err := http.Get(f.ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, before := get("/jobs/" + f.ids["gbk"] + "/before.png")
	if code != 200 {
		t.Fatalf("before: %d %s", code, before)
	}
	img, err := png.Decode(bytes.NewReader(before))
	if err != nil || img.Bounds().Dx() != 576 {
		t.Fatalf("before png: %v %v", err, img.Bounds())
	}
	_, after := get("/jobs/" + f.ids["gbk"] + "/after.png")
	aimg, err := png.Decode(bytes.NewReader(after))
	if err != nil || aimg.Bounds().Dy() <= img.Bounds().Dy() {
		t.Fatalf("after (with the hook's extra line) is not taller: %v %v vs %v", err, aimg.Bounds(), img.Bounds())
	}
	// kitchen's Printed hook fails: a placeholder with the reason.
	_, frag, _ := fetch(t, f.ts.URL+"/fragment/jobs/"+f.ids["garbage"]+"?lang=en")
	if !strings.Contains(frag, `<div class="placeholder">No preview: <span class="why">cannot rebuild: test says no</span>`) {
		t.Fatalf("no placeholder for the failed after preview:\n%s", frag)
	}
	// The garbage job renders within render's caps (58 mm paper for kitchen).
	code, gb := get("/jobs/" + f.ids["garbage"] + "/before.png")
	gimg, err := png.Decode(bytes.NewReader(gb))
	if code != 200 || err != nil || gimg.Bounds().Dx() != 384 || gimg.Bounds().Dy() > 20000+200 {
		t.Fatalf("garbage preview: %d %v %v", code, err, gimg.Bounds())
	}
	// A pending job has no "after" yet; a job still receiving has no preview.
	_, frag, _ = fetch(t, f.ts.URL+"/fragment/jobs/"+f.ids["pending"]+"?lang=en")
	if !strings.Contains(frag, "not printed yet") {
		t.Fatalf("pending after:\n%s", frag)
	}
	w, _ := f.sp.Create("front", spool.Origin{})
	w.Write([]byte("abc"))
	defer w.Abort("test over")
	if code, b := get("/jobs/" + w.ID() + "/before.png"); code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "still being received") {
		t.Fatalf("receiving job: %d %s", code, b)
	}
	if code, _ := get("/jobs/NOPE/before.png"); code != 404 {
		t.Fatalf("unknown job: %d", code)
	}
	if code, _ := get("/jobs/" + f.ids["gbk"] + "/other.png"); code != 404 {
		t.Fatalf("unknown kind: %d", code)
	}
}

func TestHugePreviewIsBounded(t *testing.T) {
	f := newFixture(t, "")
	huge := bytes.Repeat([]byte("line of a very long job\n"), (maxPreviewBytes/24)+1000)
	id := f.addJob("front", huge)
	j, _ := f.sp.Get(id)
	start := time.Now()
	p := f.srv.preview(context.Background(), j, "before")
	if p.png == nil {
		t.Fatalf("no preview: %s", p.err)
	}
	img, err := png.Decode(bytes.NewReader(p.png))
	if err != nil || img.Bounds().Dy() > 20000+200 {
		t.Fatalf("huge preview %v %v", err, img.Bounds())
	}
	notes := strings.Join(p.warnings, "\n")
	if !strings.Contains(notes, "only the first") || !strings.Contains(notes, "taller than") {
		t.Fatalf("warnings do not say it was cut: %s", notes)
	}
	t.Logf("%d-byte job previewed in %v", len(huge), time.Since(start))
}

func TestPreviewCacheIsBounded(t *testing.T) {
	c := newPreviewCache(64)
	for i := range 100 {
		c.put(strings.Repeat("k", i+1), preview{err: "x"})
	}
	if c.len() != 64 {
		t.Fatalf("cache holds %d", c.len())
	}
	if _, ok := c.get("k"); ok {
		t.Fatal("oldest entry kept")
	}
	if _, ok := c.get(strings.Repeat("k", 100)); !ok {
		t.Fatal("newest entry lost")
	}
	// A used entry survives.
	c.get(strings.Repeat("k", 40))
	for i := range 63 {
		c.put("n"+strings.Repeat("k", i), preview{})
	}
	if _, ok := c.get(strings.Repeat("k", 40)); !ok {
		t.Fatal("recently used entry evicted")
	}
}

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{0: "¥0.00", 5: "¥0.05", 15300: "¥153.00", 123456789: "¥1234567.89", -250: "-¥2.50"} {
		if got := yuan(fen); got != want {
			t.Errorf("yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}

func TestMetricsPage(t *testing.T) {
	f := newFixture(t, "")
	_, text, _ := fetch(t, f.ts.URL+"/metrics")
	for _, want := range []string{
		`printpay_jobs{qr="spliced"} 1`,
		`printpay_jobs{qr="none"} 1`,
		`printpay_jobs{qr="pending"} 2`,
		`printpay_receipts_qr{qr="spliced"} 1`,
		`printpay_printer_state{printer="kitchen",state="paper-out"} 1`,
		`printpay_printer_state{printer="front",state="paper-out"} 0`,
		`printpay_spool_depth{printer="front"} 2`,
		"# TYPE printpay_job_latency_seconds histogram",
		`printpay_job_latency_seconds_bucket{le="+Inf"} 2`,
		"printpay_job_latency_seconds_count 2",
		"printpay_printed_bytes ",
	} {
		if !strings.Contains(text, want+"\n") && !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	h := NewHistogram([]time.Duration{time.Second, 2 * time.Second})
	h.Observe(500 * time.Millisecond)
	h.Observe(1500 * time.Millisecond)
	h.Observe(time.Minute)
	var b bytes.Buffer
	h.write(&b, "x", "help")
	want := "# HELP x help\n# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_bucket{le=\"2\"} 2\nx_bucket{le=\"+Inf\"} 3\nx_sum 62\nx_count 3\n"
	if b.String() != want {
		t.Fatalf("histogram:\n%s\nwant\n%s", b.String(), want)
	}
}
