package mailticket

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// faultyStore fails one store call: before it reaches the database, or
// after it committed (the caller sees an error, as when the process dies
// right after the commit).
type faultyStore struct {
	store.TicketStore
	mu     sync.Mutex
	method string
	after  bool
	nth    int // fail the nth call (1-based)
	calls  int
	fired  bool
}

func (f *faultyStore) trip(method string) (fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fired || method != f.method {
		return false
	}
	f.calls++
	if f.calls == f.nth {
		f.fired = true
		return true
	}
	return false
}

// inject runs call as the store call method, failing it when f says so:
// before call (nothing stored) or after it (stored, but the caller sees an
// error).
func inject[T any](f *faultyStore, method string, call func() (T, error)) (T, error) {
	var zero T
	fail := f.trip(method)
	if fail && !f.after {
		return zero, errInjected
	}
	r, err := call()
	if fail {
		return zero, errInjected
	}
	return r, err
}

func (f *faultyStore) IngestMail(ctx context.Context, in store.MailIngest) (store.IngestResult, error) {
	return inject(f, "IngestMail", func() (store.IngestResult, error) { return f.TicketStore.IngestMail(ctx, in) })
}

func (f *faultyStore) MailReceipt(ctx context.Context, s, c string) (store.MailReceipt, error) {
	if f.trip("MailReceipt") {
		return store.MailReceipt{}, errInjected
	}
	return f.TicketStore.MailReceipt(ctx, s, c)
}

func (f *faultyStore) KnownMailKeys(ctx context.Context, keys []string) ([]string, error) {
	return inject(f, "KnownMailKeys", func() ([]string, error) { return f.TicketStore.KnownMailKeys(ctx, keys) })
}

func (f *faultyStore) KnownMessageIDs(ctx context.Context, ids []string) ([]string, error) {
	return inject(f, "KnownMessageIDs", func() ([]string, error) { return f.TicketStore.KnownMessageIDs(ctx, ids) })
}

func (f *faultyStore) UpsertCustomer(ctx context.Context, c store.Customer) (store.Customer, error) {
	return inject(f, "UpsertCustomer", func() (store.Customer, error) { return f.TicketStore.UpsertCustomer(ctx, c) })
}

func (f *faultyStore) NextTicketNumber(ctx context.Context, day time.Time) (string, error) {
	return inject(f, "NextTicketNumber", func() (string, error) { return f.TicketStore.NextTicketNumber(ctx, day) })
}

func (f *faultyStore) MarkAutoResponse(ctx context.Context, id int64, s store.AutoResponseState, text string) error {
	_, err := inject(f, "MarkAutoResponse", func() (struct{}, error) {
		return struct{}{}, f.TicketStore.MarkAutoResponse(ctx, id, s, text)
	})
	return err
}

// faultySource fails after the nth mail was handled (committed) and before
// its mailbox action.
type faultySource struct {
	Source
	nth int
	n   int
}

func (f *faultySource) Fetch(ctx context.Context, handle Handler) error {
	return f.Source.Fetch(ctx, func(ctx context.Context, ds []Delivery) ([]Result, error) {
		rs, err := handle(ctx, ds)
		if err != nil {
			return nil, err
		}
		f.n++
		if f.n == f.nth {
			return nil, errInjected
		}
		return rs, nil
	})
}

// faultyTxStore is faultyStore for a store with transactions: the calls
// made inside InTx go through the same faults, and InTx itself can fail
// before its work or after its commit.
type faultyTxStore struct {
	*faultyStore
	base store.Store
}

func (f *faultyTxStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	_, err := inject(f.faultyStore, "InTx", func() (struct{}, error) {
		return struct{}{}, f.base.InTx(ctx, func(tx store.Ops) error {
			return fn(txOps{Ops: tx, ts: &faultyStore{TicketStore: tx, method: f.method, after: f.after, nth: f.nth,
				calls: f.calls, fired: f.fired}, parent: f.faultyStore})
		})
	})
	return err
}

// txOps routes the ticket calls of a transaction through a faultyStore
// whose count continues the parent's.
type txOps struct {
	store.Ops
	ts     *faultyStore
	parent *faultyStore
}

func (t txOps) sync(fn func()) {
	t.parent.mu.Lock()
	t.ts.calls, t.ts.fired = t.parent.calls, t.parent.fired
	t.parent.mu.Unlock()
	fn()
	t.parent.mu.Lock()
	t.parent.calls, t.parent.fired = t.ts.calls, t.ts.fired
	t.parent.mu.Unlock()
}

