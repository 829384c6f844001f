package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Shared is one PostgreSQL for a test binary: DATABASE_URL when set,
// else a throwaway server started on first use. Keep one in a package
// variable and call Stop from TestMain after m.Run. Its methods are safe
// for concurrent use.
type Shared struct {
	once sync.Once
	url  string
	err  error
	srv  *Server
	seq  atomic.Int64
}

func (s *Shared) start() {
	s.once.Do(func() {
		if s.url = os.Getenv("DATABASE_URL"); s.url != "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if s.srv, s.err = Start(ctx, nil); s.err == nil {
			s.url = s.srv.URL("")
		}
	})
}

// URL returns the server's URL. When no server is available the test
// fails under CI=true (a missing server is a failure there) and is
// skipped with the reason elsewhere.
func (s *Shared) URL(t testing.TB) string {
	t.Helper()
	s.start()
	if s.url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unavailable under CI=true: %v", s.err)
		}
		t.Skipf("PostgreSQL unavailable (set DATABASE_URL or install the postgresql package): %v", s.err)
	}
	return s.url
}

// Schema creates an empty schema, dropped at the end of the test, and
// returns a URL whose connections use it (search_path), so that tests
// sharing the server do not see each other's tables.
func (s *Shared) Schema(t testing.TB) string {
	t.Helper()
	base := s.URL(t)
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.seq.Add(1))
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Stop stops the server if Shared started one.
// Stop stops the server Shared started, if any.
func (s *Shared) Stop() error {
	if s.srv != nil {
		return s.srv.Stop()
	}
	return nil
}
