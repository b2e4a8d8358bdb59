package wechatpay

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// WeChat's API hosts: the SDK hard-codes the first; the second is the backup.
var wechatHosts = map[string]bool{
	"api.mch.weixin.qq.com":  true,
	"api2.mch.weixin.qq.com": true,
}

// sandboxTransport sends requests for the WeChat API hosts to a sandbox over
// plain HTTP. It exists only when a Config names a sandbox.
type sandboxTransport struct {
	base http.RoundTripper
	host string // host:port of the sandbox
}

func (t *sandboxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !wechatHosts[strings.ToLower(r.URL.Hostname())] {
		return t.base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	u := *r.URL
	u.Scheme = "http"
	u.Host = t.host
	r2.URL = &u
	r2.Host = t.host
	return t.base.RoundTrip(r2)
}

// failoverTransport retries a request on the backup host
// api2.mch.weixin.qq.com when the primary host cannot be reached at all
// (DNS or connect failure: the request never left, so resending it is safe),
// as WeChat's disaster-recovery guidance asks. Every request tries the
// primary first, which switches back by itself.
type failoverTransport struct {
	base http.RoundTripper
}

const (
	primaryHost = "api.mch.weixin.qq.com"
	backupHost  = "api2.mch.weixin.qq.com"
)

func (t *failoverTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil || !strings.EqualFold(r.URL.Host, primaryHost) || !unreachable(err) {
		return resp, err
	}
	r2 := r.Clone(r.Context())
	if r.Body != nil && r.Body != http.NoBody {
		if r.GetBody == nil {
			return resp, err
		}
		body, gerr := r.GetBody()
		if gerr != nil {
			return resp, err
		}
		r2.Body = body
	}
	u := *r.URL
	u.Host = backupHost
	r2.URL, r2.Host = &u, ""
	return t.base.RoundTrip(r2)
}

// unreachable reports a failure before anything was sent: name resolution
// or the TCP connect.
func unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// sandboxHost accepts "host:port" or "http://host:port".
func sandboxHost(addr string) (string, error) {
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return "", fmt.Errorf("wechatpay: sandbox address %q: want host:port or http://host:port", addr)
		}
		return u.Host, nil
	}
	if addr == "" || strings.ContainsAny(addr, "/?#") {
		return "", fmt.Errorf("wechatpay: sandbox address %q: want host:port", addr)
	}
	return addr, nil
}

// httpClient builds the client the SDK uses for this configuration.
func httpClient(c Config) (*http.Client, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	var rt http.RoundTripper = &failoverTransport{base: base}
	if c.Sandbox != "" {
		host, err := sandboxHost(c.Sandbox)
		if err != nil {
			return nil, err
		}
		rt = &sandboxTransport{base: base, host: host}
	}
	return &http.Client{Transport: rt, Timeout: timeout}, nil
}
