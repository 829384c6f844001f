package metrics

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

func openTimed(t *testing.T) (*Metrics, store.Store) {
	t.Helper()
	raw, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "timed.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	m := New()
	return m, m.Store(raw)
}

// calls is how many calls of op the histogram counted (0 for none).
func calls(t *testing.T, m *Metrics, op string) uint64 {
	t.Helper()
	fams, err := m.reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != "switchboard_store_call_duration_seconds" {
			continue
		}
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if l.GetName() == "op" && l.GetValue() == op {
					return s.Histogram.GetSampleCount()
				}
			}
		}
	}
	return 0
}

func mails(prefix string, n int) []mailticket.Delivery {
	var ds []mailticket.Delivery
	for i := range n {
		raw := fmt.Sprintf("From: c%d@example.com\r\nTo: support@example.net\r\nSubject: caso %d\r\n"+
			"Date: Sun, 22 Nov 2026 08:00:00 +0000\r\nMessage-ID: <%s-%d@example.com>\r\n\r\nNo funciona.\r\n", i, i, prefix, i)
		ds = append(ds, mailticket.Delivery{SourceKey: fmt.Sprintf("%s/%d", prefix, i), Raw: []byte(raw)})
	}
	return ds
}

// hideExclusive is a store whose transactions are not store.ExclusiveTx
// (as on PostgreSQL): the control of the batch test.
type hideExclusive struct{ store.Store }

func (h hideExclusive) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return h.Store.InTx(ctx, func(tx store.Ops) error { return fn(struct{ store.Ops }{tx}) })
}

// TestLoginAttackStoreTimerKeepsExclusiveTx: a wrapped SQLite store's
// transactions are store.ExclusiveTx, so mailticket's batch takes the
// lookups by list (KnownMailKeys, KnownMessageIDs; no MailReceipt per
// mail). The control, whose transactions hide it, looks each mail up.
func TestLoginAttackStoreTimerKeepsExclusiveTx(t *testing.T) {
	m, st := openTimed(t)
	ctx := context.Background()
	require.NoError(t, st.InTx(ctx, func(tx store.Ops) error {
		x, ok := tx.(store.ExclusiveTx)
		assert.True(t, ok && x.Exclusive(), "the wrapped transaction is not exclusive")
		return nil
	}))

	p := &mailticket.Processor{Store: st, Domain: "support.example.net", Secret: []byte("0123456789abcdef0123456789abcdef"),
		Addresses: []string{"support@example.net"}, DisableAutoResponses: true}
	rs, err := p.ProcessBatch(ctx, mails("a", 10))
	require.NoError(t, err)
	require.Len(t, rs, 10)
	assert.Positive(t, calls(t, m, "KnownMailKeys"), "no lookup by list")
	assert.Positive(t, calls(t, m, "KnownMessageIDs"), "no lookup by list")
	assert.Zero(t, calls(t, m, "MailReceipt"), "each mail was looked up: the batch did not take the list path")
	assert.Positive(t, calls(t, m, "InTx"))

	ctrl := &mailticket.Processor{Store: hideExclusive{st}, Domain: p.Domain, Secret: p.Secret, Addresses: p.Addresses,
		DisableAutoResponses: true}
	_, err = ctrl.ProcessBatch(ctx, mails("b", 10))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, calls(t, m, "MailReceipt"), uint64(10), "control: without ExclusiveTx every mail is looked up")
}

// TestLoginAttackStoreTimerKeepsErrorsAndTransactions: errors come back
// unchanged; a transaction's calls go to the transaction (rolled back
// with it, on an error and on a panic); Close is passed on.
func TestLoginAttackStoreTimerKeepsErrorsAndTransactions(t *testing.T) {
	_, st := openTimed(t)
	ctx := context.Background()
	_, err := st.Account(ctx, "nobody")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, st.PutAccount(ctx, &store.Account{Login: "bad login"}), store.ErrInvalid)
	acct := func(l string) *store.Account {
		return &store.Account{Login: l, Role: store.RoleAdmin, PasswordHash: "$2a$10$x"}
	}
	mine := errors.New("mine")
	err = st.InTx(ctx, func(tx store.Ops) error {
		require.NoError(t, tx.PutAccount(ctx, acct("rolled")))
		_, err := tx.Account(ctx, "rolled")
		require.NoError(t, err, "the transaction does not see its own write")
		return mine
	})
	assert.Same(t, mine, err)
	_, err = st.Account(ctx, "rolled")
	assert.ErrorIs(t, err, store.ErrNotFound, "a failed transaction's write stayed")
	assert.PanicsWithValue(t, "boom", func() {
		st.InTx(ctx, func(tx store.Ops) error {
			tx.PutAccount(ctx, acct("panicked"))
			panic("boom")
		})
	})
	_, err = st.Account(ctx, "panicked")
	assert.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, st.InTx(ctx, func(tx store.Ops) error { return tx.PutAccount(ctx, acct("kept")) }))
	_, err = st.Account(ctx, "kept")
	assert.NoError(t, err)
	_, err = st.APITokenByHash(ctx, "x")
	assert.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	_, err = st.Account(ctx, "kept")
	assert.ErrorIs(t, err, store.ErrClosed)
}

// TestLoginAttackStoreTimerConcurrentFirstCalls: many goroutines make the
// first calls of many methods and transactions at once, and gather the
// metrics meanwhile (run with -race).
func TestLoginAttackStoreTimerConcurrentFirstCalls(t *testing.T) {
	m, st := openTimed(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.Account(ctx, fmt.Sprint("a", i))
			st.APITokens(ctx)
			st.Queues(ctx)
			st.InTx(ctx, func(tx store.Ops) error {
				_, err := tx.Accounts(ctx)
				return err
			})
			m.reg.Gather()
		}()
	}
	wg.Wait()
	assert.Equal(t, uint64(32), calls(t, m, "Account"))
	assert.Equal(t, uint64(32), calls(t, m, "InTx"))
	assert.Equal(t, uint64(32), calls(t, m, "Accounts"))
}
