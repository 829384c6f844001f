package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// loadNumbered loads n messages to 0414... numbers for client acme and
// returns the batch id.
func loadNumbered(t *testing.T, g *Gateway, name string, n int) int64 {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "0414%07d,mensaje %d,%s%d\n", i, i, name, i)
	}
	rep, err := g.LoadCSV(testCtx(t, 30*time.Second), Batch{Client: "acme", Name: name, CSV: strings.NewReader(b.String())})
	require.NoError(t, err)
	require.Equal(t, n, rep.Inserted, "%+v", rep)
	return rep.BatchID
}

// An SMSC slower than the response timeout: every submit_sm_resp comes
// late. The gateway uses each late answer: every message is delivered
// and the SMSC gets exactly one submit per message, none counted
// uncertain.
func TestSlowSMSCGetsEachMessageOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		sim := smpptest.NewServer(&smpptest.Config{Latency: 400 * time.Millisecond, ReceiptDelay: time.Millisecond})
		defer sim.Close()
		op := addOperator(t, st, "slow", sim, func(o *store.Operator) {
			o.Default = true
			o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "100ms"}}
		})
		g := startGateway(t, st)
		const n = 120
		sum := waitDone(t, g, loadNumbered(t, g, "slow", n))
		assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Equal(t, n, len(sim.Submitted()), "submits the SMSC got")
		assert.Equal(t, uint64(n), sim.Stats().Submits)
		c := operatorStatus(t, g, op.ID).Process
		t.Logf("%+v", c)
		assert.Equal(t, uint64(n), c.Late, "late answers used")
		assert.Zero(t, c.Uncertain)
		assert.Zero(t, c.PossibleDuplicates)
		assert.Zero(t, c.Retried)
	})
}

// The session ends while submits wait for answers that never come (the
// SMSC hung, then the connection dropped): the operator's policy
// decides. at-least-once sends each again and counts it; at-most-once
// sends nothing again and ends each message unknown, and the batch ends.
func TestSessionLostWithoutAnswers(t *testing.T) {
	for _, policy := range []string{"at-least-once", "at-most-once"} {
		t.Run(policy, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st store.Store) {
				ctx := testCtx(t, 60*time.Second)
				sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: time.Millisecond})
				defer sim.Close()
				op := addOperator(t, st, "hung", sim, func(o *store.Operator) {
					o.Default = true
					o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "100ms"},
						{Command: "gateway", Name: "resend", Value: policy}}
				})
				g := startGatewayWith(t, st, func(c *Config) { c.SubmitTimeout = time.Minute })
				const n = 30
				sim.SetMute(true)
				batch := loadNumbered(t, g, "hung", n)
				waitFor(t, func() bool { return sim.Stats().Unanswered >= n })
				// Past the response timeout the submits wait for late
				// answers; then the connection drops.
				time.Sleep(300 * time.Millisecond)
				sim.SetMute(false)
				require.Equal(t, 1, sim.DropConnections())
				sum := waitDone(t, g, batch)
				c := operatorStatus(t, g, op.ID).Process
				stats := sim.Stats()
				t.Logf("%+v; SMSC %+v; %v", c, stats, sum.ByState)
				assert.Equal(t, uint64(n), stats.Unanswered, "submits the SMSC got and never answered")
				assert.Equal(t, uint64(n), c.Uncertain)
				if policy == "at-most-once" {
					assert.Equal(t, n, sum.ByState[store.TxUnknown], "%v", sum.ByState)
					assert.Equal(t, uint64(n), c.Unknown)
					assert.Zero(t, stats.Submits, "sent again")
					assert.Zero(t, c.PossibleDuplicates)
					tr, err := st.LastTransmissionTo(ctx, "584140000007")
					require.NoError(t, err)
					assert.Contains(t, tr.Reason, "may have reached the SMSC")
					assert.Contains(t, tr.Reason, "at-most-once")
					return
				}
				assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
				assert.Equal(t, uint64(n), stats.Submits, "each sent once more")
				assert.Equal(t, uint64(n), c.PossibleDuplicates)
				assert.Zero(t, c.Unknown)
			})
		})
	}
}

