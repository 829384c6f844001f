package gateway

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// An operator whose SMSC sends no receipts (they are off, or lost): the
// gateway asks about each message with query_sm and records the final
// state it learns, so the batch ends with the SMSC's outcomes.
func TestQueryWhenReceiptsNeverCome(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(&smpptest.Config{Outcomes: smpptest.Outcomes{Delivered: 3, Undeliverable: 1, Expired: 1}})
		defer sim.Close()
		op := addOperator(t, st, "mute", sim, func(o *store.Operator) {
			o.Default = true
			o.Params = append(o.Params, store.OperatorParam{Command: "submit_sm", Name: "registered_delivery", Value: "0"},
				store.OperatorParam{Command: "gateway", Name: "query_after", Value: "200ms"})
		})
		g := startGateway(t, st)
		const n = 50
		sum := waitDone(t, g, loadNumbered(t, g, "mute", n))
		subs := sim.Submitted()
		require.Len(t, subs, n)
		want := map[string]store.TransmissionState{smpptest.StatDelivered: store.TxDelivered,
			smpptest.StatUndeliverable: store.TxUndeliverable, smpptest.StatExpired: store.TxExpired}
		byState := map[store.TransmissionState]int{}
		for _, s := range subs {
			tr, err := st.LastTransmissionTo(ctx, s.Dest)
			require.NoError(t, err)
			assert.Equal(t, want[s.Stat], tr.State, s.Dest)
			byState[want[s.Stat]]++
		}
		assert.Equal(t, byState, sum.ByState)
		assert.Zero(t, sim.Stats().Receipts, "receipts sent")
		c := operatorStatus(t, g, op.ID).Process
		t.Logf("%+v", c)
		assert.Equal(t, uint64(n), c.QueriedFinal)
		assert.GreaterOrEqual(t, c.Queries, uint64(n))
		assert.Zero(t, c.NoReceipt)
	})
}

// The SMSC that took the messages is gone (replaced by one that knows
// none of them) and no receipt comes: after the validity period the
// messages end unknown, and the batch ends.
func TestMessagesEndUnknownWhenNothingTellsTheirState(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		first := smpptest.NewServer(nil)
		op := addOperator(t, st, "lost", first, func(o *store.Operator) {
			o.Default = true
			o.Params = append(o.Params, store.OperatorParam{Command: "submit_sm", Name: "registered_delivery", Value: "0"},
				store.OperatorParam{Command: "gateway", Name: "query_after", Value: "300ms"},
				store.OperatorParam{Command: "gateway", Name: "give_up_after", Value: "1500ms"})
		})
		g := startGateway(t, st)
		const n = 30
		batch := loadNumbered(t, g, "lost", n)
		second := replaceSMSCOnceSent(t, ctx, st, g, &op, first, batch, n)

		sum := waitDone(t, g, batch)
		assert.Equal(t, n, sum.ByState[store.TxUnknown], "%v", sum.ByState)
		tr, err := st.LastTransmissionTo(ctx, "584140000003")
		require.NoError(t, err)
		assert.Contains(t, tr.Reason, "no receipt")
		assert.False(t, tr.DoneAt.IsZero())
		assert.Zero(t, second.Stats().Submits, "nothing sent again")
		assertGivenUpOnce(t, g, op.ID, n)
	})
}

// slowEnds is a store whose EndTransmission takes d: the recorder writes
// a given-up message's end later than the settle loop's next passes.
type slowEnds struct {
	store.Store
	d time.Duration
}

func (s slowEnds) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error { return fn(slowEndOps{Ops: tx, d: s.d}) })
}

func (s slowEnds) EndTransmission(ctx context.Context, id int64, st store.TransmissionState, code int, reason string, at time.Time) error {
	time.Sleep(s.d)
	return s.Store.EndTransmission(ctx, id, st, code, reason, at)
}

type slowEndOps struct {
	store.Ops
	d time.Duration
}

func (o slowEndOps) EndTransmission(ctx context.Context, id int64, st store.TransmissionState, code int, reason string, at time.Time) error {
	time.Sleep(o.d)
	return o.Ops.EndTransmission(ctx, id, st, code, reason, at)
}

// A message given up is ended once and counted once, even when its end is
// written after several passes of the settle loop (a slow store): it was
// given up again at each pass until then, and counted each time.
func TestGivenUpOnceWhenTheStoreIsSlow(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	ctx := testCtx(t, 60*time.Second)
	first := smpptest.NewServer(nil)
	op := addOperator(t, st, "slow", first, func(o *store.Operator) {
		o.Default = true
		o.Params = append(o.Params, store.OperatorParam{Command: "submit_sm", Name: "registered_delivery", Value: "0"},
			store.OperatorParam{Command: "gateway", Name: "query_after", Value: "200ms"},
			store.OperatorParam{Command: "gateway", Name: "give_up_after", Value: "600ms"})
	})
	g := startGateway(t, slowEnds{Store: st, d: 150 * time.Millisecond}) // three settle passes (every 50 ms)
	const n = 5
	batch := loadNumbered(t, g, "slow", n)
	replaceSMSCOnceSent(t, ctx, st, g, &op, first, batch, n)

	sum := waitDone(t, g, batch)
	assert.Equal(t, n, sum.ByState[store.TxUnknown], "%v", sum.ByState)
	assertGivenUpOnce(t, g, op.ID, n)
}

// replaceSMSCOnceSent waits until the batch's n messages are sent, then
// puts in first's place an SMSC that knows none of them (queries tell
// nothing, no receipt comes) and returns it (closed at the test's end).
func replaceSMSCOnceSent(t *testing.T, ctx context.Context, st store.Store, g *Gateway, op *store.Operator,
	first *smpptest.Server, batch int64, n int) *smpptest.Server {
	t.Helper()
	waitFor(t, func() bool {
		sum, err := st.BatchSummary(ctx, batch)
		return err == nil && sum.ByState[store.TxSent] == n
	})
	first.Close()
	second := smpptest.NewServer(nil)
	t.Cleanup(func() { second.Close() })
	host, port, _ := net.SplitHostPort(second.Addr)
	op.Host = host
	op.Port, _ = strconv.Atoi(port)
	require.NoError(t, st.UpdateOperator(ctx, op))
	g.Reload()
	return second
}

// assertGivenUpOnce checks that n messages were given up, each counted
// once, when its end was written (just after the commit a batch summary
// sees), however slow the store: the count is read again after a few
// passes of the settle loop.
func assertGivenUpOnce(t *testing.T, g *Gateway, opID int64, n int) {
	t.Helper()
	waitFor(t, func() bool { return operatorStatus(t, g, opID).Process.NoReceipt >= uint64(n) })
	time.Sleep(500 * time.Millisecond)
	c := operatorStatus(t, g, opID).Process
	t.Logf("%+v", c)
	assert.Equal(t, uint64(n), c.NoReceipt)
}
