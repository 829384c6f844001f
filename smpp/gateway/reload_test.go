package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// A named file without external ids, loaded again, sends nothing; edited
// (a row added, one changed, one moved), it sends only the new and the
// changed rows and says which lines they are. Two equal rows are two
// messages.
func TestReloadWithoutExternalIDs(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		sim := smpptest.NewServer(nil)
		defer sim.Close()
		addOperator(t, st, "op", sim, func(o *store.Operator) { o.Default = true })
		g := startGateway(t, st)
		load := func(csv string) LoadReport {
			t.Helper()
			rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "clientes.csv", CSV: strings.NewReader(csv)})
			require.NoError(t, err)
			return rep
		}
		file := "numero,mensaje\n04141234567,Su pedido va en camino\n04141234568,Su pedido llegó\n04141234567,Su pedido va en camino\n"
		rep := load(file)
		assert.Equal(t, 3, rep.Inserted, "%+v", rep)
		waitDone(t, g, rep.BatchID)

		rep = load(file)
		assert.Equal(t, 0, rep.Inserted, "%+v", rep)
		assert.Equal(t, 3, rep.Duplicates)
		assert.Empty(t, rep.NewLines)
		nothing, err := g.WaitLoad(ctx, rep, time.Millisecond, nil)
		require.NoError(t, err)
		assert.Empty(t, nothing.ByState, "a load that inserted nothing")

		edited := "numero,mensaje\n04149999999,Nuevo cliente\n04141234567,Su pedido va en camino\n" +
			"04141234568,Su pedido llegó hoy\n04141234567,Su pedido va en camino\n"
		rep = load(edited)
		assert.Equal(t, 2, rep.Inserted, "%+v", rep)
		assert.Equal(t, 2, rep.Duplicates)
		assert.Equal(t, []int{2, 4}, rep.NewLines)
		this, err := g.WaitLoad(ctx, rep, 10*time.Millisecond, nil)
		require.NoError(t, err)
		assert.Equal(t, map[store.TransmissionState]int{store.TxDelivered: 2}, this.ByState, "this load's messages")
		sum := waitDone(t, g, rep.BatchID)
		assert.Equal(t, 5, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		assert.Equal(t, 5, len(sim.Submitted()), "messages the SMSC got")

		// Without a name, a load is always new.
		for range 2 {
			rep, err := g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader(file)})
			require.NoError(t, err)
			assert.Equal(t, 3, rep.Inserted)
		}
	})
}
