package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per query text and handle.
// database/sql with this driver would otherwise parse and plan every
// statement on every call, which the profile showed as a fifth of the CPU
// time of a chat append. The set of query texts is fixed by this package
// (a few dynamic ones are built from constant fragments), so the cache is
// bounded without eviction.
type stmtCache struct {
	mu    sync.Mutex
	db    *sql.DB
	stmts map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.stmts[query]; s != nil {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
}

// cached is a querier that runs every query through the cache, inside tx
// when tx is not nil (Tx.StmtContext reuses the statement prepared on the
// transaction's connection: the writer has only one).
type cached struct {
	c  *stmtCache
	tx *sql.Tx
}

func (q cached) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s, err := q.c.get(ctx, query)
	if err != nil || q.tx == nil {
		return s, err
	}
	return q.tx.StmtContext(ctx, s), nil
}

func (q cached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (q cached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext reports a preparation error through the returned row,
// by running the query uncached: the same error, with no extra API.
func (q cached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := q.stmt(ctx, query)
	if err != nil {
		if q.tx != nil {
			return q.tx.QueryRowContext(ctx, query, args...)
		}
		return q.c.db.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}