// A long message whose first part was accepted and whose second may have
// reached the SMSC (never answered) is not sent again under either
// policy (that would surely repeat the first part): it ends unknown,
// counted uncertain, with the accepted part's id in its reason.
func TestLongMessageWithAnUncertainPart(t *testing.T) {
	for _, policy := range []string{"at-least-once", "at-most-once"} {
		t.Run(policy, func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
			require.NoError(t, err)
			defer st.Close()
			var sim *smpptest.Server
			sim = smpptest.NewServer(&smpptest.Config{Refuse: func(sm *pdu.SubmitSM) pdu.Status {
				sim.SetMute(true) // the next part is never answered
				return pdu.StatusOK
			}})
			defer sim.Close()
			op := addOperator(t, st, "half", sim, func(o *store.Operator) {
				o.Default = true
				o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "100ms"},
					{Command: "gateway", Name: "resend", Value: policy}}
			})
			g := startGatewayWith(t, st, func(c *Config) { c.SubmitTimeout = time.Second })
			long := strings.Repeat("Mensaje largo de prueba. ", 12)
			rep, err := g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader("04140000001," + long + ",x\n")})
			require.NoError(t, err)
			sum := waitDone(t, g, rep.BatchID)
			assert.Equal(t, 1, sum.ByState[store.TxUnknown], "%v", sum.ByState)
			tr, err := st.LastTransmissionTo(ctx, "584140000001")
			require.NoError(t, err)
			first := sim.Submitted()
			require.Len(t, first, 1)
			assert.Contains(t, tr.Reason, "may have reached the SMSC")
			assert.Contains(t, tr.Reason, first[0].MessageID)
			c := operatorStatus(t, g, op.ID).Process
			assert.Equal(t, uint64(1), c.Uncertain)
			assert.Equal(t, uint64(1), c.Unknown)
			assert.Zero(t, c.Failed)
			assert.Equal(t, uint64(1), sim.Stats().Unanswered, "the second part, sent once")
		})
	}
}

// Every answer late and query_sm asking about messages without receipts
// meanwhile: the late queries never crowd the submits out of the late
// table, so the SMSC still gets each message once, and their late
// answers settle the messages.
func TestLateSubmitsAndQueriesTogether(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		sim := smpptest.NewServer(&smpptest.Config{Latency: 300 * time.Millisecond})
		defer sim.Close()
		op := addOperator(t, st, "slowq", sim, func(o *store.Operator) {
			o.Default, o.WindowSize = true, 2
			o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "50ms"},
				{Command: "submit_sm", Name: "registered_delivery", Value: "0"},
				{Command: "gateway", Name: "query_after", Value: "100ms"}, {Command: "gateway", Name: "give_up_after", Value: "1h"}}
		})
		g := startGatewayWith(t, st, func(c *Config) { c.SubmitTimeout = 20 * time.Second })
		const n = 30
		batch := loadNumbered(t, g, "slowq", n)
		// Every message sent once, and settled by its query_sm, whose
		// answer comes late like everything from this SMSC and counts all
		// the same (before, a query slower than the response timeout never
		// counted, and the messages stayed sent until given up on).
		waitFor(t, func() bool {
			sum, err := st.BatchSummary(context.Background(), batch)
			return err == nil && sum.ByState[store.TxDelivered] == n
		})
		assert.Equal(t, n, len(sim.Submitted()), "submits the SMSC got")
		c := operatorStatus(t, g, op.ID).Process
		t.Logf("%+v", c)
		assert.Zero(t, c.Uncertain)
		assert.GreaterOrEqual(t, c.QueriedFinal, uint64(n))

	})
}

// A later part of a long message refused for a while (throttled longer
// than the client's own retries) is tried again until accepted: the
// message is delivered whole, its first part sent once.
func TestLongMessageLaterPartThrottled(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 30*time.Second)
		var calls atomic.Int64
		sim := smpptest.NewServer(&smpptest.Config{Refuse: func(sm *pdu.SubmitSM) pdu.Status {
			// The second part is refused more times than the client
			// tries a submit (4) before it gives up.
			if n := calls.Add(1); n > 1 && n <= 5 {
				return pdu.StatusThrottled
			}
			return pdu.StatusOK
		}})
		defer sim.Close()
		op := addOperator(t, st, "throttly", sim, func(o *store.Operator) { o.Default = true })
		g := startGatewayWith(t, st, func(c *Config) { c.SubmitTimeout = 20 * time.Second })
		long := strings.Repeat("Mensaje largo de prueba. ", 12)
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader("04140000001," + long + ",x\n")})
		require.NoError(t, err)
		sum := waitDone(t, g, rep.BatchID)
		tr, err := st.LastTransmissionTo(ctx, "584140000001")
		require.NoError(t, err)
		assert.Equal(t, 1, sum.ByState[store.TxDelivered], "%v: %s", sum.ByState, tr.Reason)
		assert.Equal(t, 2, tr.Segments, tr.Reason)
		assert.Len(t, sim.Submitted(), 2, "each part accepted once")
		c := operatorStatus(t, g, op.ID).Process
		assert.NotZero(t, c.PartRetries)
		assert.Zero(t, c.Failed)
		assert.Zero(t, c.Uncertain)
	})
}

