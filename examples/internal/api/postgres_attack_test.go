package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/internal/testmain"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/postgres/pgtest"
)

// pg is one throwaway PostgreSQL for the package's tests (a schema each).
var pg pgtest.Shared

func TestMain(m *testing.M) { testmain.Run(m, pg.Stop) }

// newPostgresAPI is newTestAPI on a fresh schema of a throwaway PostgreSQL
// (skipped when none can be started, a failure under CI=true).
func newPostgresAPI(t *testing.T) *testAPI {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, pg.Schema(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.CreateOperator(ctx, &store.Operator{Name: "movil", Host: "127.0.0.1", Port: 1, SystemID: "x",
		BindMode: store.BindTransceiver, Enabled: true, Default: true}))
	n := gateway.Numbering{CountryCode: "58", NationalPrefix: "0"}
	gw, err := gateway.New(gateway.Config{Store: st, Numbering: n})
	require.NoError(t, err)
	s := &Server{Store: st, Gateway: gw, Numbering: n}
	h := httptest.NewServer(s.Handler())
	t.Cleanup(h.Close)
	return &testAPI{t: t, st: st, url: h.URL}
}

// TestAttackPostgresNULAndBadUTF8: on PostgreSQL, a NUL byte or invalid
// UTF-8 that the handlers pass on to the store (JSON's \u0000, query
// parameters, path values, CSV rows) is refused by the database and
// answered 500 "internal error" instead of a 400 naming the field. On
// SQLite the same requests are stored or answered 404.
func TestAttackPostgresNULAndBadUTF8(t *testing.T) {
	a := newPostgresAPI(t)
	tok := a.token("ops", "")
	number := ticketFixture(t, a.st)
	for _, c := range []struct {
		name, method, path, body string
	}{
		{"sms text NUL", "POST", "/api/v1/sms", `{"to":"04141234567","text":"a\u0000b"}`},
		{"sms external_id NUL", "POST", "/api/v1/sms", `{"to":"04141234567","text":"ab","external_id":"x\u0000"}`},
		{"sms client NUL", "POST", "/api/v1/sms", `{"to":"04141234567","text":"ab","client":"a\u0000"}`},
		{"batch client bad UTF-8", "POST", "/api/v1/batches?client=%FF", "04141234567,hola\n"},
		{"batch name NUL", "POST", "/api/v1/batches?name=a%00b", "04141234567,hola\n"},
		{"ticket number NUL", "GET", "/api/v1/tickets/a%00b", ""},
		{"ticket number bad UTF-8", "GET", "/api/v1/tickets/%FF", ""},
		{"tickets queue bad UTF-8", "GET", "/api/v1/tickets?queue=%FF", ""},
		{"conversations operator NUL", "GET", "/api/v1/chat/conversations?operator=%00", ""},
		{"patch agent NUL", "PATCH", "/api/v1/tickets/" + url.PathEscape(number), `{"agent":"a\u0000@x.net","state":"open"}`},
		{"patch queue NUL", "PATCH", "/api/v1/tickets/" + url.PathEscape(number), `{"agent":"a@x.net","queue":"In\u0000box"}`},
	} {
		code, body := a.do(c.method, c.path, tok, "", strings.NewReader(c.body))
		assert.True(t, code >= 400 && code < 500, "%s: want a 4xx, got %d %v", c.name, code, body)
	}
	// A row with a NUL is refused alone; the others are loaded.
	code, body := a.do("POST", "/api/v1/batches", tok, "text/csv", strings.NewReader("04141234567,hola\n04141234567,a\x00b\n"))
	require.Equal(t, 200, code, body)
	assert.Equal(t, float64(1), body["queued"])
	assert.Equal(t, float64(1), body["rejected_count"])
}

// TestAttackPostgresConcurrentExternalID: the same race on PostgreSQL.
func TestAttackPostgresConcurrentExternalID(t *testing.T) { concurrentExternalID(t, newPostgresAPI(t)) }

// TestAttackPostgresMOPollingMissesLateCommits: lists page by id, but on
// PostgreSQL ids are taken when a row is inserted, not when it commits.
// A reply stored by one process (its transaction still open: id 1) while
// another process stores a reply and commits (id 2) is missed for good
// by a program polling /mo with after= the last id it saw.
func TestAttackPostgresMOPollingMissesLateCommits(t *testing.T) {
	a := newPostgresAPI(t)
	tok := a.token("ops", "")
	ctx := context.Background()
	ops, err := a.st.Operators(ctx)
	require.NoError(t, err)
	inserted, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- a.st.InTx(ctx, func(tx store.Ops) error {
			if err := tx.InsertMO(ctx, &store.MO{OperatorID: ops[0].ID, From: "584141234567", To: "1", Text: "early, slow"}); err != nil {
				return err
			}
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted
	fast := make(chan error, 1)
	go func() {
		fast <- a.st.InsertMO(ctx, &store.MO{OperatorID: ops[0].ID, From: "584241234567", To: "1", Text: "late, fast"})
	}()
	time.Sleep(300 * time.Millisecond) // time for the second to commit, if it may

	// The poller's first look.
	seen := map[string]bool{}
	var after float64
	poll := func() {
		code, body := a.get(fmt.Sprintf("/api/v1/mo?after=%d", int64(after)), tok)
		require.Equal(t, 200, code, body)
		for _, it := range body["items"].([]any) {
			m := it.(map[string]any)
			seen[m["text"].(string)] = true
			after = max(after, m["id"].(float64))
		}
	}
	poll()
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, <-fast)
	poll()
	assert.True(t, seen["late, fast"], "%v", seen)
	assert.True(t, seen["early, slow"], "a poller following the ids never sees a reply committed late: %v", seen)
}
