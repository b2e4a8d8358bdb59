package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Mode says which WeChat keys sign answers and notifications.
type Mode int

// Modes (wechatpay-v3.md §6).
const (
	// ModePublicKey: everything is signed with the WeChat Pay public key
	// (Wechatpay-Serial: PUB_KEY_ID_...); /v3/certificates answers 404.
	ModePublicKey Mode = iota
	// ModeCertificate: everything is signed with the platform certificate.
	ModeCertificate
	// ModeMigrating: answers are signed with the key the request's
	// Wechatpay-Serial names (the certificate when it names none);
	// notifications with a random mix of both (Config.NotifyPubKeyRatio).
	ModeMigrating
)

func (m Mode) String() string {
	switch m {
	case ModePublicKey:
		return "public-key"
	case ModeCertificate:
		return "certificate"
	case ModeMigrating:
		return "migrating"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads "public-key", "certificate" or "migrating".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "public-key", "publickey", "pubkey", "":
		return ModePublicKey, nil
	case "certificate", "cert":
		return ModeCertificate, nil
	case "migrating", "migration":
		return ModeMigrating, nil
	}
	return 0, fmt.Errorf("sandbox: mode %q: want public-key, certificate or migrating", s)
}

// RealRetrySchedule is WeChat's notification retry schedule: the delays
// between a failed delivery and the next one (about 24h4m in total).
var RealRetrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// ScaledRetrySchedule is RealRetrySchedule with every delay divided by div
// (a flag shortens it for demos and tests).
func ScaledRetrySchedule(div int64) []time.Duration {
	out := make([]time.Duration, len(RealRetrySchedule))
	for i, d := range RealRetrySchedule {
		out[i] = d / time.Duration(max(div, 1))
	}
	return out
}

// Config sets up a Sandbox. The zero value works: public-key mode, fresh
// keys, WeChat's real retry schedule.
type Config struct {
	Mode              Mode
	Keys              *Keys            // WeChat-side keys; nil = generate
	RetrySchedule     []time.Duration  // nil = RealRetrySchedule
	NotifyTimeout     time.Duration    // per delivery; default 5s, as WeChat
	NotifyPubKeyRatio float64          // migrating: share of notifications signed with the public key; default 0.5
	RefundDelay       time.Duration    // PROCESSING -> SUCCESS; default 1s
	QRLifetime        time.Duration    // code_url lifetime; default 2h
	Now               func() time.Time // the sandbox clock; default time.Now
	Logger            *slog.Logger
	HTTPClient        *http.Client // delivers notifications; default: plain client with NotifyTimeout
}

// Sandbox is the emulator. Create it with New, serve Handler (or call
// Serve), and Close it to stop notification deliveries.
type Sandbox struct {
	cfg  Config
	keys *Keys
	log  *slog.Logger
	hc   *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	skew       time.Duration
	merchants  map[string]*merchant // by mchid
	orders     map[orderKey]*order
	byTxn      map[string]*order
	refunds    map[string]*refund // by mchid/sub_mchid/out_refund_no
	nonces     map[string]time.Time
	nonceOrder []nonceSeen // the same nonces in the order seen
	faults     []*Fault
	plans      []NotifyPlan
	deliveries []Delivery
	inflight   int
	idle       chan struct{}
	nextMchID  int

	merchantKeys map[string]*rsa.PrivateKey

	certs      []platformCert // listed by /v3/certificates, oldest first
	activeCert int            // index of the certificate that signs
}

type merchant struct {
	mchid, appid string
	serial       string
	pub          *rsa.PublicKey
	apiv3        []byte
	subs         map[string]string // sub_mchid -> sub_appid ("" = none)
}

// New makes a sandbox; it generates keys unless cfg.Keys has them.
func New(cfg Config) (*Sandbox, error) {
	keys := cfg.Keys
	if keys == nil {
		var err error
		if keys, err = GenerateKeys(); err != nil {
			return nil, err
		}
	}
	if cfg.RetrySchedule == nil {
		cfg.RetrySchedule = RealRetrySchedule
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 5 * time.Second
	}
	if cfg.NotifyPubKeyRatio <= 0 {
		cfg.NotifyPubKeyRatio = 0.5
	}
	if cfg.RefundDelay <= 0 {
		cfg.RefundDelay = time.Second
	}
	if cfg.QRLifetime <= 0 {
		cfg.QRLifetime = 2 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.NotifyTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{
		cfg: cfg, keys: keys, log: log.With("component", "sandbox"), hc: hc,
		ctx: ctx, cancel: cancel,
		merchants: map[string]*merchant{}, orders: map[orderKey]*order{}, byTxn: map[string]*order{},
		refunds: map[string]*refund{}, nonces: map[string]time.Time{}, idle: make(chan struct{}),
		nextMchID: 1900000100,
		certs:     []platformCert{{key: keys.CertKey, cert: keys.Cert, pem: keys.CertPEM, serial: keys.CertSerial}},
	}, nil
}

// AddCertificate lists a new platform certificate (for key; nil = generate
// one) in /v3/certificates without signing with it yet, as WeChat publishes
// a new certificate a day before switching to it.
func (s *Sandbox) AddCertificate(key *rsa.PrivateKey) (serial string, err error) {
	if key == nil {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return "", fmt.Errorf("sandbox: platform key: %w", err)
		}
	}
	pc, err := newPlatformCert(key, s.cfg.Now())
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.certs = append(s.certs, pc)
	s.mu.Unlock()
	return pc.serial, nil
}

