package config_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"printpay.dev/printpay/server/config"
)

const full = `# printpay-server
listen = "127.0.0.1:9999"
public_url = "https://pay.example.com/"
database = "postgres://pp:s3cret@db/printpay"
nats = "nats://127.0.0.1:4222"
time_expire = "10m"

[[merchant]]
id = "noodles"
name = "老王面馆"
appid = "wx8888888888888888"
mchid = "1900000109"
serial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
private_key_file = "/keys/apiclient_key.pem"
apiv3_key_file = "/keys/apiv3.key"
wechatpay_public_key_file = "/keys/pub_key.pem"
wechatpay_public_key_id = "PUB_KEY_ID_0114232134912410000000000000"

[[merchant]]
id = "tea-2"
name = "Tea"
mode = "partner"
appid = "wxsp"
mchid = "1900000100"
sub_mchid = "1900000111"
serial = "AA"
private_key_file = "/k"
apiv3_key_file = "/a"
platform_certs = true
amount_cap_fen = 100000
timezone = "Asia/Hong_Kong"
business_day_starts = "06:30"
`

func TestParseFull(t *testing.T) {
	c, err := config.Parse("server.toml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.PublicURL != "https://pay.example.com" || c.TimeExpire != 10*time.Minute || c.NATS == "" {
		t.Fatalf("top level: %+v", c)
	}
	if len(c.Merchants) != 2 {
		t.Fatalf("merchants: %d", len(c.Merchants))
	}
	m := c.Merchants[0]
	if m.Mode != "direct" || m.AmountCapFen != 500000 || m.Timezone != "Asia/Shanghai" || m.BusinessDayStarts != "04:00" || m.Line != 8 {
		t.Fatalf("defaults: %+v", m)
	}
	p := c.Merchants[1]
	if p.SubMchID != "1900000111" || !p.PlatformCerts || p.AmountCapFen != 100000 || p.BusinessDayStarts != "06:30" || p.Line != 19 {
		t.Fatalf("partner: %+v", p)
	}
	// The database password is not printed.
	for _, s := range []string{c.String(), fmt.Sprint(slog.Any("c", c).Value.Resolve())} {
		if strings.Contains(s, "s3cret") {
			t.Fatalf("password in %q", s)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Parse("empty.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9280" || c.TimeExpire != 15*time.Minute || c.Database != "" || len(c.Merchants) != 0 {
		t.Fatalf("%+v", c)
	}
}

func TestErrors(t *testing.T) {
	merchant := func(extra string) string {
		return "[[merchant]]\nid = \"m\"\nname = \"M\"\nappid = \"a\"\nmchid = \"1\"\nserial = \"S\"\nprivate_key_file = \"/k\"\napiv3_key_file = \"/a\"\n" + extra
	}
	tests := []struct {
		name, in, want string
	}{
		// TOML syntax: the parser's line.
		{"syntax", "listen = \"a\"\nnats = \n", "x.toml:2: expected value but found '\\n' instead"},
		// A misspelt key is an error on its line, not silently ignored.
		{"unknown top", "listen = \"127.0.0.1:1\"\n\nlisen = \"x\"\n", `x.toml:3: unknown key "lisen"`},
		{"unknown in merchant", merchant("platform_certs = true\ncolour = \"red\"\n"), `x.toml:10: unknown key "merchant.colour"`},
		{"listen", "listen = \"nowhere\"\n", `x.toml:1: listen "nowhere": want host:port`},
		{"public_url", "\npublic_url = \"pay.example.com\"\n", `x.toml:2: public_url "pay.example.com": want http(s)://host[:port][/path]`},
		{"database", "database = \"mysql://x\"\n", "x.toml:1: database: want sqlite:<path> or postgres://..."},
		{"time_expire", "time_expire = \"3h\"\n", `x.toml:1: time_expire "3h": want a duration from 1m to 2h`},
		// Keys of a verifier are required.
		{"no verifier", merchant(""), "x.toml:1: merchant m: set wechatpay_public_key_file (with wechatpay_public_key_id) or platform_certs = true"},
		{"mode", merchant("platform_certs = true\nmode = \"agent\"\n"), `x.toml:10: merchant m: mode "agent": want direct or partner`},
		{"partner needs sub", merchant("platform_certs = true\nmode = \"partner\"\n"), "x.toml:1: merchant m: mode partner needs sub_mchid"},
		{"tz", merchant("platform_certs = true\ntimezone = \"Mars/Olympus\"\n"), `x.toml:10: merchant m: timezone "Mars/Olympus": unknown time zone Mars/Olympus`},
		{"day start", merchant("platform_certs = true\nbusiness_day_starts = \"4am\"\n"), `x.toml:10: merchant m: business_day_starts "4am": want HH:MM`},
		{"cap", merchant("platform_certs = true\namount_cap_fen = 0\n"), "x.toml:10: merchant m: amount_cap_fen must be positive"},
		{"duplicate id", merchant("platform_certs = true\n") + merchant("platform_certs = true\n"), `x.toml:11: merchant id "m" already used at line 2`},
		{"bad id", "[[merchant]]\nid = \"Big Shop\"\n", `x.toml:2: merchant id "Big Shop": want 1-32 of [a-z0-9_-]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("x.toml", []byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "k.pem")
	v3 := filepath.Join(dir, "v3")
	os.WriteFile(priv, []byte("-----BEGIN PRIVATE KEY-----\nSECRETPRIVATE\n-----END PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(v3, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	m := config.Merchant{ID: "m", PrivateKeyFile: priv, APIv3KeyFile: v3, PlatformCerts: true}
	k, err := m.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if string(k.APIv3Key) != "0123456789abcdef0123456789abcdef" || k.PublicKeyPEM != nil {
		t.Fatalf("keys read wrong")
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k)} {
		if strings.Contains(s, "SECRET") || strings.Contains(s, "0123456789abcdef") {
			t.Fatalf("key material printed: %s", s)
		}
	}
	os.WriteFile(v3, []byte("short"), 0o600)
	if _, err := m.Keys(); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("short key: %v", err)
	}
}
