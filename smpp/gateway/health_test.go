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