// UseCertificate makes the listed certificate with this serial the one
// that signs from now on.
func (s *Sandbox) UseCertificate(serial string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.certs {
		if c.serial == serial {
			s.activeCert = i
			return nil
		}
	}
	return fmt.Errorf("sandbox: no platform certificate %s", serial)
}

// cert returns the listed certificate with this serial, if any.
func (s *Sandbox) cert(serial string) (platformCert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.certs {
		if c.serial == serial {
			return c, true
		}
	}
	return platformCert{}, false
}

// Keys returns the WeChat-side keys.
func (s *Sandbox) Keys() *Keys { return s.keys }

// Mode returns the signing mode.
func (s *Sandbox) Mode() Mode { return s.cfg.Mode }

// now is the sandbox clock, skew included.
func (s *Sandbox) now() time.Time {
	s.mu.Lock()
	d := s.skew
	s.mu.Unlock()
	return s.cfg.Now().Add(d)
}

// SetClockSkew moves the sandbox clock by d: requests are judged against it
// and answers and notifications carry its timestamps.
func (s *Sandbox) SetClockSkew(d time.Duration) {
	s.mu.Lock()
	s.skew = d
	s.mu.Unlock()
}

// AddMerchant registers a merchant (or, with SubMchID, a sub-merchant of a
// service provider) and returns its credentials. Registering more
// sub-merchants under the same MchID reuses its key.
func (s *Sandbox) AddMerchant(m Merchant) (Credentials, error) {
	s.mu.Lock()
	existing := s.merchants[m.MchID]
	s.mu.Unlock()
	if existing == nil {
		key := m.PrivateKey
		if key == nil {
			var err error
			if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				return Credentials{}, fmt.Errorf("sandbox: merchant key: %w", err)
			}
		}
		if m.APIv3Key == "" {
			m.APIv3Key = randAlnum(32)
		}
		if len(m.APIv3Key) != 32 {
			return Credentials{}, errors.New("sandbox: apiv3 key must be 32 bytes")
		}
		s.mu.Lock()
		if m.MchID == "" {
			for s.merchants[fmt.Sprint(s.nextMchID)] != nil {
				s.nextMchID++
			}
			m.MchID = fmt.Sprint(s.nextMchID)
			s.nextMchID++
		}
		if m.AppID == "" {
			m.AppID = "wx" + strings.ToLower(randAlnum(16))
		}
		existing = s.merchants[m.MchID]
		if existing == nil {
			existing = &merchant{
				mchid: m.MchID, appid: m.AppID, serial: strings.ToUpper(randFrom("0123456789abcdef", 40)),
				pub: &key.PublicKey, apiv3: []byte(m.APIv3Key), subs: map[string]string{},
			}
			s.merchants[m.MchID] = existing
			s.privKeys(existing.mchid, key)
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Credentials{
		Mode: "direct", MchID: existing.mchid, AppID: existing.appid, Serial: existing.serial,
		PrivateKey: s.merchantKeys[existing.mchid], APIv3Key: string(existing.apiv3),
		PublicKey: &s.keys.PublicKey.PublicKey, PublicKeyID: s.keys.PublicKeyID, SandboxMode: s.cfg.Mode,
	}
	if s.cfg.Mode != ModePublicKey {
		c.PlatformCert, c.PlatformCertSerial = s.keys.Cert, s.keys.CertSerial
	}
	if m.SubMchID != "" || m.SubAppID != "" {
		if m.SubMchID == "" {
			m.SubMchID = fmt.Sprint(s.nextMchID)
			s.nextMchID++
		}
		existing.subs[m.SubMchID] = m.SubAppID
		c.Mode, c.SubMchID, c.SubAppID = "partner", m.SubMchID, m.SubAppID
	}
	return c, nil
}

// privKeys remembers merchant private keys so that Credentials can be handed
// out again; the sandbox itself verifies with the public half only.
func (s *Sandbox) privKeys(mchid string, k *rsa.PrivateKey) {
	if s.merchantKeys == nil {
		s.merchantKeys = map[string]*rsa.PrivateKey{}
	}
	s.merchantKeys[mchid] = k
}

// Serve serves the sandbox on ln until ctx is done, then shuts the server
// down and stops notification deliveries.
func (s *Sandbox) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		s.Close()
		return fmt.Errorf("sandbox: serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	s.Close()
	if err != nil {
		return fmt.Errorf("sandbox: shutdown: %w", err)
	}
	return nil
}

// Close stops notification deliveries and waits for them to end.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.cancel() // under mu: no delivery starts after this
	s.mu.Unlock()
	s.wg.Wait()
}

// Flush waits until no notification delivery is in flight (each one acked,
// given up, or dropped).
func (s *Sandbox) Flush(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.inflight == 0 {
			s.mu.Unlock()
			return nil
		}
		ch := s.idle
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("sandbox: flush: %w", ctx.Err())
		}
	}
}
