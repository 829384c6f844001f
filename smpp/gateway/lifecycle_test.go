package gateway

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// A dispatcher that dies after its submit_sm was accepted and before it
// recorded the answer leaves a claim behind. After StaleAfter another
// gateway puts it back in the queue and sends it again: the message ends
// in a final state (at-least-once), the SMSC got it twice, and the resend
// is counted as a possible duplicate.
func TestCrashBetweenSubmitAndRecord(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		op := addOperator(t, st, "op", sim, func(o *store.Operator) { o.Default = true })
		c := store.Client{Name: "acme"}
		if err := st.CreateClient(ctx, &c); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, []store.Transmission{
			{OperatorID: op.ID, Destination: "584141234567", Text: "hola"}}); err != nil {
			t.Fatal(err)
		}
		// The dispatcher that dies: claims, submits, never records.
		claimed, err := st.ClaimTransmissions(ctx, op.ID, 1, time.Now())
		if err != nil || len(claimed) != 1 {
			t.Fatal(claimed, err)
		}
		cl, err := smpp.Dial(ctx, sim.Addr, &smpp.Options{SystemID: "gw-op"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Submit(ctx, &pdu.SubmitSM{DestinationAddr: "584141234567", RegisteredDelivery: 1, ShortMessage: []byte("hola")}); err != nil {
			t.Fatal(err)
		}
		cl.Close()

		g, err := New(Config{Store: st, StaleAfter: 300 * time.Millisecond, ReloadInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- g.Run(runCtx) }()
		defer func() { stop(); <-done }()
		var tr store.Transmission
		for tr.State != store.TxDelivered {
			if ctx.Err() != nil {
				t.Fatalf("never delivered: %+v", tr)
			}
			time.Sleep(20 * time.Millisecond)
			tr, _ = st.Transmission(ctx, claimed[0].ID)
		}
		if tr.Attempts != 2 || len(sim.Submitted()) != 2 {
			t.Fatalf("attempts %d, SMSC got %d", tr.Attempts, len(sim.Submitted()))
		}
		status, _ := g.Operators(ctx, time.Time{})
		if status[0].Process.PossibleDuplicates != 1 {
			t.Fatalf("resend not counted: %+v", status[0].Process)
		}
	})
}

// Operators added, disabled and changed while the gateway runs take
// effect without a restart.
func TestOperatorReload(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		simA := smpptest.NewServer(nil)
		defer simA.Close()
		simB := smpptest.NewServer(nil)
		defer simB.Close()
		addOperator(t, st, "a", simA, func(o *store.Operator) { o.Prefixes = []string{"58414"} })
		g := startGateway(t, st)

		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader("04121234567,hola\n")})
		if err != nil || rep.Unroutable != 1 {
			t.Fatalf("before b exists: %+v, %v", rep, err)
		}
		b := addOperator(t, st, "b", simB, func(o *store.Operator) { o.Prefixes = []string{"58412"} })
		g.Reload()
		waitFor(t, func() bool { s := operatorStatus(t, g, b.ID); return s.Running && s.Bound == 1 })
		rep, err = g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader("04121234568,hola\n")})
		if err != nil || rep.Unroutable != 0 {
			t.Fatalf("after b was added: %+v, %v", rep, err)
		}
		waitDone(t, g, rep.BatchID)
		if len(simB.Submitted()) != 1 {
			t.Fatalf("b's SMSC got %d", len(simB.Submitted()))
		}

		// Disabled: its sessions end.
		b.Enabled = false
		if err := st.UpdateOperator(ctx, &b); err != nil {
			t.Fatal(err)
		}
		g.Reload()
		waitFor(t, func() bool { return !operatorStatus(t, g, b.ID).Running && simB.Stats().Sessions == 0 })

		// Changed (a new password the SMSC requires): restarted with it.
		b.Enabled, b.Password = true, "new"
		if err := st.UpdateOperator(ctx, &b); err != nil {
			t.Fatal(err)
		}
		g.Reload()
		waitFor(t, func() bool { return operatorStatus(t, g, b.ID).Bound == 1 })
		if binds := simB.Stats().Binds; binds != 2 {
			t.Fatalf("b bound %d times", binds)
		}
	})
}

