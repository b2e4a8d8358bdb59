package wechatpay

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// fakeRT answers from a table by host and records what it saw.
type fakeRT struct {
	fail map[string]error
	seen []string
	body []string
}

func (f *fakeRT) RoundTrip(r *http.Request) (*http.Response, error) {
	f.seen = append(f.seen, r.URL.Scheme+"://"+r.URL.Host+r.URL.RequestURI())
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		f.body = append(f.body, string(b))
	}
	if err := f.fail[r.URL.Host]; err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

func TestFailoverTransport(t *testing.T) {
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	cases := []struct {
		name     string
		fail     map[string]error
		wantSeen []string
		wantErr  bool
	}{
		{"primary up", nil, []string{"https://api.mch.weixin.qq.com/v3/x?a=1"}, false},
		{"primary unreachable", map[string]error{primaryHost: dialErr},
			[]string{"https://api.mch.weixin.qq.com/v3/x?a=1", "https://api2.mch.weixin.qq.com/v3/x?a=1"}, false},
		{"dns failure", map[string]error{primaryHost: &net.DNSError{Err: "no such host", Name: primaryHost}},
			[]string{"https://api.mch.weixin.qq.com/v3/x?a=1", "https://api2.mch.weixin.qq.com/v3/x?a=1"}, false},
		// A failure after sending (a reset, a timeout) is not retried here:
		// the outcome is unknown and the caller decides.
		{"reset after sending", map[string]error{primaryHost: &net.OpError{Op: "read", Err: errors.New("reset")}},
			[]string{"https://api.mch.weixin.qq.com/v3/x?a=1"}, true},
		{"both down", map[string]error{primaryHost: dialErr, backupHost: dialErr},
			[]string{"https://api.mch.weixin.qq.com/v3/x?a=1", "https://api2.mch.weixin.qq.com/v3/x?a=1"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeRT{fail: c.fail}
			req, _ := http.NewRequest(http.MethodPost, "https://api.mch.weixin.qq.com/v3/x?a=1", strings.NewReader(`{"k":1}`))
			resp, err := (&failoverTransport{base: f}).RoundTrip(req)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v", err)
			}
			if resp != nil {
				resp.Body.Close()
			}
			if strings.Join(f.seen, " ") != strings.Join(c.wantSeen, " ") {
				t.Fatalf("seen %v, want %v", f.seen, c.wantSeen)
			}
			for _, b := range f.body {
				if b != `{"k":1}` {
					t.Fatalf("body %q on retry", b)
				}
			}
		})
	}
}

func TestSandboxTransport(t *testing.T) {
	f := &fakeRT{}
	rt := &sandboxTransport{base: f, host: "127.0.0.1:9290"}
	for _, u := range []string{
		"https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/A%7CB?mchid=1",
		"https://api2.mch.weixin.qq.com/v3/certificates",
		"https://example.com/other",
	} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := []string{
		"http://127.0.0.1:9290/v3/pay/transactions/out-trade-no/A%7CB?mchid=1",
		"http://127.0.0.1:9290/v3/certificates",
		"https://example.com/other",
	}
	if strings.Join(f.seen, " ") != strings.Join(want, " ") {
		t.Fatalf("seen %v", f.seen)
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"127.0.0.1:9290", "127.0.0.1:9290", true},
		{"http://127.0.0.1:9290", "127.0.0.1:9290", true},
		{"https://127.0.0.1:9290", "", false},
		{"127.0.0.1:9290/x", "", false},
	} {
		got, err := sandboxHost(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("sandboxHost(%q) = %q, %v", c.in, got, err)
		}
	}
}
