package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// The gateway against every way an SMSC can misbehave, for a second in
// the middle of a batch: every message ends (the gateway recovers, never
// hangs or crashes), every one reached the SMSC, and copies beyond the
// first are never more than the attempts the gateway counted as
// uncertain. (The PostgreSQL store meets the same faults in TestFaults.)
func TestGatewaySurvivesAHostileSMSC(t *testing.T) {
	for _, fault := range smpptest.Faults() {
		t.Run(fault.String(), func(t *testing.T) {
			ctx := testCtx(t, 60*time.Second)
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
			require.NoError(t, err)
			defer st.Close()
			sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: time.Millisecond, Latency: 5 * time.Millisecond})
			defer sim.Close()
			addOperator(t, st, "hostile", sim, func(o *store.Operator) {
				o.Default, o.WindowSize, o.TPS, o.EnquireLink = true, 4, 200, 200*time.Millisecond
			})
			g := startGateway(t, st)

			const n = 120
			var b strings.Builder
			for i := range n {
				fmt.Fprintf(&b, "0414%07d,mensaje %d,h%d\n", i, i, i)
			}
			rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "hostile", CSV: strings.NewReader(b.String())})
			require.NoError(t, err)
			require.NoError(t, sim.WaitSubmitted(ctx, 20))
			sim.SetFault(fault)
			time.Sleep(time.Second)
			sim.SetFault(smpptest.FaultNone)
			sum := waitDone(t, g, rep.BatchID)
			assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)

			perDest := map[string]int{}
			for _, s := range sim.Submitted() {
				perDest[s.Dest]++
			}
			extra := 0
			for i := range n {
				c := perDest[fmt.Sprintf("58414%07d", i)]
				require.NotZero(t, c, "message %d never reached the SMSC", i)
				extra += c - 1
			}
			status, err := g.Operators(ctx, time.Now().Add(-time.Hour))
			require.NoError(t, err)
			p := status[0].Process
			t.Logf("%+v; SMSC got %d copies beyond the first", p, extra)
			assert.LessOrEqual(t, uint64(extra), p.Uncertain, "duplicates the gateway did not count")
		})
	}
}
