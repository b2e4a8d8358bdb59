package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"printpay.dev/printpay/internal/testenv"
	"printpay.dev/printpay/server/store"
)

// SQLite opens a migrated store in a fresh file.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	return open(t, SQLiteDSN(t))
}

// SQLiteDSN names a fresh SQLite file.
func SQLiteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "printpay.db")
}

// Postgres opens a migrated store in a schema of its own.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	return open(t, PostgresDSN(t))
}

// PostgresDSN creates an empty schema for this test and returns a DSN whose
// search_path selects it, so several stores (nodes) can share it. The
// schema is dropped at the end of the test.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := testenv.Postgres(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "pp_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates the store at dsn, closing it when the test ends.
func Open(t testing.TB, dsn string) *store.Store { return open(t, dsn) }

func open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return s
}
