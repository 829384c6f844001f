package mailticket

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// Three processes (own store handles) send one outbox at once, each
// through its own SMTP client to one server: every automatic reply goes
// out exactly once.
func runSendByProcesses(t *testing.T, open func() store.Store) {
	const n, procs = 30, 3
	e := newEnvOn(t, open())
	for i := range n {
		e.process(fmt.Sprintf("k%d", i), simple(fmt.Sprintf("c%d@cliente.example", i), "pedido", fmt.Sprintf("s%d@x.example", i)))
	}
	q, err := e.st.QueuedAutoResponses(e.ctx, 100)
	require.NoError(t, err)
	require.Len(t, q, n)
	snd := e.sender()
	var wg sync.WaitGroup
	sent := make([]int, procs)
	for i := range procs {
		st := open()
		defer st.Close()
		p := &Processor{Store: st, Domain: e.p.Domain, Secret: e.p.Secret, Addresses: e.p.Addresses}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			sent[i], err = p.SendQueued(context.Background(), snd, 0)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	t.Logf("sent by each process: %v", sent)
	assert.Equal(t, n, sent[0]+sent[1]+sent[2])
	byRecipient := map[string]int{}
	for _, m := range e.sink.received() {
		for _, to := range m.To {
			byRecipient[to]++
		}
	}
	assert.Len(t, byRecipient, n)
	for to, k := range byRecipient {
		assert.Equal(t, 1, k, "replies to %s", to)
	}
	q, err = e.st.QueuedAutoResponses(e.ctx, 100)
	require.NoError(t, err)
	assert.Empty(t, q)
}

func TestSendQueuedByProcessesSQLite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mail.db")
	runSendByProcesses(t, func() store.Store {
		st, err := sqlite.Open(context.Background(), p, nil)
		require.NoError(t, err)
		return st
	})
}

func TestSendQueuedByProcessesPostgres(t *testing.T) {
	url := pg.Schema(t)
	runSendByProcesses(t, func() store.Store {
		st, err := postgres.Open(context.Background(), url, nil)
		require.NoError(t, err)
		return st
	})
}
