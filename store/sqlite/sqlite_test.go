package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
	"github.com/switchboard-go/switchboard/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.ChildMain()
	goleak.VerifyTestMain(m)
}

func open(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{New: func(t *testing.T) (store.Store, storetest.Reopen) {
		path := filepath.Join(t.TempDir(), "test.db")
		return open(t, path), func(t *testing.T) store.Store { return open(t, path) }
	}})
}

func TestOpenByURL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weird ?#% name.db")
	st, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := store.Queue{Name: "x"}
	if err := st.CreateQueue(ctx, &q); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(ctx, "nosuch:foo"); err == nil {
		t.Fatal("unknown scheme opened")
	}
	if _, err := store.Open(ctx, "plainpath"); err == nil {
		t.Fatal("dsn without scheme opened")
	}
}

func TestMigrationsIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	const openers = 8
	errs := make(chan error, openers)
	for i := 0; i < openers; i++ {
		go func() {
			st, err := sqlite.Open(ctx, path, nil)
			if err == nil {
				err = st.Close()
			}
			errs <- err
		}()
	}
	for i := 0; i < openers; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st, err := sqlite.Open(ctx, path, nil)
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

// TestAttachmentBytesStoredOnce: the same logo on 18 articles is kept
// once (19 rows of bytes: the logo and 18 files of their own).
func TestAttachmentBytesStoredOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blobs.db")
	st := open(t, path)
	defer st.Close()
	logo := storetest.AttachmentsStoredOnce(t, st)
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	var rows, logos int
	require.NoError(t, db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE size = ?) FROM attachment_data`, len(logo)).Scan(&rows, &logos))
	assert.Equal(t, 19, rows)
	assert.Equal(t, 1, logos)
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmarks(b, func(b *testing.B) store.Store {
		st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
}

// TestProcesses: several processes on one database file.
func TestProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procs.db")
	st := open(t, path)
	defer st.Close()
	storetest.RunProcesses(t, st, "sqlite:"+path)
}
