package gateway

import (
	"context"
	"errors"
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
	const excel = `Hola; "Ana", su pedido`
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
		text      string
	}{
		{"semicolon with BOM", "\ufeffnumero;mensaje\r\n04141234567;\"Hola; \"\"Ana\"\", su pedido\"\r\n04241234568;Hola Luis\r\n", ';', excel},
		{"tab", "numero\tmensaje\n04141234567\t\"Hola; \"\"Ana\"\", su pedido\"\n04241234568\tHola Luis\n", '\t', excel},
		{"comma, a ';' in a quoted text", "numero,mensaje\n04141234567,\"Hola; \"\"Ana\"\", su pedido\"\n04241234568,Hola Luis\n", ',', excel},
		{"comma, ';' unquoted in the first text", "04141234567,Hola; Ana; su pedido;;\n04241234568,Hola Luis\n", ',', "Hola; Ana; su pedido;;"},
		{"tab, commas in the first text", "04141234567\tHola, Ana, su pedido, ya\n04241234568\tHola Luis\n", '\t', "Hola, Ana, su pedido, ya"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := g.LoadCSV(ctx, Batch{Client: "acme", CSV: strings.NewReader(c.csv)})
			require.NoError(t, err)
			assert.Equal(t, c.delim, rep.Delimiter)
			assert.Equal(t, 2, rep.Inserted, "%+v", rep)
			assert.Zero(t, rep.Rejected, "%+v", rep.Errors)
			tr, err := st.LastTransmissionTo(ctx, "584141234567")
			require.NoError(t, err)
			assert.Equal(t, c.text, tr.Text)
		})
	}
}

// LoadCSV reads untrusted files: whatever the bytes, it neither panics
// nor fails (but for the row limit), and accounts for every row.
func FuzzLoadCSV(f *testing.F) {
	for _, seed := range []string{
		"numero,mensaje\n04141234567,hola\n",
		"\"04141234567,Hola\n",
		"\ufeffa;b\r\n\"x\"\"y\";z\n",
		"04141234567\t\"hola\"\"\n\"\n",
		"number,text,source,external_id\n04141234567,hola,ACME,1\n04141234567,hola,ACME,1\n",
		"\n\n,,,\n\"",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	if err := st.CreateOperator(ctx, &store.Operator{Name: "op", Host: "127.0.0.1", Port: 1, Default: true, Enabled: true}); err != nil {
		f.Fatal(err)
	}
	g, err := New(Config{Store: st, Numbering: Numbering{CountryCode: "58", NationalPrefix: "0"}, MaxBatchRows: 1000})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data string) {
		rep, err := g.LoadCSV(ctx, Batch{Client: "fuzz", Name: "f", CSV: strings.NewReader(data)})
		if err != nil {
			if errors.Is(err, ErrBatchTooLarge) && strings.Contains(err.Error(), "more than 1000 rows") {
				return
			}
			t.Fatalf("LoadCSV(%q): %v", data, err)
		}
		if rep.Rows != rep.Inserted+rep.Duplicates+rep.Rejected {
			t.Fatalf("LoadCSV(%q): %+v: rows not accounted for", data, rep)
		}
	})
}
