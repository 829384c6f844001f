package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/postgres/pgtest"
	"github.com/switchboard-go/switchboard/store/storetest"
)

// baseURL is the database the tests use: DATABASE_URL, or a throwaway
// server started by TestMain. Empty when neither is available (outside CI,
// tests are then skipped with the reason; with CI=true they fail).
var (
	baseURL  string
	startErr error
)

func TestMain(m *testing.M) {
	storetest.ChildMain()
	baseURL = os.Getenv("DATABASE_URL")
	var srv *pgtest.Server
	if baseURL == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		srv, startErr = pgtest.Start(ctx, nil)
		cancel()
		if startErr == nil {
			baseURL = srv.URL("")
		}
	}
	code := m.Run()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping PostgreSQL:", err)
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func needDB(t *testing.T) {
	t.Helper()
	if baseURL != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL unavailable under CI=true: %v", startErr)
	}
	t.Skipf("PostgreSQL unavailable (set DATABASE_URL or install the postgresql package): %v", startErr)
}

var schemaSeq atomic.Int64

// freshSchema creates an empty schema and returns a URL that uses it.
func freshSchema(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemaSeq.Add(1))
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, baseURL)
		if err == nil {
			c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, u string) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), u, &postgres.Options{MaxConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	needDB(t)
	storetest.Run(t, storetest.Harness{New: func(t *testing.T) (store.Store, storetest.Reopen) {
		u := freshSchema(t)
		return open(t, u), func(t *testing.T) store.Store { return open(t, u) }
	}})
}

func TestOpenByURL(t *testing.T) {
	needDB(t)
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

// TestMigrationsConcurrent opens one new database from several goroutines
// at once: the advisory lock lets exactly one apply each migration.
func TestMigrationsConcurrent(t *testing.T) {
	needDB(t)
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
	if err != nil || v != 1 {
		t.Fatalf("schema version = %d, %v; want 1", v, err)
	}
}

func BenchmarkStore(b *testing.B) {
	if baseURL == "" {
		b.Skipf("PostgreSQL unavailable: %v", startErr)
	}
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
	needDB(t)
	u := freshSchema(t)
	st := open(t, u)
	defer st.Close()
	storetest.RunProcesses(t, st, u)
}
