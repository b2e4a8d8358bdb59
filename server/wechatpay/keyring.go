package wechatpay

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
)

// keyring is the auth.Verifier behind both the API client and the
// notification handler. A serial equal to the public key id is checked with
// the WeChat Pay public key; any other serial with the platform certificates
// (when the merchant has them), re-downloading them once when the serial is
// unknown (certificate rotation). That covers public-key, certificate and
// migrating merchants with the SDK's own verifiers doing the RSA work; the
// SDK's validators around it check the headers and the 5-minute window.
type keyring struct {
	pubID string
	pub   *rsa.PublicKey
	log   *slog.Logger

	mu          sync.Mutex
	certs       *downloader.CertificateDownloader
	lastRefresh time.Time
}

func (k *keyring) setCerts(d *downloader.CertificateDownloader) {
	k.mu.Lock()
	k.certs = d
	k.lastRefresh = time.Now()
	k.mu.Unlock()
}

func (k *keyring) downloader() *downloader.CertificateDownloader {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.certs
}

// Verify implements auth.Verifier.
func (k *keyring) Verify(ctx context.Context, serial, message, signature string) error {
	if k.pub != nil && serial == k.pubID {
		return verifiers.NewSHA256WithRSAPubkeyVerifier(k.pubID, *k.pub).Verify(ctx, serial, message, signature)
	}
	d := k.downloader()
	if d == nil {
		return fmt.Errorf("wechatpay: serial %q is not the configured public key id %q", serial, k.pubID)
	}
	if _, ok := d.Get(ctx, serial); !ok || k.stale() {
		if err := k.refresh(ctx, false); err != nil {
			k.log.Warn("wechatpay platform certificate refresh failed", "serial", serial, "err", err)
		}
	}
	return verifiers.NewSHA256WithRSAVerifier(d).Verify(ctx, serial, message, signature)
}

// certMaxAge is how long downloaded certificates are used before the list is
// fetched again (the SDK uses 24h; new certificates appear 24h before use).
const certMaxAge = 12 * time.Hour

func (k *keyring) stale() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return time.Since(k.lastRefresh) > certMaxAge
}

// GetSerial implements auth.Verifier: the key we ask WeChat to sign answers
// with (Wechatpay-Serial request header). The public key wins when present.
func (k *keyring) GetSerial(ctx context.Context) (string, error) {
	if k.pub != nil {
		return k.pubID, nil
	}
	if d := k.downloader(); d != nil {
		return d.GetNewestSerial(ctx), nil
	}
	return "", fmt.Errorf("wechatpay: no verification key")
}

// refresh downloads the platform certificates again; unless forced, at most
// once a minute (an unknown serial must not turn every forged notification
// into a download).
func (k *keyring) refresh(ctx context.Context, force bool) error {
	k.mu.Lock()
	d := k.certs
	if d == nil || (!force && time.Since(k.lastRefresh) < time.Minute) {
		k.mu.Unlock()
		return nil
	}
	k.lastRefresh = time.Now()
	k.mu.Unlock()
	if err := d.DownloadCertificates(ctx); err != nil {
		return fmt.Errorf("wechatpay: refresh platform certificates: %w", err)
	}
	return nil
}
