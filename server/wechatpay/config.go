package wechatpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"time"
)

// Mode says whether a merchant configuration is a direct merchant or a
// service provider ordering for a sub-merchant.
type Mode string

// Merchant modes (DESIGN §6.3 `mode`).
const (
	ModeDirect  Mode = "direct"
	ModePartner Mode = "partner"
)

// Config is one merchant configuration (DESIGN §6.3 `[[merchant]]`). Keys
// arrive already loaded: the server's config loader reads the files.
type Config struct {
	ID       string // merchant config id, used in logs
	Mode     Mode   // direct (default) or partner
	AppID    string // appid (direct) or sp_appid (partner)
	MchID    string // mchid (direct) or sp_mchid (partner); signs requests
	SubMchID string // partner: the sub-merchant the orders belong to
	SubAppID string // partner, optional: sub_appid

	Serial     string          // merchant API certificate serial (serial_no)
	PrivateKey *rsa.PrivateKey // merchant API private key (apiclient_key.pem)
	APIv3Key   []byte          // 32 bytes; decrypts notifications and certificates

	PublicKey     *rsa.PublicKey // WeChat Pay public key (pub_key.pem); nil when none
	PublicKeyID   string         // PUB_KEY_ID_...
	PlatformCerts bool           // also verify with platform certificates from /v3/certificates

	NotifyURL string // absolute URL WeChat posts payment and refund notifications to

	// Sandbox, when not empty, is the address (host:port or http://host:port)
	// of a printpay sandbox: requests for the WeChat API hosts go there over
	// plain HTTP. Empty means the real service.
	Sandbox string

	Timeout      time.Duration // per HTTP request; default 10s
	Retries      int           // extra attempts for retryable failures; default 2, <0 = none
	RetryBackoff time.Duration // first retry delay, doubled each time; default 300ms
}

var (
	reMchID      = regexp.MustCompile(`^[0-9]{1,32}$`)
	rePubKeyID   = regexp.MustCompile(`^PUB_KEY_ID_[0-9A-Za-z_]{1,64}$`)
	reSerial     = regexp.MustCompile(`^[0-9A-Fa-f]{1,64}$`)
	reOutTradeNo = regexp.MustCompile(`^[0-9A-Za-z_\-*|]{6,32}$`)
)

// Validate checks the configuration's fields and their combinations.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.Mode {
	case ModeDirect, "":
		if c.SubMchID != "" || c.SubAppID != "" {
			bad("sub_mchid/sub_appid set in direct mode")
		}
	case ModePartner:
		if !reMchID.MatchString(c.SubMchID) {
			bad("partner mode needs a numeric sub_mchid, got %q", c.SubMchID)
		}
	default:
		bad("mode %q is not direct or partner", c.Mode)
	}
	if c.AppID == "" || len(c.AppID) > 32 {
		bad("appid must be 1-32 characters")
	}
	if !reMchID.MatchString(c.MchID) {
		bad("mchid must be digits, got %q", c.MchID)
	}
	if !reSerial.MatchString(c.Serial) {
		bad("serial must be the merchant certificate's hex serial")
	}
	if c.PrivateKey == nil {
		bad("private key missing")
	} else if c.PrivateKey.N.BitLen() < 2048 {
		bad("private key has %d bits, need RSA 2048", c.PrivateKey.N.BitLen())
	}
	if len(c.APIv3Key) != 32 {
		bad("apiv3 key must be 32 bytes, got %d", len(c.APIv3Key))
	}
	if c.PublicKey == nil && !c.PlatformCerts {
		bad("no way to verify WeChat: set a WeChat Pay public key, platform_certs, or both")
	}
	if c.PublicKey != nil && !rePubKeyID.MatchString(c.PublicKeyID) {
		bad("wechatpay public key id must look like PUB_KEY_ID_..., got %q", c.PublicKeyID)
	}
	if c.PublicKey == nil && c.PublicKeyID != "" {
		bad("wechatpay public key id set without the public key")
	}
	if c.NotifyURL != "" {
		u, err := url.Parse(c.NotifyURL)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "":
			bad("notify url %q is not an absolute URL", c.NotifyURL)
		case u.RawQuery != "" || u.ForceQuery:
			bad("notify url must not have a query string")
		case u.Scheme != "https" && (u.Scheme != "http" || c.Sandbox == ""):
			bad("notify url must be https (plain http only with a sandbox)")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("wechatpay: merchant %q: %w", c.ID, errors.Join(errs...))
	}
	return nil
}

func (c Config) partner() bool { return c.Mode == ModePartner }

// LogValue shows the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", c.ID),
		slog.String("mode", string(c.modeOrDefault())),
		slog.String("mchid", c.MchID),
		slog.String("sub_mchid", c.SubMchID),
		slog.String("serial", c.Serial),
		slog.String("public_key_id", c.PublicKeyID),
		slog.Bool("platform_certs", c.PlatformCerts),
		slog.String("sandbox", c.Sandbox),
	)
}

// String describes the configuration without secrets.
func (c Config) String() string {
	return fmt.Sprintf("wechatpay.Config{id=%s mode=%s mchid=%s sub_mchid=%s serial=%s public_key_id=%s platform_certs=%t sandbox=%q}",
		c.ID, c.modeOrDefault(), c.MchID, c.SubMchID, c.Serial, c.PublicKeyID, c.PlatformCerts, c.Sandbox)
}

// GoString keeps %#v from printing the keys.
func (c Config) GoString() string { return c.String() }

func (c Config) modeOrDefault() Mode {
	if c.Mode == "" {
		return ModeDirect
	}
	return c.Mode
}

// ParsePrivateKey reads a merchant private key (PKCS#8 or PKCS#1 PEM).
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		return nil, errors.New("wechatpay: private key: no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("wechatpay: private key: not RSA")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: private key: %w", err)
	}
	return k, nil
}

// ParsePublicKey reads the WeChat Pay public key (PKIX or PKCS#1 PEM).
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		return nil, errors.New("wechatpay: public key: no PEM block")
	}
	if k, err := x509.ParsePKIXPublicKey(b.Bytes); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("wechatpay: public key: not RSA")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: public key: %w", err)
	}
	return k, nil
}
