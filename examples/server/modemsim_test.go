package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// The server with a simulated modem beside the SMSC simulator: a client's
// file goes out through both (the modem's prefix through the modem, the
// rest through the SMSC), every message ends delivered by its status
// report or receipt, and the link to the modem's pty goes away with the
// server.
func TestServerWithSimulatedModem(t *testing.T) {
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	require.NoError(t, os.MkdirAll(filepath.Join(drop, "acme"), 0o750))
	link := filepath.Join(dir, "modem0")
	var logs syncBuffer
	_, stop := startServer(t, []string{"-data", filepath.Join(dir, "data"), "-smsc-sim", "127.0.0.1:0",
		"-smsc-sim-receipt-delay", "10ms", "-chat-addr", "", "-sms-dropdir", drop,
		"-modem-sim", link, "-modem-sim-prefixes", "58414", "-modem-sim-delay", "5ms", "-modem-sim-receipt-delay", "10ms"}, &logs)
	waitFor(t, &logs, "state=bound")
	waitFor(t, &logs, "modem ready")
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&os.ModeSymlink)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "f.tmp"),
		[]byte("numero,mensaje\n04141234567,Hola Ana\n04241234568,Hola Luis\n04141234569,¿Vienes mañana? ✅\n"), 0o640))
	require.NoError(t, os.Rename(filepath.Join(dir, "f.tmp"), filepath.Join(drop, "acme", "f.csv")))
	var res []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := filepath.Glob(filepath.Join(drop, "acme", "done", "*.results.csv"))
		if len(got) > 0 {
			res, err = os.ReadFile(got[0])
			require.NoError(t, err)
			break
		}
		require.True(t, time.Now().Before(deadline), "no results:\n%s", logs.String())
		time.Sleep(50 * time.Millisecond)
	}
	for _, n := range []string{"584141234567", "584241234568", "584141234569"} {
		assert.Contains(t, string(res), n+",,delivered,")
	}
	stop()
	_, err = os.Lstat(link)
	assert.True(t, os.IsNotExist(err), "the link removed")

	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "data", "switchboard.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	ops, err := st.Operators(context.Background())
	require.NoError(t, err)
	byName := map[string]store.Operator{}
	for _, op := range ops {
		byName[op.Name] = op
	}
	m := byName[modemSimOperator(link)]
	require.Equal(t, store.KindModem, m.Kind, "%v", ops)
	counts, err := st.OperatorCounts(context.Background(), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	byOp := map[int64]map[store.TransmissionState]int{}
	for _, c := range counts {
		byOp[c.OperatorID] = c.ByState
	}
	assert.Equal(t, 2, byOp[m.ID][store.TxDelivered], "the two 58414 numbers went by the modem")
}

// server operator -kind modem: saved with its device, listed with it, and
// refused without one or with an SMPP-only parameter.
func TestModemOperatorCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"operator", "-data", dir, "-name", "stick", "-kind", "modem", "-device", "/dev/ttyUSB0",
		"-pin", "1234", "-prefixes", "58414", "-tps", "1", "-param", "submit_sm.validity_period=24h"}, &out, &errOut), errOut.String())
	assert.Error(t, run(ctx, []string{"operator", "-data", dir, "-name", "x", "-kind", "modem"}, &out, &errOut))
	assert.Error(t, run(ctx, []string{"operator", "-data", dir, "-name", "y", "-kind", "modem", "-device", "/dev/ttyUSB1",
		"-param", "bind.system_type=x"}, &out, &errOut))
	assert.Error(t, run(ctx, []string{"operator", "-data", dir, "-name", "z", "-kind", "fax"}, &out, &errOut))
	out.Reset()
	require.NoError(t, run(ctx, []string{"operators", "-data", dir}, &out, &errOut))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	assert.Regexp(t, `stick\s+/dev/ttyUSB0\s+modem\s+true`, lines[1])
}
