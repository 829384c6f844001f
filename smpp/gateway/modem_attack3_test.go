package gateway

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/modem/modemtest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// onSQLite runs f on a fresh SQLite store only.
func onSQLite(t *testing.T, f func(t *testing.T, st store.Store)) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gw.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	f(t, st)
}

// tap records the AT commands a driver writes to a connection.
type tap struct {
	net.Conn
	mu   *sync.Mutex
	cmds *[]string
}

func (c tap) Write(p []byte) (int, error) {
	c.mu.Lock()
	for _, l := range strings.Split(string(p), "\r") {
		if strings.HasPrefix(l, "AT") {
			*c.cmds = append(*c.cmds, l)
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

type tapped struct {
	mu   sync.Mutex
	cmds []string
}

func (t *tapped) wrap(c net.Conn) net.Conn { return tap{Conn: c, mu: &t.mu, cmds: &t.cmds} }

func (t *tapped) count(prefix string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.cmds {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// A wrong PIN configured on a modem operator: a real SIM locks (asks for
// its PUK) after three wrong PINs. The gateway must not enter the wrong
// PIN again and again as it reopens the modem.
func TestAttack3WrongPINNotRetried(t *testing.T) {
	onSQLite(t, func(t *testing.T, st store.Store) {
		sim := modemtest.New(&modemtest.Config{PIN: "1234"})
		t.Cleanup(sim.Close)
		var tp tapped
		op := addModemOperator(t, st, "stick", "sim:a", func(o *store.Operator) { o.Modem.PIN = "9999" })
		startGatewayWith(t, st, func(c *Config) {
			c.OpenModem = func(context.Context, store.ModemSettings) (io.ReadWriteCloser, error) { return tp.wrap(sim.Conn()), nil }
		})
		_ = op
		time.Sleep(8 * time.Second) // reopen backoff 1 s, 2 s, 4 s
		n := tp.count(`AT+CPIN="`)
		t.Logf("wrong PIN entered %d times in 8 s", n)
		assert.LessOrEqual(t, n, 1, "the wrong PIN entered again on reopen: a real SIM is PUK-locked after 3")
	})
}
