// Package sqlite is switchboard's embedded store: one SQLite file, pure Go
// (modernc.org/sqlite, no cgo), implementing [store.Store].
//
// # Opening
//
//	db, err := sqlite.Open(ctx, "data/switchboard.db", nil)
//
// or, after importing this package, store.Open(ctx, "sqlite:data/switchboard.db").
// Open creates the file when missing (not its directory), switches it to
// WAL mode and applies the embedded migrations, each in its own
// transaction; several processes opening one new file at once are safe.
//
// # Concurrency
//
// A [DB] is safe for concurrent use. It runs one write transaction at a
// time, queued in Go under each caller's context, with SQLite's write lock
// taken at BEGIN (BEGIN IMMEDIATE) so that a transaction never fails half
// way with SQLITE_BUSY. Reads outside transactions use a pool of read-only
// connections that WAL mode lets run beside the writer. Keep [DB.InTx]
// functions short: they hold the write lock.
//
// Several processes may share one file, and the store's guarantees hold
// across them (the conformance tests run dispatchers and mail pollers in
// separate processes). But between processes SQLite's writers poll for the
// lock rather than queue for it, for up to Options.BusyTimeout, so a
// process can be starved by another that writes without pause. For several
// processes or machines writing steadily, use store/postgres.
//
// # Durability
//
// synchronous=NORMAL in WAL mode: a committed transaction survives a crash
// of the process; a power loss may lose the last commits, never corrupting
// the file.
//
// # Storage
//
// Times are INTEGER microseconds since the Unix epoch; attachments are
// BLOBs in the database. The writing connection keeps its statement
// journals in memory.
package sqlite
