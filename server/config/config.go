package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the server's configuration. The zero value is not useful;
// start from Default or Load.
type Config struct {
	Listen     string        // HTTP listener; default 127.0.0.1:9280
	PublicURL  string        // base URL the world reaches this server at (notify URLs, enroll answers)
	Database   string        // "sqlite:<path>" or "postgres://..."; "" = SQLite in the data directory
	NATS       string        // NATS URL; "" = in-process bus
	Sandbox    string        // sandbox address; only then are WeChat hosts redirected
	TimeExpire time.Duration // order QR lifetime; default 15m
	Merchants  []Merchant

	File string // the file it came from, for messages
}

// Merchant is one [[merchant]] block.
type Merchant struct {
	ID                string
	Name              string
	Mode              string // "direct" (default) or "partner"
	AppID             string
	MchID             string
	SubMchID          string
	SubAppID          string
	Serial            string
	PrivateKeyFile    string
	APIv3KeyFile      string
	PublicKeyFile     string // wechatpay_public_key_file
	PublicKeyID       string // wechatpay_public_key_id
	PlatformCerts     bool
	AmountCapFen      int64  // default 500000 (¥5,000)
	Timezone          string // default Asia/Shanghai
	BusinessDayStarts string // default "04:00"

	Line int // line of the [[merchant]] header
}

// Default listen address and order lifetime.
const (
	DefaultListen       = "127.0.0.1:9280"
	DefaultTimeExpire   = 15 * time.Minute
	DefaultAmountCapFen = 500000
)

// Default returns the configuration used without a file: SQLite in the
// data directory (Database left empty for the caller to fill), no
// merchants.
func Default() Config {
	return Config{Listen: DefaultListen, TimeExpire: DefaultTimeExpire}
}

// Error is a configuration error at a place in a file.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

type fileMerchant struct {
	ID                     string `toml:"id"`
	Name                   string `toml:"name"`
	Mode                   string `toml:"mode"`
	AppID                  string `toml:"appid"`
	MchID                  string `toml:"mchid"`
	SubMchID               string `toml:"sub_mchid"`
	SubAppID               string `toml:"sub_appid"`
	Serial                 string `toml:"serial"`
	PrivateKeyFile         string `toml:"private_key_file"`
	APIv3KeyFile           string `toml:"apiv3_key_file"`
	WechatpayPublicKeyFile string `toml:"wechatpay_public_key_file"`
	WechatpayPublicKeyID   string `toml:"wechatpay_public_key_id"`
	PlatformCerts          bool   `toml:"platform_certs"`
	AmountCapFen           *int64 `toml:"amount_cap_fen"`
	Timezone               string `toml:"timezone"`
	BusinessDayStarts      string `toml:"business_day_starts"`
}

type fileConfig struct {
	Listen     *string        `toml:"listen"`
	PublicURL  string         `toml:"public_url"`
	Database   string         `toml:"database"`
	NATS       string         `toml:"nats"`
	Sandbox    string         `toml:"sandbox"`
	TimeExpire string         `toml:"time_expire"`
	Merchant   []fileMerchant `toml:"merchant"`
}

