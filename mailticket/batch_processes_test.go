package mailticket

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// hookStore runs hook once, inside a batch transaction, at the first
// UpsertCustomer of the batch (that is: while the first mail of the chunk
// is being processed, after the chunk's lookups by list were made). It
// stands for "another process commits while this batch runs".
type hookStore struct {
	store.Store
	once sync.Once
	hook func()
}

func (h *hookStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return h.Store.InTx(ctx, func(tx store.Ops) error { return fn(hookOps{Ops: tx, h: h}) })
}

type hookOps struct {
	store.Ops
	h *hookStore
}

func (o hookOps) UpsertCustomer(ctx context.Context, c store.Customer) (store.Customer, error) {
	if o.h.hook != nil {
		o.h.once.Do(o.h.hook)
	}
	return o.Ops.UpsertCustomer(ctx, c)
}

func batchTestProcessor(st store.TicketStore) *Processor {
	return &Processor{Store: st, Domain: "support.example.net", Secret: []byte("0123456789abcdef0123456789abcdef"),
		Addresses: []string{"support@example.net"}, RateLimit: RateLimit{PerHour: -1, PerDay: -1}}
}

// TestBatchSeesOtherProcessPostgres: process B commits mail X while
// process A's batch is at its first mail. A's later mails in that batch
// refer to X (the same Message-ID with another body from the same sender;
// a reply by In-Reply-To). PostgreSQL's InTx is READ COMMITTED, so when A
// reaches them X is visible: one at a time they are follow-ups of X's
// ticket ("no second ticket, no second reply").
func TestBatchSeesOtherProcessPostgres(t *testing.T) {
	x := simple("ana@cliente.example", "Falla", "x@cliente.example")
	cases := []struct {
		name string
		mail string
		want Outcome
	}{
		{"same Message-ID, another body", mailText("Otra versión del mismo correo.\n", "From: ana@cliente.example",
			"To: support@example.net", "Subject: Falla", "Date: Sun, 22 Nov 2026 08:00:00 +0000",
			"Message-ID: <x@cliente.example>"), FollowUp},
		{"reply by In-Reply-To", simple("ana@cliente.example", "Re: Falla", "x2@cliente.example",
			"In-Reply-To: <x@cliente.example>"), FollowUp},
		{"reply by References", simple("ana@cliente.example", "Re: Falla", "x3@cliente.example",
			"References: <x@cliente.example>"), FollowUp},
		{"the same mail", x, Duplicate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := pg.Schema(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			stA, err := postgres.Open(ctx, url, nil)
			require.NoError(t, err)
			defer stA.Close()
			stB, err := postgres.Open(ctx, url, nil)
			require.NoError(t, err)
			defer stB.Close()
			pB := batchTestProcessor(stB)
			var resX Result
			var errX error
			hs := &hookStore{Store: stA, hook: func() {
				resX, errX = pB.Process(ctx, Delivery{SourceKey: "B/x", Raw: []byte(x)})
			}}
			pA := batchTestProcessor(hs)
			rs, err := pA.ProcessBatch(ctx, []Delivery{
				{SourceKey: "A/z", Raw: []byte(simple("zoe@otro.example", "Otra cosa", "z@otro.example"))},
				{SourceKey: "A/1", Raw: []byte(c.mail)},
			})
			require.NoError(t, err)
			require.NoError(t, errX)
			require.Equal(t, Created, resX.Outcome, "process B, mail X")
			assert.Equal(t, Created, rs[0].Outcome)
			assert.Equal(t, c.want, rs[1].Outcome, "process A, mail 2: %s (reply queued: %q)", rs[1].Reason, rs[1].AutoResponse)
			assert.Equal(t, resX.Ticket.ID, rs[1].Ticket.ID, "ticket of mail 2")
			ts, err := stA.Tickets(ctx, store.TicketFilter{Limit: 100})
			require.NoError(t, err)
			assert.Len(t, ts, 2, "tickets (X's and z's)")
		})
	}
}

