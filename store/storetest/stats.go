package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

var statsTests = []test{
	{"TicketCounts", testTicketCounts},
	{"ResponseTimes", testResponseTimes},
	{"Backlog", testBacklog},
}

// statsFixture: queue A gets tickets on Mon 2026-03-02 (2, one closed on
// Wed 03-04) and Mon 2026-03-09 (1); queue B one on Sun 2026-03-01, from
// another customer, closed on 2026-04-01.
func statsFixture(t *testing.T, e *env) (qa, qb store.Queue, ana, bob store.Customer) {
	ctx := e.ctx(t)
	qa, qb = newQueue(t, e, "A"), newQueue(t, e, "B")
	var err error
	ana, err = e.UpsertCustomer(ctx, store.Customer{Email: "ana@x"})
	must(t, err)
	bob, err = e.UpsertCustomer(ctx, store.Customer{Email: "bob@y"})
	must(t, err)
	mk := func(q store.Queue, c store.Customer, created string, closed string) {
		tk := store.Ticket{QueueID: q.ID, CustomerID: c.ID, CreatedAt: at(created)}
		must(t, e.CreateTicket(ctx, &tk))
		if closed != "" {
			must(t, e.SetTicketState(ctx, tk.ID, store.TicketClosed, 0, at(closed)))
		}
	}
	mk(qa, ana, "2026-03-02T08:00:00Z", "2026-03-04T08:00:00Z")
	mk(qa, ana, "2026-03-02T23:59:59.999999Z", "")
	mk(qa, bob, "2026-03-09T00:00:00Z", "")
	mk(qb, bob, "2026-03-01T12:00:00Z", "2026-04-01T00:00:00Z")
	return
}

func testTicketCounts(t *testing.T, e *env) {
	ctx := e.ctx(t)
	qa, qb, ana, bob := statsFixture(t, e)
	from, to := at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")
	type row struct {
		start           string
		key             int64
		created, closed int
	}
	check := func(q store.CountQuery, want []row) {
		t.Helper()
		got, err := e.TicketCounts(ctx, q)
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("%s/%s: %d rows %+v, want %d %+v", q.Period, q.GroupBy, len(got), got, len(want), want)
		}
		for i, w := range want {
			g := got[i]
			if !g.Start.Equal(at(w.start)) || g.KeyID != w.key || g.Created != w.created || g.Closed != w.closed {
				t.Fatalf("%s/%s row %d = %+v, want %+v", q.Period, q.GroupBy, i, g, w)
			}
		}
	}
	check(store.CountQuery{From: from, To: to, Period: store.Day, GroupBy: store.ByQueue}, []row{
		{"2026-03-01T00:00:00Z", qb.ID, 1, 0},
		{"2026-03-02T00:00:00Z", qa.ID, 2, 0},
		{"2026-03-04T00:00:00Z", qa.ID, 0, 1},
		{"2026-03-09T00:00:00Z", qa.ID, 1, 0},
		{"2026-04-01T00:00:00Z", qb.ID, 0, 1},
	})
	check(store.CountQuery{From: from, To: to, Period: store.Week, GroupBy: store.ByQueue}, []row{
		{"2026-02-23T00:00:00Z", qb.ID, 1, 0}, // Sunday 03-01 belongs to the week of Monday 02-23
		{"2026-03-02T00:00:00Z", qa.ID, 2, 1},
		{"2026-03-09T00:00:00Z", qa.ID, 1, 0},
		{"2026-03-30T00:00:00Z", qb.ID, 0, 1},
	})
	check(store.CountQuery{From: from, To: to, Period: store.Month, GroupBy: store.ByCustomer}, []row{
		{"2026-03-01T00:00:00Z", ana.ID, 2, 1},
		{"2026-03-01T00:00:00Z", bob.ID, 2, 0},
		{"2026-04-01T00:00:00Z", bob.ID, 0, 1},
	})
	// The range is half-open.
	check(store.CountQuery{From: at("2026-03-02T00:00:00Z"), To: at("2026-03-09T00:00:00Z"), Period: store.Month, GroupBy: store.ByQueue}, []row{
		{"2026-03-01T00:00:00Z", qa.ID, 2, 1},
	})
	got, _ := e.TicketCounts(ctx, store.CountQuery{From: from, To: to, Period: store.Month, GroupBy: store.ByQueue})
	eq(t, "key name", got[0].Key, "A")
	_, err := e.TicketCounts(ctx, store.CountQuery{Period: "year", GroupBy: store.ByQueue})
	wantErr(t, err, store.ErrInvalid)
	_, err = e.TicketCounts(ctx, store.CountQuery{Period: store.Day, GroupBy: "agent"})
	wantErr(t, err, store.ErrInvalid)
}

