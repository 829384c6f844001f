package gateway

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// addUnreachableOperator adds an enabled operator taking prefixes at an
// address nothing listens on: its messages stay queued.
func addUnreachableOperator(t *testing.T, st store.Store, name string, prefixes ...string) store.Operator {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	p, _ := strconv.Atoi(port)
	op := store.Operator{Name: name, Host: host, Port: p, SystemID: "x", BindMode: store.BindTransceiver,
		Enabled: true, Prefixes: prefixes}
	require.NoError(t, st.CreateOperator(context.Background(), &op))
	return op
}

// Messages queued on an operator that is deleted go to the operator that
// now takes their numbers, or fail with the reason; none waits forever.
// Deleted through the API (as the CLI does) or behind a running gateway's
// back (another process), alike.
func TestDeletedOperatorsMessagesAreRerouted(t *testing.T) {
	for _, how := range []string{"DeleteOperator", "another process"} {
		t.Run(how, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st store.Store) {
				ctx := testCtx(t, 60*time.Second)
				sim := smpptest.NewServer(nil)
				defer sim.Close()
				addOperator(t, st, "wide", sim, func(o *store.Operator) { o.Prefixes = []string{"58"} })
				gone := addUnreachableOperator(t, st, "gone", "58414")
				lonely := addUnreachableOperator(t, st, "lonely", "1")
				g := startGateway(t, st)

				var b strings.Builder
				for i := range 10 {
					fmt.Fprintf(&b, "0414%07d,hola %d\n", i, i)
				}
				rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "gone", CSV: strings.NewReader(b.String())})
				require.NoError(t, err)
				require.Equal(t, 10, rep.Inserted)
				time.Sleep(300 * time.Millisecond) // nothing can send them
				sum, err := st.BatchSummary(ctx, rep.BatchID)
				require.NoError(t, err)
				require.Equal(t, 10, sum.ByState[store.TxQueued], "%v", sum.ByState)

				switch how {
				case "DeleteOperator":
					other, err := New(Config{Store: st})
					require.NoError(t, err)
					res, err := other.DeleteOperator(ctx, gone.ID)
					require.NoError(t, err)
					// The running gateway's reload may move some at the
					// same moment: this call counts what it did.
					assert.LessOrEqual(t, res.Moved, 10)
					assert.Zero(t, res.Failed+res.Ended)
				default:
					require.NoError(t, st.DeleteOperator(ctx, gone.ID))
				}
				sum = waitDone(t, g, rep.BatchID)
				assert.Equal(t, 10, sum.ByState[store.TxDelivered], "%v", sum.ByState)

				// Numbers only the deleted operator took fail, saying why.
				rep, err = g.LoadCSV(ctx, Batch{Client: "acme", Name: "lonely", CSV: strings.NewReader("+12025550100,hi\n")})
				require.NoError(t, err)
				require.Equal(t, 1, rep.Inserted)
				if how == "DeleteOperator" {
					res, err := g.DeleteOperator(ctx, lonely.ID)
					require.NoError(t, err)
					assert.LessOrEqual(t, res.Failed, 1)
					assert.Zero(t, res.Moved+res.Ended)
				} else {
					require.NoError(t, st.DeleteOperator(ctx, lonely.ID))
				}
				sum = waitDone(t, g, rep.BatchID)
				assert.Equal(t, 1, sum.ByState[store.TxFailed], "%v", sum.ByState)
				tr, err := st.LastTransmissionTo(ctx, "12025550100")
				require.NoError(t, err)
				assert.Contains(t, tr.Reason, "operator lonely was deleted")
			})
		})
	}
}

// An operator deleted while no gateway ran it: the messages queued on it
// go elsewhere when a gateway starts (and any that a dead process's stale
// claim puts back on it later, at the next sweep).
func TestOperatorDeletedWhileNoGatewayRan(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		addOperator(t, st, "wide", sim, func(o *store.Operator) { o.Prefixes = []string{"58"} })
		gone := addUnreachableOperator(t, st, "gone", "58414")
		loader, err := New(Config{Store: st, Numbering: Numbering{CountryCode: "58", NationalPrefix: "0"}})
		require.NoError(t, err)
		rep, err := loader.LoadCSV(ctx, Batch{Client: "acme", Name: "x", CSV: strings.NewReader("04141234567,a\n04141234568,b\n")})
		require.NoError(t, err)
		stale, err := st.ClaimTransmissions(ctx, gone.ID, 1, time.Now()) // a process that then died
		require.NoError(t, err)
		require.Len(t, stale, 1)
		require.NoError(t, st.DeleteOperator(ctx, gone.ID))

		g := startGatewayWith(t, st, func(c *Config) { c.StaleAfter = 300 * time.Millisecond })
		sum := waitDone(t, g, rep.BatchID)
		assert.Equal(t, 2, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Len(t, sim.Submitted(), 2)
	})
}

// A deleted operator's sent messages, whose receipts can no longer come,
// end unknown: the batch ends.
func TestDeletedOperatorsSentMessagesEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		op := addOperator(t, st, "quiet", sim, func(o *store.Operator) {
			o.Default = true
			o.Params = append(o.Params, store.OperatorParam{Command: "submit_sm", Name: "registered_delivery", Value: "0"})
		})
		g := startGateway(t, st)
		batch := loadNumbered(t, g, "quiet", 5)
		waitFor(t, func() bool {
			sum, err := st.BatchSummary(ctx, batch)
			return err == nil && sum.ByState[store.TxSent] == 5
		})
		res, err := g.DeleteOperator(ctx, op.ID)
		require.NoError(t, err)
		// The running gateway's reload may end some of them at the same
		// moment: this call counts what it did.
		assert.Zero(t, res.Moved+res.Failed)
		assert.LessOrEqual(t, res.Ended, 5)
		sum := waitDone(t, g, batch)
		assert.Equal(t, 5, sum.ByState[store.TxUnknown], "%v", sum.ByState)
		tr, err := st.LastTransmissionTo(ctx, "584140000001")
		require.NoError(t, err)
		assert.Contains(t, tr.Reason, "deleted before its receipt came")
	})
}
