package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// Two operators take one prefix: the preferred one cannot be reached. The
// messages queued on it go to the next once it has been unbound for
// FailoverAfter, and new ones go there straight away.
func TestFailoverToTheNextOperator(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		backup := smpptest.NewServer(nil)
		defer backup.Close()
		main := addUnreachableOperator(t, st, "main", "58414")
		addOperator(t, st, "backup", backup, func(o *store.Operator) { o.Prefixes = []string{"58414"}; o.Priority = 1 })

		// Loaded by a process that sends nothing: routed by priority.
		loader, err := New(Config{Store: st, Numbering: Numbering{CountryCode: "58", NationalPrefix: "0"}})
		require.NoError(t, err)
		var b strings.Builder
		for i := range 20 {
			fmt.Fprintf(&b, "0414%07d,hola %d\n", i, i)
		}
		rep, err := loader.LoadCSV(ctx, Batch{Client: "acme", Name: "f1", CSV: strings.NewReader(b.String())})
		require.NoError(t, err)
		first, err := st.LastTransmissionTo(ctx, "584140000000")
		require.NoError(t, err)
		require.Equal(t, main.ID, first.OperatorID, "routed to the preferred operator")

		g := startGatewayWith(t, st, func(c *Config) { c.FailoverAfter = 300 * time.Millisecond })
		sum := waitDone(t, g, rep.BatchID)
		assert.Equal(t, 20, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Len(t, backup.Submitted(), 20)
		assert.Equal(t, uint64(20), operatorStatus(t, g, main.ID).Process.FailedOver)

		// While main is down, new messages go to backup at once.
		rep, err = g.LoadCSV(ctx, Batch{Client: "acme", Name: "f2", CSV: strings.NewReader("04149999999,otra\n")})
		require.NoError(t, err)
		tr, err := st.LastTransmissionTo(ctx, "584149999999")
		require.NoError(t, err)
		assert.NotEqual(t, main.ID, tr.OperatorID)
		waitDone(t, g, rep.BatchID)
	})
}

// Operators of equal priority share a prefix's messages by weight, in
// turn: exact shares.
func TestLoadSharingByWeight(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		one, three := smpptest.NewServer(nil), smpptest.NewServer(nil)
		defer one.Close()
		defer three.Close()
		addOperator(t, st, "one", one, func(o *store.Operator) { o.Prefixes = []string{"58414"}; o.Weight = 1 })
		addOperator(t, st, "three", three, func(o *store.Operator) { o.Prefixes = []string{"58414"}; o.Weight = 3 })
		g := startGateway(t, st)
		waitFor(t, func() bool { h := g.healthFunc(); return h != nil && h(1) && h(2) })
		const n = 400
		sum := waitDone(t, g, loadNumbered(t, g, "shared", n))
		assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		a, c := len(one.Submitted()), len(three.Submitted())
		t.Logf("weight 1: %d, weight 3: %d", a, c)
		assert.Equal(t, n, a+c)
		assert.Equal(t, n/4, a, "weight 1 of 4, exactly: the shares go in turn")
	})
}