func testResponseTimes(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "A")
	other := newQueue(t, e, "B")
	agent := store.Agent{Name: "L", Email: "l@x"}
	must(t, e.CreateAgent(ctx, &agent))
	base := at("2026-06-01T00:00:00Z")
	// First responses after 10, 20, 30, 40 minutes; resolution of two
	// tickets after 1h and 3h; one ticket never answered.
	for i, mins := range []int{10, 20, 30, 40, 0} {
		tk := store.Ticket{QueueID: q.ID, CreatedAt: base.Add(time.Duration(i) * time.Hour)}
		must(t, e.CreateTicket(ctx, &tk))
		if mins > 0 {
			a := store.Article{TicketID: tk.ID, Direction: store.Outbound, AgentID: agent.ID,
				CreatedAt: tk.CreatedAt.Add(time.Duration(mins) * time.Minute)}
			must(t, e.AddArticle(ctx, &a, nil))
		}
		if i < 2 {
			must(t, e.SetTicketState(ctx, tk.ID, store.TicketClosed, agent.ID, tk.CreatedAt.Add(time.Duration(1+2*i)*time.Hour)))
		}
	}
	tk := store.Ticket{QueueID: other.ID, CreatedAt: base}
	must(t, e.CreateTicket(ctx, &tk))
	must(t, e.SetTicketState(ctx, tk.ID, store.TicketClosed, 0, base.Add(100*time.Hour)))

	rt, err := e.ResponseTimes(ctx, store.ResponseQuery{From: base, To: base.Add(24 * time.Hour), QueueID: q.ID})
	must(t, err)
	eq(t, "first response count", rt.FirstResponse.Count, 4)
	eq(t, "first response median", rt.FirstResponse.Median, 25*time.Minute)
	eq(t, "first response p90", rt.FirstResponse.P90, 37*time.Minute) // 30 + 0.7*(40-30)
	eq(t, "resolution count", rt.Resolution.Count, 2)
	eq(t, "resolution median", rt.Resolution.Median, 2*time.Hour)
	eq(t, "resolution p90", rt.Resolution.P90, 2*time.Hour+48*time.Minute) // 1h + 0.9*2h

	all, err := e.ResponseTimes(ctx, store.ResponseQuery{From: base, To: base.Add(24 * time.Hour)})
	must(t, err)
	eq(t, "all queues resolution count", all.Resolution.Count, 3)
	none, err := e.ResponseTimes(ctx, store.ResponseQuery{From: base.Add(-48 * time.Hour), To: base})
	must(t, err)
	eq(t, "empty", none, store.ResponseTimes{})
}

func testBacklog(t *testing.T, e *env) {
	ctx := e.ctx(t)
	qa, qb, _, _ := statsFixture(t, e)
	extra := store.Ticket{QueueID: qb.ID, State: store.TicketPending}
	must(t, e.CreateTicket(ctx, &extra))
	open := store.Ticket{QueueID: qa.ID}
	must(t, e.CreateTicket(ctx, &open))
	must(t, e.SetTicketState(ctx, open.ID, store.TicketOpen, 0, time.Time{}))
	rows, err := e.Backlog(ctx)
	must(t, err)
	want := []store.BacklogRow{{QueueID: qa.ID, Queue: "A", New: 2, Open: 1}, {QueueID: qb.ID, Queue: "B", Pending: 1}}
	if len(rows) != len(want) {
		t.Fatalf("backlog = %+v, want %+v", rows, want)
	}
	for i := range want {
		eq(t, "backlog row", rows[i], want[i])
	}
}

var txTests = []test{
	{"CommitAndRollback", testTxCommitRollback},
	{"Panic", testTxPanic},
	{"Closed", testClosed},
}

func testTxCommitRollback(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	boom := errors.New("boom")
	err := e.InTx(ctx, func(tx store.Ops) error {
		tk := store.Ticket{QueueID: q.ID}
		if err := tx.CreateTicket(ctx, &tk); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.Ticket(ctx, tk.ID); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	list, _ := e.Tickets(ctx, store.TicketFilter{})
	eq(t, "tickets after rollback", len(list), 0)

	var id int64
	must(t, e.InTx(ctx, func(tx store.Ops) error {
		tk := store.Ticket{QueueID: q.ID}
		if err := tx.CreateTicket(ctx, &tk); err != nil {
			return err
		}
		id = tk.ID
		return tx.SetTicketState(ctx, tk.ID, store.TicketOpen, 0, time.Time{})
	}))
	got, err := e.Ticket(ctx, id)
	must(t, err)
	eq(t, "committed state", got.State, store.TicketOpen)
}

func testTxPanic(t *testing.T, e *env) {
	ctx := e.ctx(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic not propagated")
			}
		}()
		e.InTx(ctx, func(tx store.Ops) error {
			tx.CreateQueue(ctx, &store.Queue{Name: "ghost"})
			panic("oops")
		})
	}()
	_, err := e.QueueByName(ctx, "ghost")
	wantErr(t, err, store.ErrNotFound)
	// The store is still usable.
	newQueue(t, e, "alive")
}

func testClosed(t *testing.T, e *env) {
	ctx := e.ctx(t)
	s := e.second(t)
	must(t, s.Close())
	must(t, s.Close())
	wantErr(t, s.CreateQueue(ctx, &store.Queue{Name: "x"}), store.ErrClosed)
	_, err := s.Queues(ctx)
	wantErr(t, err, store.ErrClosed)
}
