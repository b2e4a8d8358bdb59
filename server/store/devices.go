package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Pairing-code policy (DESIGN §4).
const (
	PairingCodeTTL      = 24 * time.Hour
	PairingMaxFailures  = 5 // wrong codes per source ...
	PairingFailureSpan  = time.Hour
	pairingCodeLen      = 10
	crockford           = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	deviceIDRandomChars = 16
)

// Device is one enrolled agent.
type Device struct {
	ID           string
	MerchantID   string
	Hostname     string
	AgentVersion string
	CreatedAt    time.Time
	LastSeenAt   time.Time
}

// NormalizeCode upper-cases a pairing code typed by a person and maps the
// Crockford look-alikes (O→0, I and L→1), dropping spaces and dashes.
func NormalizeCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch r {
		case ' ', '-':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NewPairingCode mints a single-use pairing code for the merchant, valid
// for PairingCodeTTL. Only its hash is stored.
func (s *Store) NewPairingCode(ctx context.Context, merchantID string) (code string, expires time.Time, err error) {
	now := s.now()
	code = randomString(pairingCodeLen, crockford)
	expires = now.Add(PairingCodeTTL)
	_, err = s.exec(ctx, s.q(`INSERT INTO pairing_codes (code_hash, merchant_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		hashSecret(code), merchantID, micros(now), micros(expires))
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") || strings.Contains(err.Error(), "23503") {
			return "", time.Time{}, fmt.Errorf("store: pairing code for %s: %w", merchantID, ErrNotFound)
		}
		return "", time.Time{}, fmt.Errorf("store: pairing code for %s: %w", merchantID, err)
	}
	return code, expires, nil
}

// Enroll redeems a pairing code and creates a device with a new token. The
// token is returned once; only its hash is kept. source identifies the
// caller (its IP address) for the limit of PairingMaxFailures wrong codes per
// PairingFailureSpan: past it every attempt gets ErrTooManyTries, right
// code or not.
func (s *Store) Enroll(ctx context.Context, code, source, hostname, agentVersion string) (Device, string, error) {
	now := s.now()
	var dev Device
	token := newToken()
	var codeErr error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var failures int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM pairing_failures WHERE source = ? AND at > ?`),
			source, micros(now.Add(-PairingFailureSpan))).Scan(&failures); err != nil {
			return err
		}
		if failures >= PairingMaxFailures {
			codeErr = ErrTooManyTries
			return nil
		}
		norm := NormalizeCode(code)
		var merchantID string
		err := tx.QueryRowContext(ctx, s.q(`SELECT merchant_id FROM pairing_codes WHERE code_hash = ? AND used_at = 0 AND expires_at > ?`),
			hashSecret(norm), micros(now)).Scan(&merchantID)
		if errors.Is(err, sql.ErrNoRows) {
			codeErr = ErrCodeInvalid
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO pairing_failures (source, at) VALUES (?, ?)`), source, micros(now))
			return err
		}
		if err != nil {
			return err
		}
		dev = Device{ID: "dev_" + randomString(deviceIDRandomChars, crockford), MerchantID: merchantID,
			Hostname: hostname, AgentVersion: agentVersion, CreatedAt: now}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE pairing_codes SET used_at = ?, device_id = ? WHERE code_hash = ? AND used_at = 0`),
			micros(now), dev.ID, hashSecret(norm))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			codeErr = ErrCodeInvalid // used concurrently
			return nil
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO devices (id, merchant_id, token_hash, hostname, agent_version, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
			dev.ID, merchantID, hashSecret(token), hostname, agentVersion, micros(now))
		return err
	})
	if err != nil {
		return Device{}, "", fmt.Errorf("store: enroll: %w", err)
	}
	if codeErr != nil {
		return Device{}, "", fmt.Errorf("store: enroll: %w", codeErr)
	}
	return dev, token, nil
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("store: crypto/rand: " + err.Error())
	}
	return "ppd_" + base64.RawURLEncoding.EncodeToString(b)
}

const deviceCols = `id, merchant_id, hostname, agent_version, created_at, last_seen_at`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var created, seen int64
	err := row.Scan(&d.ID, &d.MerchantID, &d.Hostname, &d.AgentVersion, &created, &seen)
	d.CreatedAt, d.LastSeenAt = fromMicros(created), fromMicros(seen)
	return d, err
}

// DeviceByToken finds the device a bearer token belongs to.
func (s *Store) DeviceByToken(ctx context.Context, token string) (Device, error) {
	if token == "" {
		return Device{}, fmt.Errorf("store: device by token: %w", ErrNotFound)
	}
	d, err := scanDevice(s.queryRow(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE token_hash = ? AND revoked = 0`), hashSecret(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("store: device by token: %w", ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("store: device by token: %w", err)
	}
	return d, nil
}

// Device returns one device.
func (s *Store) Device(ctx context.Context, id string) (Device, error) {
	d, err := scanDevice(s.queryRow(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("store: device %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("store: device %s: %w", id, err)
	}
	return d, nil
}

// TouchDevice records that the device said hello.
func (s *Store) TouchDevice(ctx context.Context, id, agentVersion string) error {
	_, err := s.exec(ctx, s.q(`UPDATE devices SET last_seen_at = ?, agent_version = ? WHERE id = ?`), micros(s.now()), agentVersion, id)
	if err != nil {
		return fmt.Errorf("store: touch device %s: %w", id, err)
	}
	return nil
}

// RevokeDevice makes the device's token useless.
func (s *Store) RevokeDevice(ctx context.Context, id string) error {
	_, err := s.exec(ctx, s.q(`UPDATE devices SET revoked = 1 WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("store: revoke device %s: %w", id, err)
	}
	return nil
}
