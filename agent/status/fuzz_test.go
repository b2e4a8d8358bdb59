package status

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzLogLine: whatever a log record carries, the line the page gets is
// valid UTF-8 without control characters, and bounded.
func FuzzLogLine(f *testing.F) {
	f.Add("job printed", "reason", "<script>alert(1)</script>")
	f.Add("\x1b[31mred\x07", "peer", "\xff\xfe\x00")
	f.Add("行\u2028分隔", "k", "\u0085\u009b")
	f.Fuzz(func(t *testing.T, msg, key, val string) {
		h := NewLogHub(nil, 1)
		r := slog.NewRecord(time.Time{}, slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.String(key, val))
		h.WithGroup(key).Handle(context.Background(), r)
		l := h.Lines()[0].Text
		if !utf8.ValidString(l) {
			t.Fatalf("invalid UTF-8: %q", l)
		}
		for _, c := range l {
			if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029 {
				t.Fatalf("control character %U in %q", c, l)
			}
		}
		if len(l) > maxLineBytes+8 {
			t.Fatalf("line of %d bytes", len(l))
		}
	})
}

// FuzzLanguage: any Accept-Language header or lang cookie picks one of the
// two languages without failing.
func FuzzLanguage(f *testing.F) {
	f.Add("zh-CN,zh;q=0.9,en;q=0.8", "en")
	f.Add("en;q=abc, *;q=0.1", "")
	f.Add(";;,,q=", "zh")
	f.Fuzz(func(t *testing.T, header, cookie string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", header)
		r.Header.Set("Cookie", langCookie+"="+cookie)
		if l := pickLang(nil, r); l != langZH && l != langEN {
			t.Fatalf("language %d", l)
		}
	})
}
