package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultAmountCapFen is the per-order cap when a merchant sets none
// (DESIGN §3.1: ¥5,000).
const DefaultAmountCapFen = 500000

// Merchant is one shop (or sub-merchant) and its WeChat Pay configuration.
// Key material stays in files; only their paths are stored.
type Merchant struct {
	ID                string
	Name              string
	Mode              string // "direct" or "partner"
	AppID             string
	MchID             string
	SubMchID          string
	SubAppID          string
	Serial            string
	PrivateKeyFile    string
	APIv3KeyFile      string
	PublicKeyFile     string
	PublicKeyID       string
	PlatformCerts     bool
	AmountCapFen      int64  // 0 = DefaultAmountCapFen
	Timezone          string // IANA name; "" = Asia/Shanghai
	BusinessDayStarts string // "HH:MM"; "" = "04:00"
	CreatedAt         time.Time
}

func (m *Merchant) applyDefaults() {
	if m.Mode == "" {
		m.Mode = "direct"
	}
	if m.AmountCapFen == 0 {
		m.AmountCapFen = DefaultAmountCapFen
	}
	if m.Timezone == "" {
		m.Timezone = "Asia/Shanghai"
	}
	if m.BusinessDayStarts == "" {
		m.BusinessDayStarts = "04:00"
	}
}

// PutMerchant creates the merchant or replaces its settings.
func (s *Store) PutMerchant(ctx context.Context, m Merchant) (Merchant, error) {
	if m.ID == "" {
		return m, errors.New("store: put merchant: empty id")
	}
	m.applyDefaults()
	if _, err := ParseDayStart(m.BusinessDayStarts); err != nil {
		return m, fmt.Errorf("store: put merchant %s: %w", m.ID, err)
	}
	if _, err := time.LoadLocation(m.Timezone); err != nil {
		return m, fmt.Errorf("store: put merchant %s: timezone: %w", m.ID, err)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	_, err := s.exec(ctx, s.q(`
INSERT INTO merchants (id, name, mode, appid, mchid, sub_mchid, sub_appid, serial, private_key_file, apiv3_key_file,
	public_key_file, public_key_id, platform_certs, amount_cap_fen, timezone, business_day_starts, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, mode = excluded.mode, appid = excluded.appid,
	mchid = excluded.mchid, sub_mchid = excluded.sub_mchid, sub_appid = excluded.sub_appid, serial = excluded.serial,
	private_key_file = excluded.private_key_file, apiv3_key_file = excluded.apiv3_key_file,
	public_key_file = excluded.public_key_file, public_key_id = excluded.public_key_id,
	platform_certs = excluded.platform_certs, amount_cap_fen = excluded.amount_cap_fen,
	timezone = excluded.timezone, business_day_starts = excluded.business_day_starts`),
		m.ID, m.Name, m.Mode, m.AppID, m.MchID, m.SubMchID, m.SubAppID, m.Serial, m.PrivateKeyFile, m.APIv3KeyFile,
		m.PublicKeyFile, m.PublicKeyID, boolInt(m.PlatformCerts), m.AmountCapFen, m.Timezone, m.BusinessDayStarts, micros(m.CreatedAt))
	if err != nil {
		return m, fmt.Errorf("store: put merchant %s: %w", m.ID, err)
	}
	return s.Merchant(ctx, m.ID)
}

const merchantCols = `id, name, mode, appid, mchid, sub_mchid, sub_appid, serial, private_key_file, apiv3_key_file,
	public_key_file, public_key_id, platform_certs, amount_cap_fen, timezone, business_day_starts, created_at`

func scanMerchant(row interface{ Scan(...any) error }) (Merchant, error) {
	var m Merchant
	var pc, created int64
	err := row.Scan(&m.ID, &m.Name, &m.Mode, &m.AppID, &m.MchID, &m.SubMchID, &m.SubAppID, &m.Serial, &m.PrivateKeyFile,
		&m.APIv3KeyFile, &m.PublicKeyFile, &m.PublicKeyID, &pc, &m.AmountCapFen, &m.Timezone, &m.BusinessDayStarts, &created)
	m.PlatformCerts = pc != 0
	m.CreatedAt = fromMicros(created)
	return m, err
}

// Merchant returns one merchant.
func (s *Store) Merchant(ctx context.Context, id string) (Merchant, error) {
	m, err := scanMerchant(s.queryRow(ctx, s.q(`SELECT `+merchantCols+` FROM merchants WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("store: merchant %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("store: merchant %s: %w", id, err)
	}
	return m, nil
}

// Merchants lists all merchants by id.
func (s *Store) Merchants(ctx context.Context) ([]Merchant, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+merchantCols+` FROM merchants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: merchants: %w", err)
	}
	defer rows.Close()
	var out []Merchant
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: merchants: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: merchants: %w", err)
	}
	return out, nil
}

// SetRules stores the merchant's rule set (JSON of agent/rules).
func (s *Store) SetRules(ctx context.Context, merchantID, version string, body []byte) error {
	_, err := s.exec(ctx, s.q(`
INSERT INTO rules (merchant_id, version, body, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (merchant_id) DO UPDATE SET version = excluded.version, body = excluded.body, updated_at = excluded.updated_at`),
		merchantID, version, string(body), micros(s.now()))
	if err != nil {
		return fmt.Errorf("store: set rules of %s: %w", merchantID, err)
	}
	return nil
}

// Rules returns the merchant's rule set; ErrNotFound when it has none.
func (s *Store) Rules(ctx context.Context, merchantID string) (version string, body []byte, err error) {
	var b string
	err = s.queryRow(ctx, s.q(`SELECT version, body FROM rules WHERE merchant_id = ?`), merchantID).Scan(&version, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("store: rules of %s: %w", merchantID, ErrNotFound)
	}
	if err != nil {
		return "", nil, fmt.Errorf("store: rules of %s: %w", merchantID, err)
	}
	return version, []byte(b), nil
}