// threadedMailbox is a mailbox with threads, the same mail under two keys
// (two mailboxes), the same Message-ID with another body, and mails
// without Message-ID. distinct counts the mails that must become one
// article each (content keys).
func threadedMailbox(n int) (ds []Delivery, distinct int) {
	for i := 0; i < n; i++ {
		from := fmt.Sprintf("c%d@cliente.example", i%9)
		var raw string
		switch {
		case i%5 == 1 && i > 5: // a reply to an earlier mail of the same sender
			raw = simple(from, fmt.Sprintf("Re: caso %d", i-9), fmt.Sprintf("m%d@x.example", i),
				fmt.Sprintf("In-Reply-To: <m%d@x.example>", i-9), fmt.Sprintf("References: <m%d@x.example>", i-9))
		case i%7 == 3: // no Message-ID
			raw = mailText(fmt.Sprintf("sin id %d\n", i), "From: "+from, "To: support@example.net",
				fmt.Sprintf("Subject: sin id %d", i), "Date: Sun, 22 Nov 2026 08:00:00 +0000")
		case i%11 == 4 && i > 11: // an earlier Message-ID, another body, same sender
			raw = mailText(fmt.Sprintf("editado %d\n", i), "From: "+fmt.Sprintf("c%d@cliente.example", (i-9)%9),
				"To: support@example.net", "Subject: editado", "Date: Sun, 22 Nov 2026 08:00:00 +0000",
				fmt.Sprintf("Message-ID: <m%d@x.example>", i-9))
		default:
			raw = simple(from, fmt.Sprintf("caso %d", i), fmt.Sprintf("m%d@x.example", i))
		}
		ds = append(ds, Delivery{SourceKey: fmt.Sprintf("imap:shared/%d", i), Raw: []byte(raw)})
		distinct++
		if i%6 == 0 { // the same mail in a second mailbox
			ds = append(ds, Delivery{SourceKey: fmt.Sprintf("maildir:other/%d", i), Raw: []byte(raw)})
		}
	}
	return ds, distinct
}

// runConcurrentMailbox: several processes (own store handles) take the
// whole mailbox at once, each in its own order and batch sizes. Every
// distinct mail becomes exactly one inbound article; every source key one
// receipt.
func runConcurrentMailbox(t *testing.T, open func() store.Store, procs int, seed uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ds, distinct := threadedMailbox(120)
	var wg sync.WaitGroup
	errs := make([]error, procs)
	nonDup := make([]int, procs)
	for w := 0; w < procs; w++ {
		st := open()
		defer st.Close()
		p := batchTestProcessor(st)
		r := rand.New(rand.NewPCG(seed, uint64(w)))
		order := append([]Delivery(nil), ds...)
		if w > 0 {
			// Shuffle within windows so replies mostly come after their mail.
			for i := 0; i < len(order); i += 15 {
				win := order[i:min(i+15, len(order))]
				r.Shuffle(len(win), func(a, b int) { win[a], win[b] = win[b], win[a] })
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < len(order); {
				n := min(1+r.IntN(40), len(order)-i)
				rs, err := p.ProcessBatch(ctx, order[i:i+n])
				if err != nil {
					errs[w] = fmt.Errorf("process %d: %w", w, err)
					return
				}
				for _, res := range rs {
					if res.Outcome != Duplicate {
						nonDup[w]++
					}
				}
				i += n
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	st := open()
	defer st.Close()
	ts, err := st.Tickets(ctx, store.TicketFilter{Limit: 1000})
	require.NoError(t, err)
	inbound := 0
	for _, tk := range ts {
		arts, err := st.Articles(ctx, tk.ID)
		require.NoError(t, err)
		for _, a := range arts {
			if a.Direction == store.Inbound {
				inbound++
			}
		}
	}
	assert.Equal(t, distinct, inbound, "inbound articles")
	total := 0
	for _, n := range nonDup {
		total += n
	}
	assert.Equal(t, distinct, total, "mails not reported duplicate, all processes")
}

func TestConcurrentMailboxSQLite(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "mail.db")
			runConcurrentMailbox(t, func() store.Store {
				st, err := sqlite.Open(context.Background(), p, nil)
				require.NoError(t, err)
				return st
			}, 3, seed)
		})
	}
}

func TestConcurrentMailboxPostgres(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			url := pg.Schema(t)
			runConcurrentMailbox(t, func() store.Store {
				st, err := postgres.Open(context.Background(), url, nil)
				require.NoError(t, err)
				return st
			}, 3, seed)
		})
	}
}
