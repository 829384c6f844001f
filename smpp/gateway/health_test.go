package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// A process that does not run the operators (a command line, a console)
// sees the health the running gateway reports: sessions bound, and for an
// operator it cannot reach, since when and the last error.
func TestOperatorHealthSeenFromAnotherProcess(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		up := addOperator(t, st, "up", sim, func(o *store.Operator) { o.Default = true })
		down := addUnreachableOperator(t, st, "down", "58416")
		startGatewayWith(t, st, func(c *Config) { c.HealthReportInterval = 50 * time.Millisecond })

		cli, err := New(Config{Store: st, HealthReportInterval: 50 * time.Millisecond}) // never run
		require.NoError(t, err)
		var byID map[int64]OperatorStatus
		waitFor(t, func() bool {
			status, err := cli.Operators(context.Background(), time.Now().Add(-time.Hour))
			require.NoError(t, err)
			byID = map[int64]OperatorStatus{}
			for _, s := range status {
				byID[s.ID] = s
			}
			u, d := byID[up.ID].Reports, byID[down.ID].Reports
			return len(u) == 1 && u[0].Bound == 1 && len(d) == 1 && !d[0].UnboundSince.IsZero() && d[0].LastError != ""
		})
		assert.False(t, byID[up.ID].Running, "the command line runs nothing")
		d := byID[down.ID].Reports[0]
		assert.Zero(t, d.Bound)
		assert.Contains(t, d.LastError, "refused")
		assert.NotEmpty(t, d.Process)
	})
}

// Reports are judged by their writer's pace, kept apart for two gateways
// in one process, and end with a Stopped report when a gateway stops or
// an operator is disabled, so nobody reads a stopped session as bound.
func TestOperatorHealthLastReports(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		a := addOperator(t, st, "a", sim, func(o *store.Operator) { o.Default = true })
		b := addOperator(t, st, "b", sim, func(o *store.Operator) { o.Prefixes = []string{"58416"} })

		run := func() (stop func()) {
			g, err := New(Config{Store: st, ReloadInterval: 50 * time.Millisecond, HealthReportInterval: 50 * time.Millisecond})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- g.Run(ctx) }()
			return func() { cancel(); require.NoError(t, <-done) }
		}
		stop1 := run()
		stop2 := run()
		defer stop2()

		// A reader whose own interval is an hour still drops reports
		// older than three of their writer's 50 ms intervals; one whose
		// interval is a millisecond still keeps fresh ones.
		slow, err := New(Config{Store: st, HealthReportInterval: time.Hour})
		require.NoError(t, err)
		fast, err := New(Config{Store: st, HealthReportInterval: time.Millisecond})
		require.NoError(t, err)
		reports := func(g *Gateway, id int64) []store.OperatorHealth {
			status, err := g.Operators(context.Background(), time.Now())
			require.NoError(t, err)
			for _, s := range status {
				if s.ID == id {
					return s.Reports
				}
			}
			t.Fatalf("operator %d not listed", id)
			return nil
		}
		boundIn := func(rs []store.OperatorHealth) (n, stopped int) {
			for _, h := range rs {
				if h.Stopped {
					stopped++
				} else if h.Bound == 1 {
					n++
				}
			}
			return n, stopped
		}
		waitFor(t, func() bool { n, _ := boundIn(reports(fast, a.ID)); return n == 2 })
		rs := reports(fast, a.ID)
		assert.NotEqual(t, rs[0].Process, rs[1].Process, "two gateways of one process report apart")
		assert.Equal(t, 50*time.Millisecond, rs[0].Interval)

		// The first gateway stops: its last report says so at once.
		stop1()
		rs = reports(slow, a.ID)
		n, stopped := boundIn(rs)
		assert.Equal(t, 1, n, "the running gateway's report")
		assert.Equal(t, 1, stopped, "the stopped gateway's last report")
		// ... and it ages out by its writer's pace, for every reader.
		waitFor(t, func() bool { return len(reports(slow, a.ID)) == 1 })

		// Operator b disabled: the running gateway's last report on it
		// says stopped.
		op, err := st.Operator(context.Background(), b.ID)
		require.NoError(t, err)
		op.Enabled = false
		require.NoError(t, st.UpdateOperator(context.Background(), &op))
		waitFor(t, func() bool {
			rs := reports(fast, b.ID)
			return len(rs) == 1 && rs[0].Stopped && rs[0].Bound == 0
		})
	})
}

// WaitBatch without a progress function polls with LoadPending and still
// returns the batch's summary: when every message is final, and when its
// context ends first (the last counts, with the context's error).
func TestWaitBatchWithoutProgress(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		addUnreachableOperator(t, st, "down", "58414")
		g := startGateway(t, st)
		id := loadNumbered(t, g, "stuck", 5)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		s, err := g.WaitBatch(ctx, id, 20*time.Millisecond, nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, id, s.Batch.ID)
		assert.Equal(t, 5, s.ByState[store.TxQueued]+s.ByState[store.TxSubmitting], "%v", s.ByState)

		_, err = g.WaitBatch(context.Background(), id+100, 20*time.Millisecond, nil)
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
