package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	authScheme   = "WECHATPAY2-SHA256-RSA2048"
	clockWindow  = 5 * time.Minute
	nonceWindow  = 10 * time.Minute
	probePrefix  = "WECHATPAY/SIGNTEST/"
	maxNonceSize = 64
)

// authHeader is a parsed Authorization header:
//
//	WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="...",timestamp="1554208460",serial_no="...",signature="<base64>"
//
// The five k="v" pairs may come in any order; all are required.
type authHeader struct {
	mchid, nonce, serial, signature string
	timestamp                       int64
}

func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok || scheme != authScheme {
		return a, fmt.Errorf("authorization scheme must be %s", authScheme)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return a, fmt.Errorf("authorization: malformed pair %q", part)
		}
		v = v[1 : len(v)-1]
		if seen[k] {
			return a, fmt.Errorf("authorization: %s twice", k)
		}
		seen[k] = true
		switch k {
		case "mchid":
			a.mchid = v
		case "nonce_str":
			a.nonce = v
		case "serial_no":
			a.serial = v
		case "signature":
			a.signature = v
		case "timestamp":
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return a, errors.New("authorization: timestamp is not an integer")
			}
			a.timestamp = ts
		default:
			return a, fmt.Errorf("authorization: unknown field %q", k)
		}
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if !seen[k] {
			return a, fmt.Errorf("authorization: %s missing", k)
		}
	}
	if a.nonce == "" || len(a.nonce) > maxNonceSize {
		return a, errors.New("authorization: bad nonce_str")
	}
	return a, nil
}

// authenticate checks the merchant's request signature: the scheme and five
// fields, a registered mchid with its certificate serial, the timestamp
// within ±5 minutes of the sandbox clock, a nonce not seen in 10 minutes, and
// RSASSA-PKCS1-v1_5 SHA-256 over
//
//	METHOD\nREQUEST_URI\nTIMESTAMP\nNONCE\nBODY\n
//
// where REQUEST_URI is the raw request-target as sent (escapes kept).
func (s *Sandbox) authenticate(r *http.Request, body []byte) (*merchant, error) {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	now := s.now()
	s.mu.Lock()
	m := s.merchants[a.mchid]
	s.mu.Unlock()
	if m == nil {
		return nil, fmt.Errorf("mchid %q unknown", a.mchid)
	}
	if !strings.EqualFold(a.serial, m.serial) {
		return nil, fmt.Errorf("serial_no %q is not the merchant's certificate", a.serial)
	}
	if d := now.Sub(time.Unix(a.timestamp, 0)); d > clockWindow || d < -clockWindow {
		return nil, fmt.Errorf("timestamp %d is %s away from the sandbox clock", a.timestamp, d.Round(time.Second))
	}
	sig, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return nil, errors.New("signature is not base64")
	}
	msg := fmt.Sprintf("%s\n%s\n%d\n%s\n%s\n", r.Method, r.RequestURI, a.timestamp, a.nonce, body)
	h := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(m.pub, crypto.SHA256, h[:], sig); err != nil {
		return nil, errors.New("signature does not verify with the merchant's key")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forget nonces older than the window, oldest first (they were
	// recorded in order), so each request costs O(1) amortised.
	for len(s.nonceOrder) > 0 && now.Sub(s.nonceOrder[0].at) > nonceWindow {
		delete(s.nonces, s.nonceOrder[0].key)
		s.nonceOrder = s.nonceOrder[1:]
	}
	key := m.mchid + "/" + a.nonce
	if _, used := s.nonces[key]; used {
		return nil, fmt.Errorf("nonce_str %q reused", a.nonce)
	}
	s.nonces[key] = now
	s.nonceOrder = append(s.nonceOrder, nonceSeen{key, now})
	return m, nil
}

type nonceSeen struct {
	key string
	at  time.Time
}

// signer picks the WeChat key: its serial (PUB_KEY_ID_ or certificate
// serial) and private key.
type signer struct {
	serial string
	key    *rsa.PrivateKey
}

func (s *Sandbox) pubSigner() signer { return signer{s.keys.PublicKeyID, s.keys.PublicKey} }
func (s *Sandbox) certSigner() signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.certs[s.activeCert]
	return signer{c.serial, c.key}
}

// knownSerial reports whether a Wechatpay-Serial request header names a key
// this mode has.
func (s *Sandbox) knownSerial(serial string) bool {
	_, isCert := s.cert(serial)
	switch s.cfg.Mode {
	case ModePublicKey:
		return serial == s.keys.PublicKeyID
	case ModeCertificate:
		return isCert
	}
	return serial == s.keys.PublicKeyID || isCert
}

// answerSigner follows §6: public-key mode always signs with the public key,
// certificate mode with the certificate, and migrating mode with whichever
// the request's Wechatpay-Serial names, the certificate by default.
func (s *Sandbox) answerSigner(reqSerial string) signer {
	switch s.cfg.Mode {
	case ModePublicKey:
		return s.pubSigner()
	case ModeCertificate:
		return s.certSigner()
	}
	if reqSerial == s.keys.PublicKeyID {
		return s.pubSigner()
	}
	if c, ok := s.cert(reqSerial); ok {
		return signer{c.serial, c.key}
	}
	return s.certSigner()
}

// notifySigner: in migrating mode a random mix, as WeChat's 7-day ramp.
func (s *Sandbox) notifySigner() signer {
	switch s.cfg.Mode {
	case ModePublicKey:
		return s.pubSigner()
	case ModeCertificate:
		return s.certSigner()
	}
	if mrand.Float64() < s.cfg.NotifyPubKeyRatio {
		return s.pubSigner()
	}
	return s.certSigner()
}

// signHeaders sets the Wechatpay-* headers over TIMESTAMP\nNONCE\nBODY\n.
func (s *Sandbox) signHeaders(h http.Header, sg signer, body []byte, how Signing, skew time.Duration) {
	if how == SignNone {
		return
	}
	ts := s.now().Add(skew).Unix()
	nonce := randAlnum(32)
	msg := fmt.Sprintf("%d\n%s\n%s\n", ts, nonce, body)
	if how == SignForged {
		msg += "forged"
	}
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(cryptoRand, sg.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("sandbox: sign: %v", err)) // only on a broken key
	}
	enc := base64.StdEncoding.EncodeToString(sig)
	if how == SignProbe {
		// Valid base64 that starts with the probe prefix and verifies with
		// nothing: "WECHATPAY/SIGNTEST/" is itself base64 text.
		enc = probePrefix + enc[len(probePrefix):]
	}
	h.Set("Wechatpay-Serial", sg.serial)
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", enc)
	h.Set("Wechatpay-Signature-Type", authScheme)
}

var cryptoRand = rand.Reader
