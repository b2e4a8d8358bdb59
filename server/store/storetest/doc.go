// Package storetest opens throw-away stores for tests: a SQLite file in a
// temporary directory, or a PostgreSQL schema of its own (at
// testenv.Postgres) that is dropped when the test ends. Both come migrated.
// Several stores may share one PostgreSQL schema (PostgresDSN + Open), which
// is how the scale-out tests run two nodes on one database.
package storetest
