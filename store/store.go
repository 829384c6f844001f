package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Ops is every storage operation of the three domains. A [Store] runs each
// call in a transaction of its own; inside [Store.InTx] they share one.
//
// The domain packages depend on the narrow interfaces ([ChatStore],
// [SMSStore], [TicketStore], [AccountStore], [WebhookStore]), so that they can be tested with small fakes.
type Ops interface {
	ChatStore
	SMSStore
	TicketStore
	AccountStore
	WebhookStore
	SecretStore
}

// Store is a database holding the records of all three channels.
//
// A Store is safe for concurrent use by multiple goroutines. Every method
// that may block takes a context; cancelling it abandons the call (and
// rolls back the call's transaction).
type Store interface {
	Ops

	// InTx runs fn in one database transaction. The transaction commits
	// when fn returns nil and rolls back when fn returns an error or
	// panics (the panic is propagated). tx must not be used after fn
	// returns nor from more than one goroutine at a time. Calling InTx
	// inside fn on the outer Store starts an unrelated transaction, which
	// can deadlock on the embedded backend: use tx. A call on tx that
	// fails may have done part of its work: fn should then return an
	// error (PostgreSQL refuses any further statement anyway).
	//
	// tx implements [ExclusiveTx] when the backend's transaction keeps
	// every other writer out until it ends.
	InTx(ctx context.Context, fn func(tx Ops) error) error

	// Close releases the database. It is idempotent; calls made after
	// Close fail with ErrClosed.
	Close() error
}

// ExclusiveTx is implemented by the tx of [Store.InTx] on a backend
// whose write transactions exclude every other writer, in this process
// and others, until they end (SQLite's). What such a transaction reads
// stays true until it ends, but for its own writes, so its caller may
// keep answers instead of asking again. In PostgreSQL's READ COMMITTED
// transactions each statement sees what others committed before it.
type ExclusiveTx interface {
	// Exclusive reports whether the transaction excludes other writers.
	Exclusive() bool
}

// OpenFunc opens a Store from a data source name. Backends register one
// with [Register].
type OpenFunc func(ctx context.Context, dsn string) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]OpenFunc{}
)

// Register makes a backend available to [Open] under a URL scheme such as
// "sqlite" or "postgres". Backends call it from an init function, like
// database/sql drivers. Register panics if the scheme is registered twice
// or open is nil.
func Register(scheme string, open OpenFunc) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if open == nil {
		panic("store: Register open func is nil")
	}
	if _, dup := drivers[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	drivers[scheme] = open
}

// Schemes lists the registered backend schemes in sorted order.
func Schemes() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	out := make([]string, 0, len(drivers))
	for s := range drivers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open opens the Store named by dsn, whose scheme picks the backend:
// "sqlite:path/to/file.db" or "postgres://user@host/db" (import
// store/sqlite or store/postgres for their side effect of registering).
// Open applies pending schema migrations before it returns.
func Open(ctx context.Context, dsn string) (Store, error) {
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok {
		return nil, fmt.Errorf("store: data source %q has no scheme (want one of %v)", dsn, Schemes())
	}
	if scheme == "postgresql" {
		scheme = "postgres"
	}
	driversMu.RLock()
	open := drivers[scheme]
	driversMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("store: unknown scheme %q (registered: %v; forgotten import?)", scheme, Schemes())
	}
	return open(ctx, dsn)
}