func operatorStatus(t *testing.T, g *Gateway, id int64) OperatorStatus {
	t.Helper()
	all, err := g.Operators(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("operator %d not listed", id)
	return OperatorStatus{}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two gateways on one store (as two processes on one PostgreSQL would
// be) share the work and send nothing twice; the operator's TPS holds
// across each gateway's binds.
func TestTwoGatewaysAndTPS(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		addOperator(t, st, "op", sim, func(o *store.Operator) { o.Default = true; o.TPS = 100; o.Binds = 2 })
		g1, g2 := startGateway(t, st), startGateway(t, st)
		var b strings.Builder
		const n = 300
		for i := range n {
			b.WriteString("0414" + strconv.Itoa(1000000+i) + ",hola\n")
		}
		start := time.Now()
		rep, err := g1.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader(b.String())})
		if err != nil || rep.Inserted != n {
			t.Fatal(rep, err)
		}
		g2.Reload()
		sum := waitDone(t, g2, rep.BatchID)
		elapsed := time.Since(start)
		if sum.ByState[store.TxDelivered] != n || len(sim.Submitted()) != n {
			t.Fatalf("summary %v, SMSC got %d", sum.ByState, len(sim.Submitted()))
		}
		a := operatorStatus(t, g1, 1).Process.Accepted
		c := operatorStatus(t, g2, 1).Process.Accepted
		t.Logf("gateway 1 sent %d, gateway 2 sent %d, in %s", a, c, elapsed)
		if a+c != n {
			t.Fatalf("accepted %d + %d", a, c)
		}
		// 100 TPS per gateway (the limit is per process): 300 messages
		// take at least about 1.5 s (the first burst is 5).
		if elapsed < 1400*time.Millisecond {
			t.Fatalf("300 messages at 2x100 TPS in %s", elapsed)
		}
	})
}

// Claims are leases renewed by a heartbeat: a gateway whose submits take
// far longer than StaleAfter (a slow SMSC) keeps its claims, and nothing
// is requeued or sent twice; a dead process's claim is taken over within
// about StaleAfter.
func TestClaimsLiveWhileTheirProcessDoes(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(&smpptest.Config{Latency: 900 * time.Millisecond})
		defer sim.Close()
		op := addOperator(t, st, "slow", sim, func(o *store.Operator) {
			o.Default = true
			o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "5s"}}
		})
		// A claim of a process that died.
		c := store.Client{Name: "other"}
		require.NoError(t, st.CreateClient(ctx, &c))
		_, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, []store.Transmission{
			{OperatorID: op.ID, Destination: "584149999999", Text: "huérfano"}})
		require.NoError(t, err)
		orphan, err := st.ClaimTransmissions(ctx, op.ID, 1, time.Now())
		require.NoError(t, err)
		require.Len(t, orphan, 1)

		g := startGatewayWith(t, st, func(c *Config) { c.StaleAfter = 300 * time.Millisecond })
		const n = 20
		start := time.Now()
		sum := waitDone(t, g, loadNumbered(t, g, "slow", n))
		assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		var tr store.Transmission
		waitFor(t, func() bool {
			tr, _ = st.Transmission(ctx, orphan[0].ID)
			return tr.State == store.TxDelivered
		})
		t.Logf("batch and orphan done in %s", time.Since(start))
		assert.Equal(t, 2, tr.Attempts, "the orphan, taken over once")
		assert.Equal(t, n+1, len(sim.Submitted()), "submits the SMSC got")
		counters := operatorStatus(t, g, op.ID).Process
		assert.Equal(t, uint64(1), counters.PossibleDuplicates, "%+v", counters)
	})
}

// An operator's counters survive a change of the operator (which restarts
// its sessions).
func TestCountersSurviveAnOperatorChange(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		op := addOperator(t, st, "op", sim, func(o *store.Operator) { o.Default = true })
		g := startGateway(t, st)
		waitDone(t, g, loadNumbered(t, g, "before", 5))
		require.Equal(t, uint64(5), operatorStatus(t, g, op.ID).Process.Accepted)
		op.TPS = 1000
		require.NoError(t, st.UpdateOperator(ctx, &op))
		g.Reload()
		waitFor(t, func() bool { return sim.Stats().Binds >= 2 }) // the change restarted the sessions
		waitDone(t, g, loadNumbered(t, g, "after", 3))
		assert.Equal(t, uint64(8), operatorStatus(t, g, op.ID).Process.Accepted)
	})
}

// slowStore makes renewals and claims take longer than StaleAfter, as
// a loaded database's row locks do.
type slowStore struct {
	store.Store
	delay time.Duration
}

func (s slowStore) RenewClaims(ctx context.Context, ids []int64, now time.Time) (int, error) {
	time.Sleep(s.delay)
	return s.Store.RenewClaims(ctx, ids, now)
}

