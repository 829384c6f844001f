package gateway

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// Files as spreadsheets export them: ';' or tab separated, a UTF-8 byte
// order mark, Excel's quoting (separators and doubled quotes inside a
// quoted field).
func TestCSVAsSpreadsheetsExportIt(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.CreateOperator(ctx, &store.Operator{Name: "op", Host: "127.0.0.1", Port: 1, Default: true, Enabled: true}))
	g, err := New(Config{Store: st, Numbering: Numbering{CountryCode: "58", NationalPrefix: "0"}})
	require.NoError(t, err)
	for _, c := range []struct {
		name, csv string
		delim     rune
	}{
		{"semicolon with BOM", "\ufeffnumero;mensaje\r\n04141234567;\"Hola; \"\"Ana\"\", su pedido\"\r\n04241234568;Hola Luis\r\n", ';'},
		{"tab", "numero\tmensaje\n04141234567\t\"Hola; \"\"Ana\"\", su pedido\"\n04241234568\tHola Luis\n", '\t'},
		{"comma, a ';' in a quoted text", "numero,mensaje\n04141234567,\"Hola; \"\"Ana\"\", su pedido\"\n04241234568,Hola Luis\n", ','},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader(c.csv)})
			require.NoError(t, err)
			assert.Equal(t, c.delim, rep.Delimiter)
			assert.Equal(t, 2, rep.Inserted, "%+v", rep)
			assert.Zero(t, rep.Rejected, "%+v", rep.Errors)
			tr, err := st.LastTransmissionTo(ctx, "584141234567")
			require.NoError(t, err)
			assert.Equal(t, `Hola; "Ana", su pedido`, tr.Text)
		})
	}
}
