package gateway

import (
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

// An SMSC replaced by one that numbers its message ids from 1 again (a
// restart, a failover), with receipts that overtake their responses:
// every receipt lands on its own message. The first batch's messages keep
// the state and time their own receipts gave them; the second batch's
// all end with theirs.
func TestReceiptsOfReusedIDs(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		first := smpptest.NewServer(&smpptest.Config{FirstID: 1, Latency: 20 * time.Millisecond})
		op := addOperator(t, st, "reuse", first, func(o *store.Operator) { o.Default = true })
		g := startGateway(t, st)
		const n = 60
		sum := waitDone(t, g, loadNumbered(t, g, "first", n))
		require.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		before := map[string]store.Transmission{}
		for i := range n {
			tr, err := st.LastTransmissionTo(ctx, fmt.Sprintf("58414%07d", i))
			require.NoError(t, err)
			before[tr.Destination] = tr
		}
		first.Close()

		// The same ids again, other outcomes, receipts before responses.
		second := smpptest.NewServer(&smpptest.Config{FirstID: 1, Latency: 20 * time.Millisecond,
			Outcomes: smpptest.Outcomes{Undeliverable: 1}})
		defer second.Close()
		host, port, _ := net.SplitHostPort(second.Addr)
		op.Host = host
		op.Port, _ = strconv.Atoi(port)
		require.NoError(t, st.UpdateOperator(ctx, &op))
		g.Reload()
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "0414%07d,otra vez %d,second%d\n", i, i, i)
		}
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "second", CSV: strings.NewReader(b.String())})
		require.NoError(t, err)
		sum = waitDone(t, g, rep.BatchID)
		assert.Equal(t, n, sum.ByState[store.TxUndeliverable], "second batch: %v", sum.ByState)
		firstSum, err := st.BatchSummary(ctx, before["584140000000"].BatchID)
		require.NoError(t, err)
		assert.Equal(t, n, firstSum.ByState[store.TxDelivered], "first batch after: %v", firstSum.ByState)
		for dest, old := range before {
			got, err := st.Transmission(ctx, old.ID)
			require.NoError(t, err)
			assert.Equal(t, old.DoneAt, got.DoneAt, "%s: done time rewritten", dest)
			assert.Equal(t, old.State, got.State, dest)
		}
	})
}