// partOf is the part number of a concatenated submit_sm (UDH 8-bit
// reference), 1 for a single one.
func partOf(sm *pdu.SubmitSM) int {
	if sm.ESMClass&0x40 != 0 && len(sm.ShortMessage) > 5 {
		return int(sm.ShortMessage[5])
	}
	return 1
}

// A later part accepted by the SMSC after tries near the submit timeout
// never leaves its message recorded failed: delivered, or unknown with
// the accepted parts' ids (a try whose answer the deadline cut off may
// have reached the SMSC).
func TestLongMessageLaterPartNearTheDeadline(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	var first atomic.Int64
	sim := smpptest.NewServer(&smpptest.Config{Refuse: func(sm *pdu.SubmitSM) pdu.Status {
		if partOf(sm) == 1 {
			first.Store(time.Now().UnixNano())
			return pdu.StatusOK
		}
		if time.Since(time.Unix(0, first.Load())) < 1500*time.Millisecond {
			return pdu.StatusThrottled
		}
		time.Sleep(1200 * time.Millisecond) // accepted, answered after the response timeout
		return pdu.StatusOK
	}})
	defer sim.Close()
	addOperator(t, st, "slowpart", sim, func(o *store.Operator) {
		o.Default = true
		o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "1s"}}
	})
	g := startGatewayWith(t, st, func(c *Config) { c.SubmitTimeout = 3 * time.Second })
	long := strings.Repeat("Mensaje largo de prueba. ", 12)
	rep, err := g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader("04140000001," + long + ",x\n")})
	require.NoError(t, err)
	sum := waitDone(t, g, rep.BatchID)
	tr, err := st.LastTransmissionTo(ctx, "584140000001")
	require.NoError(t, err)
	accepted := len(sim.Submitted())
	t.Logf("SMSC accepted %d parts; %v: %s", accepted, sum.ByState, tr.Reason)
	if accepted == 2 {
		assert.NotEqual(t, store.TxFailed, tr.State, "both parts at the SMSC, recorded failed: %s", tr.Reason)
	}
	if tr.State == store.TxUnknown {
		assert.Contains(t, tr.Reason, sim.Submitted()[0].MessageID)
	}
}

// A later part refused for a reason of its own (ESME_RSYSERR) is not
// tried again: the message fails at once, and holds no window slot while
// other messages wait (they went through in milliseconds before the
// retries, and must again).
func TestLongMessageLaterPartRefusedAlone(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	sim := smpptest.NewServer(&smpptest.Config{Refuse: func(sm *pdu.SubmitSM) pdu.Status {
		if partOf(sm) > 1 {
			return pdu.StatusSysErr
		}
		return pdu.StatusOK
	}})
	defer sim.Close()
	op := addOperator(t, st, "syserr", sim, func(o *store.Operator) { o.Default, o.WindowSize = true, 2 })
	g := startGatewayWith(t, st, func(c *Config) { c.SubmitTimeout = 15 * time.Second })
	long := strings.Repeat("Mensaje largo de prueba. ", 12)
	_, err = g.LoadCSV(ctx, Batch{Client: "acme", Name: "long", CSV: strings.NewReader(
		"04140000998," + long + ",a\n04140000999," + long + ",b\n")})
	require.NoError(t, err)
	start := time.Now()
	short := loadNumbered(t, g, "syserr", 10)
	waitDone(t, g, short)
	assert.Less(t, time.Since(start), 5*time.Second, "short messages waited behind the long ones")
	c := operatorStatus(t, g, op.ID).Process
	assert.Zero(t, c.PartRetries)
}

// A reload (the operator disabled) while a later part waits out the
// SMSC's throttling is not held for the submit timeout: the tries stop.
func TestReloadStopsLaterPartTries(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	sim := smpptest.NewServer(&smpptest.Config{Refuse: func(sm *pdu.SubmitSM) pdu.Status {
		if partOf(sm) > 1 {
			return pdu.StatusThrottled // for good
		}
		return pdu.StatusOK
	}})
	defer sim.Close()
	op := addOperator(t, st, "throttled", sim, func(o *store.Operator) { o.Default = true })
	g := startGatewayWith(t, st, func(c *Config) { c.SubmitTimeout = 40 * time.Second })
	long := strings.Repeat("Mensaje largo de prueba. ", 12)
	_, err = g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader("04140000001," + long + ",x\n")})
	require.NoError(t, err)
	waitFor(t, func() bool { return operatorStatus(t, g, op.ID).Process.PartRetries > 0 })
	o, err := st.Operator(ctx, op.ID)
	require.NoError(t, err)
	o.Enabled = false
	require.NoError(t, st.UpdateOperator(ctx, &o))
	start := time.Now()
	g.Reload()
	assert.Less(t, time.Since(start), 10*time.Second, "the reload waited for the part's tries")
}