func (s slowStore) ClaimTransmissions(ctx context.Context, operatorID int64, n int, now time.Time) ([]store.Transmission, error) {
	time.Sleep(s.delay)
	return s.Store.ClaimTransmissions(ctx, operatorID, n, now)
}

// A renewal or a claim slower than StaleAfter does not make this
// process's own live claims look stale to its own sweep: nothing is
// requeued, nothing sent twice (the sweep's cutoff follows the renewal's
// and the claims' start times, not the clock after them).
func TestSlowRenewalsKeepOwnClaims(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		sim := smpptest.NewServer(&smpptest.Config{Latency: 900 * time.Millisecond})
		defer sim.Close()
		addOperator(t, st, "slowdb", sim, func(o *store.Operator) {
			o.Default = true
			o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "5s"}}
		})
		g := startGatewayWith(t, slowStore{st, 400 * time.Millisecond}, func(c *Config) { c.StaleAfter = 300 * time.Millisecond })
		const n = 10
		sum := waitDone(t, g, loadNumbered(t, g, "slowdb", n))
		assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Equal(t, n, len(sim.Submitted()), "submits the SMSC got")
	})
}

// lateAnswerStore answers claims late (after they committed) and renews
// slowly: a claim that ends while a renewal runs is in neither the
// renewal's list nor the claims being made when the sweep follows.
type lateAnswerStore struct {
	store.Store
	claimLate, renew time.Duration
}

func (s lateAnswerStore) ClaimTransmissions(ctx context.Context, operatorID int64, n int, now time.Time) ([]store.Transmission, error) {
	ts, err := s.Store.ClaimTransmissions(ctx, operatorID, n, now)
	if len(ts) > 0 {
		time.Sleep(s.claimLate)
	}
	return ts, err
}

func (s lateAnswerStore) RenewClaims(ctx context.Context, ids []int64, now time.Time) (int, error) {
	time.Sleep(s.renew)
	return s.Store.RenewClaims(ctx, ids, now)
}

func TestLateClaimAnswersKeepOwnClaims(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		sim := smpptest.NewServer(&smpptest.Config{Latency: 900 * time.Millisecond})
		defer sim.Close()
		addOperator(t, st, "late", sim, func(o *store.Operator) {
			o.Default = true
			o.Params = []store.OperatorParam{{Command: "gateway", Name: "response_timeout", Value: "5s"}}
		})
		g := startGatewayWith(t, lateAnswerStore{st, 500 * time.Millisecond, 200 * time.Millisecond},
			func(c *Config) { c.StaleAfter = 300 * time.Millisecond })
		const n = 10
		sum := waitDone(t, g, loadNumbered(t, g, "late", n))
		assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Equal(t, n, len(sim.Submitted()), "submits the SMSC got")
	})
}

// hungClaimStore never answers the claims of one operator.
type hungClaimStore struct {
	store.Store
	stuck int64
}

func (s hungClaimStore) ClaimTransmissions(ctx context.Context, operatorID int64, n int, now time.Time) ([]store.Transmission, error) {
	if operatorID == s.stuck {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.ClaimTransmissions(ctx, operatorID, n, now)
}

// A claim that hangs (a stalled connection) does not hold back the
// takeover of a dead process's claims for good: claims are bounded in
// time, so the cutoff moves on.
func TestHungClaimDoesNotFreezeTakeover(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	sim := smpptest.NewServer(nil)
	defer sim.Close()
	stuck := addOperator(t, st, "stuck", sim, nil)
	good := addOperator(t, st, "good", sim, func(o *store.Operator) { o.Default = true })
	// A claim of a process that died, on the good operator.
	c := store.Client{Name: "other"}
	require.NoError(t, st.CreateClient(ctx, &c))
	_, _, err = st.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, []store.Transmission{
		{OperatorID: good.ID, Destination: "584149999999", Text: "huérfano"}})
	require.NoError(t, err)
	orphan, err := st.ClaimTransmissions(ctx, good.ID, 1, time.Now())
	require.NoError(t, err)
	require.Len(t, orphan, 1)
	startGatewayWith(t, hungClaimStore{st, stuck.ID}, func(c *Config) { c.StaleAfter = 300 * time.Millisecond })
	waitFor(t, func() bool {
		tr, _ := st.Transmission(ctx, orphan[0].ID)
		return tr.State == store.TxDelivered
	})
}
