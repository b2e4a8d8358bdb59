package wechatpay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// keyring is the auth.Verifier behind both the API client and the
// notification handler: a map from Wechatpay-Serial to key. The public key
// id selects the WeChat Pay public key; any other serial a platform
// certificate (when the merchant has them). That covers public-key,
// certificate and migrating merchants, with the SDK's own verifiers doing
// the RSA work and the SDK's validators around them checking the headers
// and the 5-minute window.
//
// Platform certificates are fetched from /v3/certificates by our own small
// downloader rather than the SDK's, so that rotation works: an answer signed
// with a certificate we have not seen yet triggers one download (at most one
// a minute), and the list is accepted when its answer is signed by the public
// key, a certificate we already trust, or a certificate in the list itself —
// whose content the APIv3-key AEAD has already authenticated. The SDK's
// downloader instead verifies a new list only with the old certificates, and
// stalls once WeChat signs with a certificate it has not fetched.
type keyring struct {
	pubID string
	pub   *rsa.PublicKey
	log   *slog.Logger

	apiv3 string
	dl    *core.Client // unverified client for /v3/certificates; nil without certificates

	mu          sync.Mutex
	certs       *core.CertificateMap // replaced, never modified; nil without certificates
	lastRefresh time.Time
}

// certMaxAge is how long downloaded certificates are used before the list is
// fetched again (the SDK uses 24h; new certificates appear 24h before use).
const certMaxAge = 12 * time.Hour

// certRefreshMin bounds how often an unknown serial may trigger a download,
// so forged notifications cannot turn into a download storm.
const certRefreshMin = time.Minute

func (k *keyring) certMap() *core.CertificateMap {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.certs
}

func (k *keyring) stale() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return time.Since(k.lastRefresh) > certMaxAge
}

// Verify implements auth.Verifier.
func (k *keyring) Verify(ctx context.Context, serial, message, signature string) error {
	if k.pub != nil && serial == k.pubID {
		return verifiers.NewSHA256WithRSAPubkeyVerifier(k.pubID, *k.pub).Verify(ctx, serial, message, signature)
	}
	certs := k.certMap()
	if certs == nil {
		return fmt.Errorf("wechatpay: serial %q is not the configured public key id %q", serial, k.pubID)
	}
	if _, ok := certs.Get(ctx, serial); (!ok || k.stale()) && k.dl != nil {
		if err := k.refresh(ctx, false); err != nil {
			k.log.Warn("wechatpay platform certificate refresh failed", "serial", serial, "err", err)
		}
		certs = k.certMap()
	}
	return verifiers.NewSHA256WithRSAVerifier(certs).Verify(ctx, serial, message, signature)
}

// GetSerial implements auth.Verifier: the key we ask WeChat to sign answers
// with (Wechatpay-Serial request header). The public key wins when present.
func (k *keyring) GetSerial(ctx context.Context) (string, error) {
	if k.pub != nil {
		return k.pubID, nil
	}
	if certs := k.certMap(); certs != nil {
		return certs.GetNewestSerial(ctx), nil
	}
	return "", errors.New("wechatpay: no verification key")
}

// refresh downloads the platform certificates again; unless forced, at most
// once a minute.
func (k *keyring) refresh(ctx context.Context, force bool) error {
	if k.dl == nil {
		return nil
	}
	k.mu.Lock()
	if !force && time.Since(k.lastRefresh) < certRefreshMin {
		k.mu.Unlock()
		return nil
	}
	k.lastRefresh = time.Now()
	k.mu.Unlock()
	return k.download(ctx)
}

// download fetches, decrypts and checks the platform certificate list:
//
//	{"data":[{"serial_no","effective_time","expire_time",
//	  "encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","nonce","associated_data":"certificate","ciphertext"}}]}
func (k *keyring) download(ctx context.Context) error {
	res, err := k.dl.Get(ctx, consts.WechatPayAPIServer+"/v3/certificates")
	if err != nil {
		return classify("download certificates", res, err)
	}
	body, err := io.ReadAll(io.LimitReader(res.Response.Body, 1<<20))
	res.Response.Body.Close()
	if err != nil {
		return fmt.Errorf("wechatpay: download certificates: %w: %w", ErrUnavailable, err)
	}
	var list struct {
		Data []struct {
			SerialNo string `json:"serial_no"`
			Enc      struct {
				Algorithm      string `json:"algorithm"`
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
				Ciphertext     string `json:"ciphertext"`
			} `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("wechatpay: certificate list: %w: %w", ErrBadResponse, err)
	}
	now := time.Now()
	fresh := map[string]*x509.Certificate{}
	for _, d := range list.Data {
		if d.Enc.Algorithm != "AEAD_AES_256_GCM" {
			return fmt.Errorf("wechatpay: certificate %s: %w: algorithm %q", d.SerialNo, ErrBadResponse, d.Enc.Algorithm)
		}
		plain, err := utils.DecryptAES256GCM(k.apiv3, d.Enc.AssociatedData, d.Enc.Nonce, d.Enc.Ciphertext)
		if err != nil {
			return fmt.Errorf("wechatpay: certificate %s: %w: decrypt (wrong APIv3 key?): %v", d.SerialNo, ErrBadResponse, err)
		}
		cert, err := utils.LoadCertificate(plain)
		if err != nil {
			return fmt.Errorf("wechatpay: certificate %s: %w: %v", d.SerialNo, ErrBadResponse, err)
		}
		// Serials are the upper-case hex of the serial's bytes, leading
		// zero kept (wechatpay-v3.md §5).
		if got := fmt.Sprintf("%X", cert.SerialNumber.Bytes()); got != d.SerialNo {
			return fmt.Errorf("wechatpay: certificate %s: %w: its serial is %s", d.SerialNo, ErrBadResponse, got)
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return fmt.Errorf("wechatpay: certificate %s: %w: not RSA", d.SerialNo, ErrBadResponse)
		}
		if now.After(cert.NotAfter) {
			k.log.Warn("wechatpay platform certificate expired; ignored", "serial", d.SerialNo, "not_after", cert.NotAfter)
			continue
		}
		fresh[d.SerialNo] = cert
	}
	if len(fresh) == 0 {
		return fmt.Errorf("wechatpay: certificate list: %w: no valid certificate", ErrBadResponse)
	}
	// The answer must verify with a key we trust or one the list brings.
	trusted := map[string]*x509.Certificate{}
	if old := k.certMap(); old != nil {
		trusted = old.GetAll(ctx)
	}
	for s, c := range fresh {
		trusted[s] = c
	}
	check := &keyring{pubID: k.pubID, pub: k.pub, log: k.log, certs: core.NewCertificateMap(trusted)}
	res.Response.Body = io.NopCloser(bytes.NewReader(body))
	if err := validators.NewWechatPayResponseValidator(check).Validate(ctx, res.Response); err != nil {
		return fmt.Errorf("wechatpay: certificate list: %w: %v", ErrBadResponse, err)
	}
	k.mu.Lock()
	k.certs = core.NewCertificateMap(fresh)
	k.mu.Unlock()
	k.log.Info("wechatpay platform certificates loaded", "count", len(fresh))
	return nil
}
