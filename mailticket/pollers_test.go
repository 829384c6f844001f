package mailticket

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/internal/dovetest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
)

// Two pollers in two processes (own store handles on one PostgreSQL)
// take the same mailbox at once (an IMAP mailbox of a real Dovecot,
// moving what they took to Processed; a Maildir, moving it to cur/), and
// send the replies: every mail is one ticket, acted on once, answered
// once; neither poller fails.
func TestTwoPollersOneMailbox(t *testing.T) {
	const n = 40
	mails := make([]string, n)
	for i := range n {
		mails[i] = simple(fmt.Sprintf("c%d@cliente.example", i), fmt.Sprintf("pedido %d", i), fmt.Sprintf("m%d@cliente.example", i))
	}
	t.Run("imap", func(t *testing.T) {
		dv := dovetest.Start(t, map[string]string{"alice": "secret"})
		createMailbox(t, dv, "Processed")
		for _, m := range mails {
			dv.Deliver(t, "alice", []byte(m))
		}
		twoPollers(t, n, func() Source {
			return &IMAP{Addr: dv.IMAP, Username: "alice", Password: "secret", Action: MoveTo, MoveMailbox: "Processed", BatchSize: 7}
		})
		assert.Equal(t, uint32(0), mailboxCount(t, dv, "INBOX"))
		assert.Equal(t, uint32(n), mailboxCount(t, dv, "Processed"), "each moved once")
	})
	t.Run("maildir", func(t *testing.T) {
		dir := t.TempDir()
		writeMaildir(t, dir, mails...)
		twoPollers(t, n, func() Source { return &Maildir{Dir: dir, Quiet: -1} })
		fresh, _ := os.ReadDir(filepath.Join(dir, "new"))
		seen, _ := os.ReadDir(filepath.Join(dir, "cur"))
		assert.Empty(t, fresh)
		assert.Len(t, seen, n, "each moved once")
	})
}

// twoPollers runs two pollers of two processes on sources made by src at
// once, then checks the tickets and the replies.
func twoPollers(t *testing.T, n int, src func() Source) {
	url := pg.Schema(t)
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), url, nil)
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	e := newEnvOn(t, open())
	snd := e.sender()
	var wg sync.WaitGroup
	sums := make([]Summary, 2)
	for i := range 2 {
		s := src()
		if c, ok := s.(interface{ Close() error }); ok {
			defer c.Close()
		}
		p := &Processor{Store: open(), Domain: e.p.Domain, Secret: e.p.Secret, Addresses: e.p.Addresses}
		pl := &Poller{Processor: p, Sources: []Source{s}, Sender: snd}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			sums[i], err = pl.RunOnce(context.Background())
			assert.NoError(t, err, "poller %d", i)
		}()
	}
	wg.Wait()
	t.Logf("summaries: %+v", sums)
	assert.Len(t, e.tickets(), n, "one ticket a mail")
	assert.Equal(t, n, sums[0].Created+sums[1].Created)
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
}
