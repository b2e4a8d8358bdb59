package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
	_ "time/tzdata" // merchants' time zones on hosts (and Windows) without a zoneinfo database

	"printpay.dev/printpay/server/api"
	"printpay.dev/printpay/server/bus"
	"printpay.dev/printpay/server/config"
	"printpay.dev/printpay/server/store"
	"printpay.dev/printpay/server/wechatpay"
)

// serverFlags are the flags serve, migrate and merchant share.
type serverFlags struct {
	config  string
	dataDir string
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "server TOML (DESIGN §6.3); none: SQLite in the data directory, no merchants")
	fs.StringVar(&f.dataDir, "data-dir", "", "where the default SQLite database lives (default ~/.printpay-server)")
}

// load reads the configuration and fills in the default database.
func (f *serverFlags) load() (config.Config, error) {
	cfg := config.Default()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return cfg, err
		}
	}
	if cfg.Database == "" {
		dir := f.dataDir
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return cfg, fmt.Errorf("no --data-dir and no home directory: %w", err)
			}
			dir = filepath.Join(home, ".printpay-server")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return cfg, err
		}
		path := filepath.Join(dir, "printpay-server.db")
		// Owner-only from the start: SQLite would create it world-readable.
		if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
		cfg.Database = "sqlite:" + path
	}
	return cfg, nil
}

// openStore opens and migrates the configured database.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, int, error) {
	st, err := store.Open(ctx, cfg.Database)
	if err != nil {
		return nil, 0, err
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, 0, err
	}
	return st, n, nil
}

func newLogger(s stdio) *slog.Logger {
	return slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func cmdServe(ctx context.Context, s stdio, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(s.err)
	var f serverFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := newLogger(s)
	cfg, err := f.load()
	if err != nil {
		fmt.Fprintln(s.err, "printpay-server serve:", err)
		return 1
	}
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

// serve runs one node until ctx is done.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	st, migrated, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("database ready", "database", store.RedactDSN(cfg.Database), "migrations_applied", migrated)

	var b bus.Bus = bus.NewLocal()
	if cfg.NATS != "" {
		nb, err := bus.DialNATS(cfg.NATS, "")
		if err != nil {
			return err
		}
		b = nb
		log.Info("bus: nats", "url", store.RedactDSN(cfg.NATS))
	}
	defer b.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	public := cfg.PublicURL
	if public == "" {
		public = "http://" + ln.Addr().String()
	}
	srv, err := api.New(api.Options{Store: st, Bus: b, Logger: log, PublicURL: public, TimeExpire: cfg.TimeExpire})
	if err != nil {
		ln.Close()
		return err
	}
	if err := addMerchants(ctx, srv, st, cfg, log); err != nil {
		ln.Close()
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "public_url", public, "sandbox", cfg.Sandbox)
	return srv.Serve(ctx, ln)
}

// addMerchants stores the config's merchants and wires every merchant in
// the database (those from `merchant add` too) to WeChat Pay.
func addMerchants(ctx context.Context, srv *api.Server, st *store.Store, cfg config.Config, log *slog.Logger) error {
	for _, m := range cfg.Merchants {
		if _, err := st.PutMerchant(ctx, storeMerchant(m)); err != nil {
			return fmt.Errorf("%s:%d: %w", cfg.File, m.Line, err)
		}
	}
	all, err := st.Merchants(ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		log.Warn("no merchants yet: add one with `printpay-server merchant add --id ID --name NAME --appid ... --mchid ... " +
			"--serial ... --private-key-file ... --apiv3-key-file ... --wechatpay-public-key-file ... --wechatpay-public-key-id ...` " +
			"(or a [[merchant]] block in the config), then mint a pairing code with `printpay-server merchant code --id ID`")
	}
	inConfig := map[string]bool{}
	for _, m := range cfg.Merchants {
		inConfig[m.ID] = true
	}
	for _, m := range all {
		wc, err := wechatConfig(configMerchant(m), cfg.Sandbox)
		if err == nil {
			err = srv.AddWechatMerchant(ctx, m, wc)
		}
		if err != nil {
			if inConfig[m.ID] {
				return err
			}
			// A merchant added earlier whose key files are gone must not
			// keep the other merchants from being served.
			log.Error("merchant not served", "merchant", m.ID, "err", err)
			continue
		}
		log.Info("merchant ready", "merchant", m.ID, "mode", m.Mode, "wechatpay", wc)
	}
	return nil
}

func storeMerchant(m config.Merchant) store.Merchant {
	return store.Merchant{ID: m.ID, Name: m.Name, Mode: m.Mode, AppID: m.AppID, MchID: m.MchID, SubMchID: m.SubMchID,
		SubAppID: m.SubAppID, Serial: m.Serial, PrivateKeyFile: m.PrivateKeyFile, APIv3KeyFile: m.APIv3KeyFile,
		PublicKeyFile: m.PublicKeyFile, PublicKeyID: m.PublicKeyID, PlatformCerts: m.PlatformCerts,
		AmountCapFen: m.AmountCapFen, Timezone: m.Timezone, BusinessDayStarts: m.BusinessDayStarts}
}

func configMerchant(m store.Merchant) config.Merchant {
	return config.Merchant{ID: m.ID, Name: m.Name, Mode: m.Mode, AppID: m.AppID, MchID: m.MchID, SubMchID: m.SubMchID,
		SubAppID: m.SubAppID, Serial: m.Serial, PrivateKeyFile: m.PrivateKeyFile, APIv3KeyFile: m.APIv3KeyFile,
		PublicKeyFile: m.PublicKeyFile, PublicKeyID: m.PublicKeyID, PlatformCerts: m.PlatformCerts,
		AmountCapFen: m.AmountCapFen, Timezone: m.Timezone, BusinessDayStarts: m.BusinessDayStarts}
}

// wechatConfig reads the merchant's key files into a client configuration.
func wechatConfig(m config.Merchant, sandbox string) (wechatpay.Config, error) {
	keys, err := m.Keys()
	if err != nil {
		return wechatpay.Config{}, err
	}
	priv, err := wechatpay.ParsePrivateKey(keys.PrivateKeyPEM)
	if err != nil {
		return wechatpay.Config{}, fmt.Errorf("merchant %s: private_key_file %s: %w", m.ID, m.PrivateKeyFile, err)
	}
	wc := wechatpay.Config{ID: m.ID, Mode: wechatpay.Mode(m.Mode), AppID: m.AppID, MchID: m.MchID, SubMchID: m.SubMchID,
		SubAppID: m.SubAppID, Serial: m.Serial, PrivateKey: priv, APIv3Key: keys.APIv3Key, PublicKeyID: m.PublicKeyID,
		PlatformCerts: m.PlatformCerts, Sandbox: sandbox, Timeout: 5 * time.Second}
	if keys.PublicKeyPEM != nil {
		if wc.PublicKey, err = wechatpay.ParsePublicKey(keys.PublicKeyPEM); err != nil {
			return wechatpay.Config{}, fmt.Errorf("merchant %s: wechatpay_public_key_file %s: %w", m.ID, m.PublicKeyFile, err)
		}
	}
	if err := wc.Validate(); err != nil {
		return wechatpay.Config{}, fmt.Errorf("merchant %s: %w", m.ID, err)
	}
	return wc, nil
}
