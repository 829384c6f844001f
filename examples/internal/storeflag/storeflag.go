// Package storeflag gives the example binaries the same -data and -db flags
// and opens the store they name.
package storeflag

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// DBFile is the SQLite file inside the data directory.
const DBFile = "switchboard.db"

// Flags are where the store lives.
type Flags struct {
	Data string // directory of the SQLite database and stored files
	DB   string // a PostgreSQL URL; overrides Data for the database
}

// Register adds -data and -db to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Data, "data", "data", "directory for the SQLite database and stored files (created if missing)")
	fs.StringVar(&f.DB, "db", "", "PostgreSQL URL (postgres://user:pass@host:port/db) instead of SQLite")
}

// Backend names the store that Open opens, for logs.
func (f *Flags) Backend() string {
	if f.DB != "" {
		return "postgres"
	}
	return "sqlite"
}

// OpenExisting opens a store that must exist already: what commands that
// only read use, so that a mistyped -data is an error rather than a new,
// empty database.
func (f *Flags) OpenExisting(ctx context.Context) (store.Store, error) {
	if f.DB == "" {
		file := filepath.Join(f.Data, DBFile)
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("no database at %s (is -data right?): %w", file, err)
		}
	}
	return f.Open(ctx)
}

// Open opens the store, creating the data directory for SQLite, and
// applies migrations.
func (f *Flags) Open(ctx context.Context) (store.Store, error) {
	if f.DB != "" {
		return postgres.Open(ctx, f.DB, nil)
	}
	if err := os.MkdirAll(f.Data, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(f.Data, DBFile), nil)
}
