package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/migrate"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	store.Register("postgres", func(ctx context.Context, dsn string) (store.Store, error) {
		return Open(ctx, dsn, nil)
	})
}

// migrationLock is the advisory lock key that serializes migrations of
// processes opening the same database at once.
const migrationLock = 0x5377_6974_6368 // "Switch"

// Options tune a PostgreSQL store. A nil *Options means the defaults.
type Options struct {
	// MaxConns caps the connection pool. Default: pgxpool's default
	// (max(4, number of CPUs)) unless the URL sets pool_max_conns.
	MaxConns int32
}

// DB is a PostgreSQL-backed [store.Store] on a pgx connection pool.
//
// DB is safe for concurrent use, and several processes (on several
// machines) may share one database: claims use FOR UPDATE SKIP LOCKED,
// appends lock their conversation row, counters are single-statement
// upserts, and mail dedup keys are serialized by transaction-scoped
// advisory locks.
type DB struct {
	ops
	pool      *pgxpool.Pool
	closeOnce sync.Once
	closed    atomic.Bool
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (a postgres:// URL or key=value
// DSN as pgx accepts; search_path=... selects a schema), checks it, and
// applies pending migrations. Open performs I/O.
func Open(ctx context.Context, url string, opts *Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts != nil && opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool}
	db.ops = ops{db: db}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies pending migrations under a session advisory lock, each
// in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrations table: %w", err)
	}
	var cur int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	pending, err := migrate.Pending(ms, cur)
	if err != nil {
		return err
	}
	for _, m := range pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Pool returns the underlying pgx pool, for queries of the caller's own.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Close closes the pool, waiting for acquired connections to be released.
// It is idempotent.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		db.pool.Close()
	})
	return nil
}

// InTx implements [store.Store.InTx] in a READ COMMITTED transaction.
func (db *DB) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return db.inTx(ctx, func(o *ops) error { return fn(o) })
}

func (db *DB) inTx(ctx context.Context, fn func(o *ops) error) error {
	if db.closed.Load() {
		return store.ErrClosed
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap("begin", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(&ops{db: db, tx: tx}); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(ctx); err != nil {
		return wrap("commit", err)
	}
	return nil
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ops implements [store.Ops], on its own transactions (tx nil) or in one.
type ops struct {
	db *DB
	tx pgx.Tx
}

func (o *ops) write(ctx context.Context, fn func(o *ops) error) error {
	if o.tx != nil {
		return fn(o)
	}
	return o.db.inTx(ctx, fn)
}

func (o *ops) q() querier {
	if o.tx != nil {
		return o.tx
	}
	return o.db.pool
}

// readTx runs fn with one snapshot (REPEATABLE READ, read only) for reads
// made of several queries, or in the current transaction.
func (o *ops) readTx(ctx context.Context, fn func(o *ops) error) error {
	if o.tx != nil {
		return fn(o)
	}
	if o.db.closed.Load() {
		return store.ErrClosed
	}
	return wrap("read", pgx.BeginTxFunc(ctx, o.db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(&ops{db: o.db, tx: tx}) }))
}

// advisoryLocks takes transaction-scoped advisory locks on the hashes of
// keys, in ascending order so that two transactions never wait on each
// other in a cycle.
func (o *ops) advisoryLocks(ctx context.Context, keys []string) error {
	_, err := o.tx.Exec(ctx, advisoryLockSQL, keys)
	return err
}

const advisoryLockSQL = `SELECT pg_advisory_xact_lock(k) FROM
	(SELECT DISTINCT hashtextextended(x, 0) AS k FROM unnest($1::text[]) AS x) AS keys ORDER BY k`

// wrap turns driver errors into the store's sentinels where one applies.
func wrap(what string, err error) error {
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrDuplicate), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrClosed):
		return fmt.Errorf("postgres: %s: %w", what, err)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	case errors.As(err, &pe) && pe.Code == "23505":
		return fmt.Errorf("postgres: %s: %w (%s)", what, store.ErrDuplicate, pe.ConstraintName)
	case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || pe.Code == "54000"):
		// Data exceptions and program limits (a value too long for an
		// index, say) are the input's fault: retrying will not help.
		return fmt.Errorf("postgres: %s: %w (%s)", what, store.ErrInvalid, pe.Message)
	case errors.As(err, &pe) && pe.Code == "23503":
		return fmt.Errorf("postgres: %s: %w (a referenced record does not exist: %s)", what, store.ErrNotFound, pe.ConstraintName)
	case strings.Contains(err.Error(), "closed pool"):
		return fmt.Errorf("postgres: %s: %w", what, store.ErrClosed)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, read func(scan.Row) (T, error), what string) ([]T, error) {
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