// Load reads and validates the file.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a configuration from data; name is used in errors.
func Parse(name string, data []byte) (Config, error) {
	cfg := Default()
	cfg.File = name
	var fc fileConfig
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&fc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return cfg, &Error{File: name, Line: pe.Position.Line, Msg: pe.Message}
		}
		return cfg, &Error{File: name, Msg: err.Error()}
	}
	lines := indexLines(data)
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return cfg, &Error{File: name, Line: lines.find(k), Msg: fmt.Sprintf("unknown key %q", k.String())}
	}
	at := func(key ...string) int { return lines.find(toml.Key(key)) }
	fail := func(line int, format string, args ...any) error {
		return &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if fc.Listen != nil {
		cfg.Listen = *fc.Listen
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return cfg, fail(at("listen"), "listen %q: want host:port", cfg.Listen)
	}
	cfg.PublicURL = strings.TrimRight(fc.PublicURL, "/")
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fail(at("public_url"), "public_url %q: want http(s)://host[:port][/path]", fc.PublicURL)
		}
	}
	cfg.Database = fc.Database
	if d := cfg.Database; d != "" && !strings.HasPrefix(d, "sqlite:") && !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
		return cfg, fail(at("database"), "database: want sqlite:<path> or postgres://...")
	}
	if cfg.Database == "sqlite:" {
		return cfg, fail(at("database"), "database: sqlite: needs a path")
	}
	cfg.NATS = fc.NATS
	if cfg.NATS != "" && !strings.HasPrefix(cfg.NATS, "nats://") && !strings.HasPrefix(cfg.NATS, "tls://") {
		return cfg, fail(at("nats"), "nats %q: want nats://host:port", cfg.NATS)
	}
	cfg.Sandbox = fc.Sandbox
	if fc.TimeExpire != "" {
		d, err := time.ParseDuration(fc.TimeExpire)
		if err != nil || d < time.Minute || d > 2*time.Hour {
			return cfg, fail(at("time_expire"), "time_expire %q: want a duration from 1m to 2h", fc.TimeExpire)
		}
		cfg.TimeExpire = d
	}
	seen := map[string]int{}
	for i, fm := range fc.Merchant {
		line := lines.table("merchant", i)
		key := func(k string) int {
			if l := lines.findIn("merchant", i, k); l > 0 {
				return l
			}
			return line
		}
		m := Merchant{ID: fm.ID, Name: fm.Name, Mode: fm.Mode, AppID: fm.AppID, MchID: fm.MchID, SubMchID: fm.SubMchID,
			SubAppID: fm.SubAppID, Serial: fm.Serial, PrivateKeyFile: fm.PrivateKeyFile, APIv3KeyFile: fm.APIv3KeyFile,
			PublicKeyFile: fm.WechatpayPublicKeyFile, PublicKeyID: fm.WechatpayPublicKeyID, PlatformCerts: fm.PlatformCerts,
			AmountCapFen: DefaultAmountCapFen, Timezone: fm.Timezone, BusinessDayStarts: fm.BusinessDayStarts, Line: line}
		if m.Mode == "" {
			m.Mode = "direct"
		}
		if m.Timezone == "" {
			m.Timezone = "Asia/Shanghai"
		}
		if m.BusinessDayStarts == "" {
			m.BusinessDayStarts = "04:00"
		}
		if fm.AmountCapFen != nil {
			m.AmountCapFen = *fm.AmountCapFen
		}
		switch {
		case !validID(m.ID):
			return cfg, fail(key("id"), "merchant id %q: want 1-32 of [a-z0-9_-]", m.ID)
		case seen[m.ID] > 0:
			return cfg, fail(key("id"), "merchant id %q already used at line %d", m.ID, seen[m.ID])
		case m.Name == "":
			return cfg, fail(line, "merchant %s: name is required", m.ID)
		case m.Mode != "direct" && m.Mode != "partner":
			return cfg, fail(key("mode"), "merchant %s: mode %q: want direct or partner", m.ID, m.Mode)
		case m.AppID == "" || m.MchID == "":
			return cfg, fail(line, "merchant %s: appid and mchid are required", m.ID)
		case m.Mode == "partner" && m.SubMchID == "":
			return cfg, fail(line, "merchant %s: mode partner needs sub_mchid", m.ID)
		case m.Mode == "direct" && m.SubMchID != "":
			return cfg, fail(key("sub_mchid"), "merchant %s: sub_mchid needs mode = \"partner\"", m.ID)
		case m.Serial == "" || m.PrivateKeyFile == "" || m.APIv3KeyFile == "":
			return cfg, fail(line, "merchant %s: serial, private_key_file and apiv3_key_file are required", m.ID)
		case m.PublicKeyFile == "" && !m.PlatformCerts:
			return cfg, fail(line, "merchant %s: set wechatpay_public_key_file (with wechatpay_public_key_id) or platform_certs = true", m.ID)
		case m.PublicKeyFile != "" && m.PublicKeyID == "":
			return cfg, fail(key("wechatpay_public_key_file"), "merchant %s: wechatpay_public_key_file needs wechatpay_public_key_id", m.ID)
		case m.AmountCapFen <= 0:
			return cfg, fail(key("amount_cap_fen"), "merchant %s: amount_cap_fen must be positive", m.ID)
		}
		if _, err := time.LoadLocation(m.Timezone); err != nil {
			return cfg, fail(key("timezone"), "merchant %s: timezone %q: %v", m.ID, m.Timezone, err)
		}
		if !validDayStart(m.BusinessDayStarts) {
			return cfg, fail(key("business_day_starts"), "merchant %s: business_day_starts %q: want HH:MM", m.ID, m.BusinessDayStarts)
		}
		seen[m.ID] = key("id")
		cfg.Merchants = append(cfg.Merchants, m)
	}
	return cfg, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func validDayStart(s string) bool {
	if len(s) != 5 || s[2] != ':' {
		return false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	return err1 == nil && err2 == nil && h >= 0 && h < 24 && m >= 0 && m < 60
}

// String describes the configuration without secrets (there are none in
// it; key material stays in files).
func (c Config) String() string {
	ids := make([]string, len(c.Merchants))
	for i, m := range c.Merchants {
		ids[i] = m.ID
	}
	return fmt.Sprintf("listen=%s public_url=%s database=%s nats=%s sandbox=%s merchants=%s",
		c.Listen, c.PublicURL, redact(c.Database), redact(c.NATS), c.Sandbox, strings.Join(ids, ","))
}

// LogValue logs the configuration without passwords in URLs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", c.Listen), slog.String("public_url", c.PublicURL),
		slog.String("database", redact(c.Database)), slog.String("nats", redact(c.NATS)),
		slog.String("sandbox", c.Sandbox), slog.Int("merchants", len(c.Merchants)))
}