// Exclusive passes the transaction's store.ExclusiveTx on.
func (t txOps) Exclusive() bool {
	x, ok := t.Ops.(store.ExclusiveTx)
	return ok && x.Exclusive()
}

func (t txOps) IngestMail(ctx context.Context, in store.MailIngest) (r store.IngestResult, err error) {
	t.sync(func() { r, err = t.ts.IngestMail(ctx, in) })
	return
}

func (t txOps) MailReceipt(ctx context.Context, s, c string) (r store.MailReceipt, err error) {
	t.sync(func() { r, err = t.ts.MailReceipt(ctx, s, c) })
	return
}

func (t txOps) KnownMailKeys(ctx context.Context, keys []string) (r []string, err error) {
	t.sync(func() { r, err = t.ts.KnownMailKeys(ctx, keys) })
	return
}

func (t txOps) KnownMessageIDs(ctx context.Context, ids []string) (r []string, err error) {
	t.sync(func() { r, err = t.ts.KnownMessageIDs(ctx, ids) })
	return
}

func (t txOps) UpsertCustomer(ctx context.Context, c store.Customer) (r store.Customer, err error) {
	t.sync(func() { r, err = t.ts.UpsertCustomer(ctx, c) })
	return
}

func (t txOps) NextTicketNumber(ctx context.Context, day time.Time) (n string, err error) {
	t.sync(func() { n, err = t.ts.NextTicketNumber(ctx, day) })
	return
}

// faultySender fails one send, before or after handing the mail over.
type faultySender struct {
	Sender
	nth, n int
	after  bool
}

func (f *faultySender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	f.n++
	if f.n == f.nth && !f.after {
		return errInjected
	}
	err := f.Sender.Send(ctx, from, to, msg)
	if f.n == f.nth {
		return errInjected
	}
	return err
}

// fault is one failure injected into the pipeline.
type fault struct {
	name      string
	store     *faultyStore
	sourceNth int
	sender    *faultySender
	tx        bool // the batch path (one transaction per batch)
	dupReply  bool
}

// faults makes every fault afresh (they keep state).
func faults() []fault {
	var fs []fault
	for _, m := range []string{"MailReceipt", "KnownMailKeys", "KnownMessageIDs", "UpsertCustomer", "NextTicketNumber", "IngestMail",
		"MarkAutoResponse", "InTx"} {
		// The batch path asks about receipts and Message-IDs by list;
		// one by one, by mail.
		byList := m == "KnownMailKeys" || m == "KnownMessageIDs"
		for _, after := range []bool{false, true} {
			for _, tx := range []bool{false, true} {
				if m == "MailReceipt" && (after || tx) || byList && (after || !tx) || m == "InTx" && !tx {
					continue
				}
				nth := 2 // the second call: one mail (or reply) in
				if m == "InTx" || byList {
					nth = 1 // the five mails are one batch, maybe one list
				}
				fs = append(fs, fault{name: fmt.Sprintf("%s after=%v tx=%v", m, after, tx),
					store: &faultyStore{method: m, after: after, nth: nth}, tx: tx, dupReply: m == "MarkAutoResponse" && !after})
			}
		}
	}
	return append(fs,
		fault{name: "before mailbox action", sourceNth: 1},
		fault{name: "send refused", sender: &faultySender{nth: 2}},
		fault{name: "sent, not acknowledged", sender: &faultySender{nth: 2, after: true}, dupReply: true},
	)
}

var faultMails = []string{
	simple("a@uno.example", "uno", "eo1@x.example"),
	simple("b@dos.example", "dos", "eo2@x.example"),
	simple("c@tres.example", "tres", "eo3@x.example"),
	simple("a@uno.example", "Re: uno", "eo4@x.example", "In-Reply-To: <eo1@x.example>"),
	simple("d@cuatro.example", "cuatro", "eo5@x.example"),
}

// TestExactlyOnceUnderFaults fails the pipeline at every step of the
// second mail (and of the second reply), restarts it with a fresh
// Processor, and checks that every mail became exactly one article, every
// mail left new/, and every reply was sent (exactly once, except when the
// failure came after the mail server took the reply: SMTP has no
// exactly-once, and that reply goes out twice, with the same Message-ID).
func TestExactlyOnceUnderFaults(t *testing.T) {
	for _, f := range faults() {
		runFault(t, "sqlite", f)
	}
}

