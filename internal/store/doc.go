// Package store is carepost's one persistence seam. Every domain package asks
// store to read and write; nothing else speaks SQL.
//
// # Drivers
//
// Two drivers sit behind the same API: SQLite (modernc.org/sqlite, pure Go, the
// embedded default) and PostgreSQL (pgx through database/sql, selected by a
// postgres:// URL). Queries are written once with "?" placeholders; the
// PostgreSQL driver rewrites them to "$n" (see rebind). Where the dialects
// differ, the migration files differ (BLOB vs BYTEA, BOOLEAN vs INTEGER), not
// the Go code. Times are stored as BIGINT microseconds since the Unix epoch in
// UTC on both drivers, so comparisons and ordering are identical everywhere.
//
// # SQLite connection discipline
//
// SQLite allows one writer at a time. The store keeps two pools on the same
// file: a writer pool of exactly one connection, used for every transaction and
// by the job engine, and a read pool of several query_only connections for
// reads outside a transaction. Writers therefore queue in Go instead of
// colliding with SQLITE_BUSY, and WAL lets readers proceed while a write is in
// progress. Every connection sets synchronous=FULL so a committed transaction
// survives power loss (principle: accepted means durable), and a busy timeout
// for the rare case another process holds the lock (for example `carepost
// migrate` beside a running server). A third connection belongs to the
// checkpointer (checkpoint.go), which copies the write-ahead log into the
// database file in the background, so no commit pays for a checkpoint.
//
// Code holding a write transaction must never start a second one: with one
// writer connection that would wait forever. Functions that may run inside a
// transaction take a Querier.
//
// # Errors
//
// Driver errors are mapped once, in mapError: no rows becomes ErrNotFound and
// unique-constraint violations become ErrConflict, so callers branch on
// sentinels regardless of driver.
//
// # Migrations
//
// Numbered SQL files are embedded per driver under migrations/ and applied in
// order at start-up and by `carepost migrate up`, each in its own transaction
// and recorded in schema_migrations with a checksum. On PostgreSQL a
// transaction-scoped advisory lock serializes nodes that start together. The
// job engine's own tables are migrated by its migrator (see package jobs).
package store
