package wechatpay

import "time"

// AgeCertificates makes the client's last certificate download look d
// older, so that a test can reach the once-a-minute refresh.
func AgeCertificates(c *Client, d time.Duration) {
	c.keys.mu.Lock()
	c.keys.lastRefresh = c.keys.lastRefresh.Add(-d)
	c.keys.mu.Unlock()
}
