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

	"github.com/switchboard-go/switchboard/modem/modemtest"
)

// send sms -modem: through a simulated modem on a pty, opened as a
// serial port, with its PIN: a long message in parts and their status
// reports; a batch one at a time; a refused message says why.
func TestSMSThroughAModem(t *testing.T) {
	sim := modemtest.New(&modemtest.Config{PIN: "1234", ReportDelay: 10 * time.Millisecond,
		Outcomes: modemtest.Outcomes{Delivered: 1}})
	defer sim.Close()
	dev, stop, err := sim.ServePTY()
	require.NoError(t, err)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var out, errOut bytes.Buffer
	long := strings.Repeat("Su pedido llegará mañana por la tarde. ", 6)
	require.NoError(t, run(ctx, []string{"sms", "-modem", dev, "-pin", "1234", "-wait", "10s", "04141234567", long}, &out, &errOut),
		errOut.String())
	t.Log(out.String())
	assert.Contains(t, out.String(), "modem "+dev+": home")
	assert.Contains(t, out.String(), "584141234567: submitted in 4 part(s)", "UCS-2 (á), 67 characters a part")
	assert.Equal(t, 4, strings.Count(out.String(), "stat=DELIVRD"))
	subs := sim.Submitted()
	require.Len(t, subs, 4)
	var joined strings.Builder
	for _, s := range subs {
		joined.WriteString(s.Text)
	}
	assert.Equal(t, long, joined.String())

	csv := filepath.Join(t.TempDir(), "b.csv")
	require.NoError(t, os.WriteFile(csv, []byte("numero,mensaje\n04141234568,uno\n04241234569,dos ✅\n"), 0o600))
	out.Reset()
	require.NoError(t, run(ctx, []string{"sms", "-modem", dev, "-pin", "1234", "-wait", "10s", "-batch", csv}, &out, &errOut),
		errOut.String())
	assert.Contains(t, out.String(), "sent 2, failed 0 of 2")
	assert.Contains(t, out.String(), "receipts: DELIVRD=2")

	sim.FailNext(21)
	out.Reset()
	err = run(ctx, []string{"sms", "-modem", dev, "-pin", "1234", "-wait", "0", "04141234567", "rechazado"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "short message transfer rejected")

	err = run(ctx, []string{"sms", "-modem", filepath.Join(t.TempDir(), "nomodem"), "04141234567", "x"}, &out, &errOut)
	require.Error(t, err)
}
