package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Keys is the WeChat side's key material: the "WeChat Pay public key" pair
// with its PUB_KEY_ID_, and the platform certificate with its private key.
// Generating RSA 2048 keys takes a moment, so tests make one Keys and share
// it (Config.Keys).
type Keys struct {
	PublicKey   *rsa.PrivateKey // signs in public-key mode; merchants hold its public half
	PublicKeyID string          // PUB_KEY_ID_ + 32 digits

	CertKey    *rsa.PrivateKey   // signs in certificate mode
	Cert       *x509.Certificate // the platform certificate
	CertPEM    []byte
	CertSerial string // upper-case hex of the serial's bytes, 40 characters
}

// GenerateKeys makes fresh WeChat-side keys.
func GenerateKeys() (*Keys, error) {
	pub, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: generate public key: %w", err)
	}
	certKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: generate platform key: %w", err)
	}
	k := &Keys{PublicKey: pub, PublicKeyID: "PUB_KEY_ID_" + randDigits(32)}
	pc, err := newPlatformCert(certKey, time.Now())
	if err != nil {
		return nil, err
	}
	k.CertKey, k.Cert, k.CertPEM, k.CertSerial = pc.key, pc.cert, pc.pem, pc.serial
	return k, nil
}

// platformCert is one platform certificate with its key.
type platformCert struct {
	key    *rsa.PrivateKey
	cert   *x509.Certificate
	pem    []byte
	serial string
}

// newPlatformCert makes a self-signed platform certificate for key.
func newPlatformCert(key *rsa.PrivateKey, now time.Time) (platformCert, error) {
	// 20 serial bytes with a non-zero first byte: the SDK writes serials as
	// %X of the bytes, which keeps a leading zero nibble; 40 characters.
	sn := make([]byte, 20)
	if _, err := rand.Read(sn); err != nil {
		return platformCert{}, err
	}
	sn[0] = 0x10 | sn[0]&0x7f
	tpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(sn),
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA sandbox", Organization: []string{"printpay sandbox"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return platformCert{}, fmt.Errorf("sandbox: platform certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return platformCert{}, err
	}
	return platformCert{
		key: key, cert: cert, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		serial: fmt.Sprintf("%X", cert.SerialNumber.Bytes()),
	}, nil
}

// Merchant describes a merchant to register. Empty fields are generated.
type Merchant struct {
	MchID      string          // direct mchid, or the service provider's sp_mchid
	AppID      string          // appid or sp_appid
	SubMchID   string          // when set: a sub-merchant of MchID (partner mode)
	SubAppID   string          // optional sub_appid of the sub-merchant
	PrivateKey *rsa.PrivateKey // merchant API key; nil = generate (slow-ish)
	APIv3Key   string          // 32 bytes; "" = generate
}

// Credentials is everything a merchant configuration needs to talk to the
// sandbox, all generated at run time.
type Credentials struct {
	Mode     string // "direct" or "partner"
	MchID    string // mchid or sp_mchid
	AppID    string // appid or sp_appid
	SubMchID string
	SubAppID string

	Serial     string // merchant API certificate serial
	PrivateKey *rsa.PrivateKey
	APIv3Key   string

	PublicKey          *rsa.PublicKey // WeChat Pay public key
	PublicKeyID        string
	PlatformCert       *x509.Certificate // the platform certificate (certificate and migrating modes)
	PlatformCertSerial string
	SandboxMode        Mode // which keys the sandbox signs with
}

// Files written by WriteFiles.
const (
	FilePrivateKey   = "apiclient_key.pem"
	FileAPIv3Key     = "apiv3_key.txt"
	FilePublicKey    = "pub_key.pem"
	FilePublicKeyID  = "pub_key_id.txt"
	FilePlatformCert = "platform_cert.pem"
	FileMerchantTOML = "merchant.toml"
)

// WriteFiles writes the credentials into dir as PEM and text files (secrets
// owner-only) plus merchant.toml, a [[merchant]] block pointing at them;
// sandboxAddr, when not empty, goes into a `sandbox =` line for the server's
// config.
func (c Credentials) WriteFiles(dir, sandboxAddr string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(c.PublicKey)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{FilePrivateKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600},
		{FileAPIv3Key, []byte(c.APIv3Key + "\n"), 0o600},
		{FilePublicKey, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644},
		{FilePublicKeyID, []byte(c.PublicKeyID + "\n"), 0o644},
	}
	if c.PlatformCert != nil {
		files = append(files, struct {
			name string
			data []byte
			mode os.FileMode
		}{FilePlatformCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.PlatformCert.Raw}), 0o644})
	}
	files = append(files, struct {
		name string
		data []byte
		mode os.FileMode
	}{FileMerchantTOML, []byte(c.toml(abs, sandboxAddr)), 0o644})
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	return nil
}

func (c Credentials) toml(dir, sandboxAddr string) string {
	var b strings.Builder
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	if sandboxAddr != "" {
		fmt.Fprintf(&b, "sandbox = %s\n\n", q(sandboxAddr))
	}
	b.WriteString("[[merchant]]\n")
	fmt.Fprintf(&b, "id = %s\nname = %s\nmode = %s\n", q("sandbox"), q("Sandbox shop"), q(c.Mode))
	fmt.Fprintf(&b, "appid = %s\nmchid = %s\n", q(c.AppID), q(c.MchID))
	if c.SubMchID != "" {
		fmt.Fprintf(&b, "sub_mchid = %s\n", q(c.SubMchID))
	}
	if c.SubAppID != "" {
		fmt.Fprintf(&b, "sub_appid = %s\n", q(c.SubAppID))
	}
	fmt.Fprintf(&b, "serial = %s\n", q(c.Serial))
	fmt.Fprintf(&b, "private_key_file = %s\n", q(filepath.Join(dir, FilePrivateKey)))
	fmt.Fprintf(&b, "apiv3_key_file = %s\n", q(filepath.Join(dir, FileAPIv3Key)))
	if c.SandboxMode != ModeCertificate {
		fmt.Fprintf(&b, "wechatpay_public_key_file = %s\n", q(filepath.Join(dir, FilePublicKey)))
		fmt.Fprintf(&b, "wechatpay_public_key_id = %s\n", q(c.PublicKeyID))
	}
	fmt.Fprintf(&b, "platform_certs = %t\n", c.SandboxMode != ModePublicKey)
	return b.String()
}

const digits = "0123456789"
const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randFrom(set string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = set[int(b[i])%len(set)]
	}
	return string(b)
}

func randDigits(n int) string { return randFrom(digits, n) }
func randAlnum(n int) string  { return randFrom(alnum, n) }
