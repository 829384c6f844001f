package postgres_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/internal/testmain"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/postgres/pgtest"
	"github.com/switchboard-go/switchboard/store/storetest"
)

// db is the PostgreSQL the tests use: DATABASE_URL, or a throwaway
// server started on first use (outside CI, tests are skipped with the
// reason when neither is available; with CI=true they fail).
var db pgtest.Shared

func TestMain(m *testing.M) {
	storetest.ChildMain()
	testmain.Run(m, db.Stop)
}

func freshSchema(t testing.TB) string { return db.Schema(t) }

func open(t *testing.T, u string) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), u, &postgres.Options{MaxConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{New: func(t *testing.T) (store.Store, storetest.Reopen) {
		u := freshSchema(t)
		return open(t, u), func(t *testing.T) store.Store { return open(t, u) }
	}})
}

func TestOpenByURL(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	st, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := store.Queue{Name: "x"}
	if err := st.CreateQueue(ctx, &q); err != nil {
		t.Fatal(err)
	}
}

// TestAttachmentBytesStoredOnce: the same logo on 18 articles is kept
// once (19 rows of bytes: the logo and 18 files of their own).
func TestAttachmentBytesStoredOnce(t *testing.T) {
	u := freshSchema(t)
	st := open(t, u)
	defer st.Close()
	logo := storetest.AttachmentsStoredOnce(t, st)
	conn, err := pgx.Connect(context.Background(), u)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var rows, logos int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE size = $1) FROM attachment_data`, len(logo)).Scan(&rows, &logos))
	assert.Equal(t, 19, rows)
	assert.Equal(t, 1, logos)
}

// TestMigrationsConcurrent opens one new database from several goroutines
// at once: the advisory lock lets exactly one apply each migration.
func TestMigrationsConcurrent(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			st, err := postgres.Open(ctx, u, nil)
			if err == nil {
				err = st.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.Open(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	files, _ := filepath.Glob("migrations/*.sql")
	if err != nil || v != len(files) {
		t.Fatalf("schema version = %d, %v; want %d (the number of migrations)", v, err, len(files))
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmarks(b, func(b *testing.B) store.Store {
		st, err := postgres.Open(context.Background(), freshSchema(b), nil)
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
}

// TestProcesses: dispatchers and pollers in several processes on one
// database (FOR UPDATE SKIP LOCKED, advisory locks).
func TestProcesses(t *testing.T) {
	u := freshSchema(t)
	st := open(t, u)
	defer st.Close()
	storetest.RunProcesses(t, st, u)
}