// TestExactlyOnceUnderFaultsPostgres runs the batch-path faults (and the
// one-by-one IngestMail ones) on PostgreSQL, where a failed statement
// aborts the whole transaction.
func TestExactlyOnceUnderFaultsPostgres(t *testing.T) {
	for _, f := range faults() {
		if f.store != nil && !f.tx && f.store.method != "IngestMail" {
			continue
		}
		if f.store != nil && strings.HasPrefix(f.store.method, "Known") {
			continue // lookups by list only in transactions that keep other writers out (SQLite's)
		}
		runFault(t, "postgres", f)
	}
}

func runFault(t *testing.T, backend string, f fault) {
	t.Helper()
	mails := faultMails
	t.Run(f.name, func(t *testing.T) {
		var e *env
		if backend == "postgres" {
			e = newPGEnv(t)
		} else {
			e = newEnv(t)
		}
		dir := t.TempDir()
		writeMaildir(t, dir)
		for i, m := range mails {
			os.WriteFile(filepath.Join(dir, "new", fmt.Sprintf("%d.eo", i)), []byte(m), 0o644)
		}
		snd := Sender(e.sender())
		var src Source = &Maildir{Dir: dir}
		p := e.p
		if f.store != nil {
			f.store.TicketStore = e.st
			var st store.TicketStore = f.store
			if f.tx {
				st = &faultyTxStore{faultyStore: f.store, base: e.st}
			}
			p = &Processor{Store: st, Domain: e.p.Domain, Secret: e.p.Secret, Addresses: e.p.Addresses, Now: e.clock1}
		}
		p.ClaimLease = 100 * time.Millisecond
		if f.sourceNth != 0 {
			src = &faultySource{Source: src, nth: f.sourceNth}
		}
		if f.sender != nil {
			f.sender.Sender = snd
			snd = f.sender
		}
		first := &Poller{Processor: p, Sources: []Source{src}, Sender: snd}
		_, err := first.RunOnce(e.ctx)
		fired := err != nil
		if f.store != nil {
			fired = f.store.fired
		}
		if !fired {
			t.Fatal("the fault did not fire")
		}
		// Restart: a fresh processor and healthy parts; poll until
		// nothing is left (twice is enough). The dead process's mails and
		// replies are the fresh one's once DuplicateGrace and the claims'
		// lease have passed.
		e.clock.Lock()
		e.now = e.now.Add(DuplicateGrace)
		e.clock.Unlock()
		time.Sleep(150 * time.Millisecond)
		for i := 0; i < 2; i++ {
			fresh := &Processor{Store: e.st, Domain: e.p.Domain, Secret: e.p.Secret, Addresses: e.p.Addresses, Now: e.clock1,
				ClaimLease: 100 * time.Millisecond}
			pl := &Poller{Processor: fresh, Sources: []Source{&Maildir{Dir: dir}}, Sender: e.sender()}
			if _, err := pl.RunOnce(e.ctx); err != nil {
				t.Fatalf("after restart: %v", err)
			}
		}
		left, _ := os.ReadDir(filepath.Join(dir, "new"))
		expect(t, "mails left in new/", len(left), 0)
		tickets := e.tickets()
		expect(t, "tickets", len(tickets), 4)
		inbound := 0
		for _, tk := range tickets {
			for _, a := range e.articles(tk.ID) {
				if a.Direction == store.Inbound {
					inbound++
				}
			}
		}
		expect(t, "inbound articles", inbound, 5)
		for i := range mails {
			key := fmt.Sprintf("eo%d@x.example", i+1)
			if _, err := e.st.TicketByMessageID(e.ctx, key); err != nil {
				t.Fatalf("mail %s: %v", key, err)
			}
		}
		queued, _ := e.st.QueuedAutoResponses(e.ctx, 10)
		expect(t, "replies still queued", len(queued), 0)
		want := 4
		if f.dupReply {
			want = 5
		}
		expect(t, "replies received", len(e.sink.received()), want)
		ids := map[string]int{}
		for _, m := range e.sink.received() {
			ids[headerOf(t, m.Data, "Message-Id")]++
		}
		expect(t, "distinct replies", len(ids), 4)
	})
}
