package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/migrate"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	store.Register("sqlite", func(ctx context.Context, dsn string) (store.Store, error) {
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		return Open(ctx, path, nil)
	})
}

// Options tune an SQLite store. A nil *Options means the defaults.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another
	// process on the same file. Default 5s.
	BusyTimeout time.Duration
	// Readers is the number of read-only connections. Default 4.
	Readers int
}

// DB is an SQLite-backed [store.Store]. It runs one write transaction at a
// time (SQLite has one writer; queuing writers in Go, under their contexts,
// is cheaper than retrying SQLITE_BUSY) and reads through a small pool of
// read-only connections, which WAL mode lets run beside the writer.
// Statements are prepared once and reused.
//
// DB is safe for concurrent use. Several processes may open the same file;
// they then take turns for writes, waiting up to BusyTimeout.
type DB struct {
	ops
	w, r      *sql.DB
	ws, rs    *stmtCache    // prepared statements of w and r
	wsem      chan struct{} // held by the one write transaction at a time
	closeOnce sync.Once
	closed    atomic.Bool
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if missing) the database file at path and applies
// pending migrations. The file's directory must exist. Open performs I/O.
func Open(ctx context.Context, path string, opts *Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	name := "file:" + escapePath(path)
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", o.BusyTimeout.Milliseconds())

	w, err := sql.Open(driverName, name+"?"+common+"&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Writers are serialized by db.wsem, not by the pool: the second
	// connection lets the statement cache prepare a statement while a
	// transaction holds the first (Tx.StmtContext then prepares it once on
	// the transaction's connection and reuses it from then on).
	w.SetMaxOpenConns(2)
	w.SetMaxIdleConns(2)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db := &DB{w: w, ws: newStmtCache(w), wsem: make(chan struct{}, 1)}
	db.ops = ops{db: db}
	if err := db.ensureWAL(ctx, o.BusyTimeout); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open(driverName, name+"?"+common+"&_pragma=query_only(1)&_pragma=synchronous(NORMAL)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	db.r, db.rs = r, newStmtCache(r)
	return db, nil
}

// escapePath makes a file path safe inside an SQLite URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// ensureWAL switches the file to WAL mode, which then persists in the file.
// The switch needs exclusive access and SQLite does not run the busy
// handler for it, so when several processes open a new file at once it is
// retried here, within the busy timeout.
func (db *DB) ensureWAL(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	backoff := 2 * time.Millisecond
	for {
		var mode string
		err := db.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil && strings.EqualFold(mode, "wal") {
			return nil
		}
		if err == nil {
			err = db.w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
			if err == nil && strings.EqualFold(mode, "wal") {
				return nil
			}
		}
		if err != nil && !isBusy(err) {
			return fmt.Errorf("journal mode: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("journal mode is %q, could not switch to wal within %v: %v", mode, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// migrate applies pending migrations, each in an IMMEDIATE transaction, so
// that two processes opening a new file at once apply each step once.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return err
	}
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	for {
		done, err := db.migrateOne(ctx, ms)
		if err != nil || done {
			return err
		}
	}
}

func (db *DB) migrateOne(ctx context.Context, ms []migrate.Migration) (done bool, err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	pending, err := migrate.Pending(ms, cur)
	if err != nil || len(pending) == 0 {
		return true, err
	}
	m := pending[0]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("migration %d: %w", m.Version, err)
	}
	return false, tx.Commit()
}

// SchemaVersion returns the newest migration applied to the database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.w.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// Close closes the database. It is idempotent.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		db.ws.close()
		db.rs.close()
		err = errors.Join(db.r.Close(), db.w.Close())
	})
	return err
}

// InTx implements [store.Store.InTx]. The transaction holds SQLite's write
// lock from its start (BEGIN IMMEDIATE) so that it never fails half-way
// with SQLITE_BUSY; keep it short.
func (db *DB) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return db.inTx(ctx, func(o *ops) error { return fn(o) })
}

func (db *DB) inTx(ctx context.Context, fn func(o *ops) error) (err error) {
	if db.closed.Load() {
		return store.ErrClosed
	}
	select {
	case db.wsem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: waiting to write: %w", ctx.Err())
	}
	defer func() { <-db.wsem }()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap("begin", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	if err := fn(&ops{db: db, tx: tx}); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops implements [store.Ops], either on its own transactions (tx nil) or
// inside one.
type ops struct {
	db   *DB
	tx   *sql.Tx
	read bool // tx is a read-only transaction of the reader pool
}

// write runs fn in the current transaction, or in a new one.
func (o *ops) write(ctx context.Context, fn func(o *ops) error) error {
	if o.tx != nil {
		return fn(o)
	}
	return o.db.inTx(ctx, fn)
}

// insert runs an INSERT of one row in the current transaction and returns
// the row's id. It is cheaper than RETURNING id, whose rows SQLite first
// collects in a table of their own.
func (o *ops) insert(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := o.w().ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// Exclusive implements store.ExclusiveTx: a write transaction (BEGIN
// IMMEDIATE) holds the database's write lock until it ends.
func (o *ops) Exclusive() bool { return o.tx != nil && !o.read }

// q is where reads go: the transaction, or the read-only pool.
func (o *ops) q() querier {
	if o.tx != nil {
		return o.w()
	}
	return cached{c: o.db.rs}
}

// w is the current write transaction, with cached statements. Only valid
// inside write (or InTx).
func (o *ops) w() querier {
	if o.read {
		return cached{c: o.db.rs, tx: o.tx}
	}
	return cached{c: o.db.ws, tx: o.tx}
}

// prepared returns the cached statement for query, bound to the current
// write transaction, for loops that run one statement many times.
func (o *ops) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	return cached{c: o.db.ws, tx: o.tx}.stmt(ctx, query)
}

// wrap turns driver errors into the store's sentinels where one applies.
func wrap(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNotFound)
	case isUnique(err):
		return fmt.Errorf("sqlite: %s: %w (%v)", what, store.ErrDuplicate, err)
	case isForeignKey(err):
		return fmt.Errorf("sqlite: %s: %w (a referenced record does not exist)", what, store.ErrNotFound)
	case isTooBig(err):
		return fmt.Errorf("sqlite: %s: %w (%v)", what, store.ErrInvalid, err)
	case errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed"):
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrClosed)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// readTx runs fn in a read-only transaction on the reader pool: a
// consistent snapshot for reads made of several queries.
func (db *DB) readTx(ctx context.Context, fn func(o *ops) error) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return wrap("begin read", err)
	}
	defer tx.Rollback()
	return fn(&ops{db: db, tx: tx, read: true})
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, read func(scan.Row) (T, error), what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := read(rows)
		if err != nil {
			return nil, wrap(what, err)
		}
		out = append(out, v)
	}
	return out, wrap(what, rows.Err())
}