// redact drops the password of a URL-shaped string.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Keys is the key material of one merchant, read from its files.
type Keys struct {
	PrivateKeyPEM []byte
	APIv3Key      []byte
	PublicKeyPEM  []byte // nil when the merchant uses platform certificates only
}

// String keeps the key material out of logs.
func (Keys) String() string { return "config.Keys{…}" }

// GoString keeps %#v from printing the keys.
func (Keys) GoString() string { return "config.Keys{…}" }

// LogValue keeps the key material out of structured logs.
func (Keys) LogValue() slog.Value { return slog.StringValue("…") }

// Keys reads the merchant's key files. Errors name the file, never its
// content.
func (m Merchant) Keys() (Keys, error) {
	var k Keys
	var err error
	if k.PrivateKeyPEM, err = os.ReadFile(m.PrivateKeyFile); err != nil {
		return k, fmt.Errorf("config: merchant %s: private_key_file: %w", m.ID, err)
	}
	raw, err := os.ReadFile(m.APIv3KeyFile)
	if err != nil {
		return k, fmt.Errorf("config: merchant %s: apiv3_key_file: %w", m.ID, err)
	}
	k.APIv3Key = bytes.TrimSpace(raw)
	if len(k.APIv3Key) != 32 {
		return k, fmt.Errorf("config: merchant %s: apiv3_key_file %s: want 32 bytes, have %d", m.ID, m.APIv3KeyFile, len(k.APIv3Key))
	}
	if m.PublicKeyFile != "" {
		if k.PublicKeyPEM, err = os.ReadFile(m.PublicKeyFile); err != nil {
			return k, fmt.Errorf("config: merchant %s: wechatpay_public_key_file: %w", m.ID, err)
		}
	}
	return k, nil
}
