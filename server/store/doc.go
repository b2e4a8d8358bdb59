// Package store keeps printpay-server's state: merchants, devices and
// their tokens, pairing codes, orders, the order.paid deliveries still
// waiting for an agent's ack, receipts and rule sets.
//
// One type, *Store, works over SQLite (modernc.org/sqlite, WAL; the default,
// "sqlite:/path/to/file.db") and PostgreSQL (pgx, "postgres://..."). The
// SQL is written once with "?" placeholders and rewritten to $n for
// PostgreSQL; both databases run the same test suite.
//
// Conventions:
//   - Times are stored as UTC instants in BIGINT microseconds since the Unix
//     epoch; callers pass and get time.Time.
//   - Money is BIGINT fen.
//   - Only hashes of device tokens and pairing codes are stored.
//   - Migrations are numbered and applied in order by Migrate
//     (printpay-server migrate); Open does not migrate by itself.
//
// Errors callers branch on are the sentinels ErrNotFound, ErrDuplicate,
// ErrCodeInvalid and ErrTooManyTries; anything else (a database that went
// away, a broken disk) is wrapped with what the store was doing.
package store
