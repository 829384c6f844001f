//go:build !windows

package modem_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/modem/modemtest"
)

// The driver opens a serial device (here the simulator on a pty, as a
// USB modem's /dev/ttyUSB0 would be) and works through it.
func TestSerialPort(t *testing.T) {
	sim := modemtest.New(&modemtest.Config{ReportDelay: 10 * time.Millisecond})
	defer sim.Close()
	path, stop, err := sim.ServePTY()
	require.NoError(t, err)
	defer stop()
	port, err := modem.OpenSerial(path, 115200)
	require.NoError(t, err)
	ev := &events{}
	m := modem.New(port, ev.config(modem.Config{Submit: modem.SubmitOptions{StatusReport: true}}))
	defer m.Close()
	ctx := testCtx(t)
	require.NoError(t, m.Init(ctx))
	_, err = m.Send(ctx, "584141234567", "por el puerto serie", 1)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return ev.nReports() == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"por el puerto serie"}, joined(sim.Submitted()))
	_, err = modem.OpenSerial(path+"-missing", 0)
	assert.Error(t, err)
}
