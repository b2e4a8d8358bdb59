package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations are applied in order; each runs in its own transaction and is
// recorded in schema_migrations. Append, never edit.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE merchants (
	id                    TEXT PRIMARY KEY,
	name                  TEXT NOT NULL,
	mode                  TEXT NOT NULL DEFAULT 'direct',
	appid                 TEXT NOT NULL DEFAULT '',
	mchid                 TEXT NOT NULL DEFAULT '',
	sub_mchid             TEXT NOT NULL DEFAULT '',
	sub_appid             TEXT NOT NULL DEFAULT '',
	serial                TEXT NOT NULL DEFAULT '',
	private_key_file      TEXT NOT NULL DEFAULT '',
	apiv3_key_file        TEXT NOT NULL DEFAULT '',
	public_key_file       TEXT NOT NULL DEFAULT '',
	public_key_id         TEXT NOT NULL DEFAULT '',
	platform_certs        INTEGER NOT NULL DEFAULT 0,
	amount_cap_fen        BIGINT NOT NULL,
	timezone              TEXT NOT NULL,
	business_day_starts   TEXT NOT NULL,
	created_at            BIGINT NOT NULL
);
CREATE TABLE devices (
	id              TEXT PRIMARY KEY,
	merchant_id     TEXT NOT NULL REFERENCES merchants(id),
	token_hash      TEXT NOT NULL UNIQUE,
	hostname        TEXT NOT NULL,
	agent_version   TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	last_seen_at    BIGINT NOT NULL DEFAULT 0,
	revoked         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_merchant ON devices(merchant_id);
CREATE TABLE pairing_codes (
	code_hash    TEXT PRIMARY KEY,
	merchant_id  TEXT NOT NULL REFERENCES merchants(id),
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	used_at      BIGINT NOT NULL DEFAULT 0,
	device_id    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE pairing_failures (
	source  TEXT NOT NULL,
	at      BIGINT NOT NULL
);
CREATE INDEX pairing_failures_source ON pairing_failures(source, at);
CREATE TABLE orders (
	out_trade_no    TEXT PRIMARY KEY,
	merchant_id     TEXT NOT NULL REFERENCES merchants(id),
	device_id       TEXT NOT NULL REFERENCES devices(id),
	job_id          TEXT NOT NULL,
	receipt_index   INTEGER NOT NULL,
	printer         TEXT NOT NULL DEFAULT '',
	order_no        TEXT NOT NULL,
	amount_fen      BIGINT NOT NULL,
	business_day    TEXT NOT NULL,
	description     TEXT NOT NULL,
	code_url        TEXT NOT NULL,
	state           TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL,
	paid_at         BIGINT NOT NULL DEFAULT 0,
	transaction_id  TEXT NOT NULL DEFAULT '',
	closed_at       BIGINT NOT NULL DEFAULT 0,
	close_reason    TEXT NOT NULL DEFAULT '',
	UNIQUE (device_id, job_id, receipt_index)
);
CREATE INDEX orders_reprint ON orders(device_id, order_no, business_day);
CREATE INDEX orders_open ON orders(state, expires_at);
CREATE TABLE deliveries (
	id              TEXT PRIMARY KEY,
	device_id       TEXT NOT NULL REFERENCES devices(id),
	out_trade_no    TEXT NOT NULL UNIQUE REFERENCES orders(out_trade_no),
	created_at      BIGINT NOT NULL,
	acked_at        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_pending ON deliveries(device_id, acked_at);
CREATE TABLE receipts (
	device_id       TEXT NOT NULL REFERENCES devices(id),
	job_id          TEXT NOT NULL,
	receipt_index   INTEGER NOT NULL,
	merchant_id     TEXT NOT NULL REFERENCES merchants(id),
	printer         TEXT NOT NULL,
	printed_at      BIGINT NOT NULL,
	received_at     BIGINT NOT NULL,
	amount_fen      BIGINT NOT NULL,
	order_no        TEXT NOT NULL,
	body            TEXT NOT NULL,
	PRIMARY KEY (device_id, job_id, receipt_index)
);
CREATE TABLE rules (
	merchant_id  TEXT PRIMARY KEY REFERENCES merchants(id),
	version      TEXT NOT NULL,
	body         TEXT NOT NULL,
	updated_at   BIGINT NOT NULL
);
`,
}

// Migrate brings the schema up to date and reports how many migrations it
// applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	applied := 0
	for i, m := range migrations {
		v := i + 1
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if s.dialect == postgres {
				// Nodes starting together migrate one after the other.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7273100)`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitSQL(m) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%w\n%s", err, stmt)
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, micros(s.now())); err != nil {
				return err
			}
			applied++
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("store: migration %d: %w", v, err)
		}
	}
	return applied, nil
}

// SchemaVersion reports the highest applied migration (0 for an empty
// database).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, nil
	}
	return int(v.Int64), nil
}

func splitSQL(m string) []string {
	var out []string
	for _, part := range strings.Split(m, ";") {
		if t := strings.TrimSpace(part); t != "" {
			out = append(out, t)
		}
	}
	return out
}
