package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// testIngestWithReply stores a mail, its automatic reply and the queued
// auto-response in one transaction, and reopens a closed ticket.
func testIngestWithReply(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	in := mail("maildir/a/1", "r1")
	in.NewTicket = &store.Ticket{Title: "Falla", QueueID: q.ID}
	in.Reply = &store.Article{Direction: store.Outbound, MessageID: "reply1@us", Subject: "Re: Falla"}
	in.AutoResponse = &store.AutoResponse{Recipient: "ana@example.com", Template: "new", MessageID: "reply1@us",
		Raw: []byte("Subject: Re: Falla\r\n\r\nhola\r\n"), State: store.AutoResponseQueued}
	res, err := e.IngestMail(ctx, in)
	must(t, err)
	arts, _ := e.Articles(ctx, res.Ticket.ID)
	eq(t, "articles", len(arts), 2)
	eq(t, "reply direction", arts[1].Direction, store.Outbound)
	got, err := e.TicketByMessageID(ctx, "reply1@us")
	must(t, err)
	eq(t, "ticket by reply id", got.ID, res.Ticket.ID)
	eq(t, "first response untouched by an automatic reply", got.FirstResponseAt.IsZero(), true)
	queued, err := e.QueuedAutoResponses(ctx, 10)
	must(t, err)
	eq(t, "queued", len(queued), 1)
	eq(t, "queued ticket", queued[0].TicketID, res.Ticket.ID)

	// A follow-up to a closed ticket with Reopen opens it again.
	must(t, e.SetTicketState(ctx, res.Ticket.ID, store.TicketClosed, 0, time.Time{}))
	f := mail("maildir/a/2", "r2")
	f.TicketID, f.Reopen = res.Ticket.ID, true
	fr, err := e.IngestMail(ctx, f)
	must(t, err)
	eq(t, "reopened state", fr.Ticket.State, store.TicketOpen)
	evs, _ := e.TicketEvents(ctx, res.Ticket.ID)
	eq(t, "last event", evs[len(evs)-1].Kind, store.EventReopened)

	// A queued reply without a message is refused, and nothing of the
	// mail is stored.
	bad := mail("maildir/a/3", "r3")
	bad.TicketID = res.Ticket.ID
	bad.AutoResponse = &store.AutoResponse{Recipient: "ana@example.com", State: store.AutoResponseQueued}
	_, err = e.IngestMail(ctx, bad)
	wantErr(t, err, store.ErrInvalid)
	_, err = e.MailReceipt(ctx, "maildir/a/3", "")
	wantErr(t, err, store.ErrNotFound)
}

// testIngestTimesAndEvents: an ingested mail moves the ticket's update
// time to its latest article (never back), an automatic reply is no first
// response but an agent's is, and the events come in the order of the
// changes: created, the mail, the reply.
func testIngestTimesAndEvents(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	t0 := at("2026-03-01T10:00:00Z")
	in := mail("maildir/t/1", "t1")
	in.NewTicket = &store.Ticket{Title: "Falla", QueueID: q.ID, CreatedAt: t0}
	in.Article.CreatedAt = t0
	in.Reply = &store.Article{Direction: store.Outbound, MessageID: "t1-reply@us", Subject: "Re: Falla", CreatedAt: t0}
	res, err := e.IngestMail(ctx, in)
	must(t, err)
	eq(t, "updated", res.Ticket.UpdatedAt, t0)
	eq(t, "no first response", res.Ticket.FirstResponseAt.IsZero(), true)
	evs, err := e.TicketEvents(ctx, res.Ticket.ID)
	must(t, err)
	var kinds []store.EventKind
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	eq(t, "events", fmt.Sprint(kinds), fmt.Sprint([]store.EventKind{store.EventCreated, store.EventArticle, store.EventArticle}))

	// A reply written after the mail moves the update time.
	in2 := mail("maildir/t/2", "t2")
	in2.NewTicket = &store.Ticket{Title: "Otra", QueueID: q.ID, CreatedAt: t0}
	in2.Article.CreatedAt = t0
	in2.Reply = &store.Article{Direction: store.Outbound, MessageID: "t2-reply@us", CreatedAt: t0.Add(time.Minute)}
	res2, err := e.IngestMail(ctx, in2)
	must(t, err)
	eq(t, "updated by the later reply", res2.Ticket.UpdatedAt, t0.Add(time.Minute))

	// An agent's reply is the first response.
	in3 := mail("maildir/t/3", "t3")
	in3.NewTicket = &store.Ticket{Title: "Tercera", QueueID: q.ID, CreatedAt: t0}
	in3.Article.CreatedAt = t0
	agent := store.Agent{Name: "Luis", Email: "luis@example.net"}
	must(t, e.CreateAgent(ctx, &agent))
	in3.Reply = &store.Article{Direction: store.Outbound, AgentID: agent.ID, MessageID: "t3-reply@us", CreatedAt: t0}
	res3, err := e.IngestMail(ctx, in3)
	must(t, err)
	eq(t, "first response", res3.Ticket.FirstResponseAt, t0)

	// A follow-up, older than the ticket's last change, leaves it; a
	// newer one moves it.
	old := mail("maildir/t/4", "t4")
	old.TicketID, old.Article.CreatedAt = res2.Ticket.ID, t0.Add(-time.Hour)
	fo, err := e.IngestMail(ctx, old)
	must(t, err)
	eq(t, "not moved back", fo.Ticket.UpdatedAt, t0.Add(time.Minute))
	later := mail("maildir/t/5", "t5")
	later.TicketID, later.Article.CreatedAt = res2.Ticket.ID, t0.Add(time.Hour)
	fl, err := e.IngestMail(ctx, later)
	must(t, err)
	eq(t, "moved", fl.Ticket.UpdatedAt, t0.Add(time.Hour))
}

func testAutoResponseOutbox(t *testing.T, e *env) {
	ctx := e.ctx(t)
	raw := []byte("Subject: hi\r\n\r\nbody\r\n")
	var ids []int64
	for i := 0; i < 3; i++ {
		r := store.AutoResponse{TicketID: 1, Recipient: "ana@example.com", Template: "new", MessageID: "m@us",
			Sender: "", Raw: raw, State: store.AutoResponseQueued}
		must(t, e.RecordAutoResponse(ctx, &r))
		ids = append(ids, r.ID)
	}
	q, err := e.QueuedAutoResponses(ctx, 2)
	must(t, err)
	eq(t, "limit", len(q), 2)
	eq(t, "oldest first", q[0].ID, ids[0])
	eq(t, "raw kept", bytes.Equal(q[0].Raw, raw), true)
	eq(t, "message id", q[0].MessageID, "m@us")

	must(t, e.MarkAutoResponse(ctx, ids[0], store.AutoResponseSent, ""))
	must(t, e.MarkAutoResponse(ctx, ids[1], store.AutoResponseQueued, "451 try later"))
	must(t, e.MarkAutoResponse(ctx, ids[2], store.AutoResponseFailed, "550 no such user"))
	q, _ = e.QueuedAutoResponses(ctx, 10)
	eq(t, "still queued", len(q), 1)
	eq(t, "retried one", q[0].ID, ids[1])
	eq(t, "attempts", q[0].Attempts, 1)
	eq(t, "error", q[0].Error, "451 try later")
	// Every row counts for loop protection, whatever its state.
	n, _ := e.CountAutoResponses(ctx, "ana@example.com", time.Now().Add(-time.Hour))
	eq(t, "counted", n, 3)
	wantErr(t, e.MarkAutoResponse(ctx, ids[0]+1000, store.AutoResponseSent, ""), store.ErrNotFound)
	wantErr(t, e.MarkAutoResponse(ctx, ids[0], "bogus", ""), store.ErrInvalid)
}

// Two senders on two handles claiming at once get disjoint replies; a
// claimed reply is nobody else's until its lease ends or it is marked; a
// reply queued again after a failure is claimable again.
func testAutoResponseClaims(t *testing.T, e *env) {
	ctx := e.ctx(t)
	other := e.second(t)
	const n = 40
	for i := 0; i < n; i++ {
		r := store.AutoResponse{TicketID: 1, Recipient: fmt.Sprintf("c%d@example.com", i), Template: "new", MessageID: "m@us",
			Raw: []byte("Subject: hi\r\n\r\nbody\r\n"), State: store.AutoResponseQueued}
		must(t, e.RecordAutoResponse(ctx, &r))
	}
	seen := map[int64]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := store.Store(e.Store)
			if w%2 == 1 {
				st = other
			}
			for k := 0; ; k++ { // a sender a claim: one gets its own claims again
				rs, err := st.ClaimAutoResponses(ctx, fmt.Sprint("sender", w, "-", k), 3, time.Minute)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(rs) == 0 {
					return
				}
				mu.Lock()
				for _, r := range rs {
					seen[r.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	eq(t, "every reply claimed", len(seen), n)
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("reply %d claimed %d times", id, k)
		}
	}
	var first int64
	for id := range seen {
		if first == 0 || id < first {
			first = id
		}
	}
	must(t, e.MarkAutoResponse(ctx, first, store.AutoResponseQueued, "451 later"))
	rs, err := other.ClaimAutoResponses(ctx, "a", 10, 50*time.Millisecond)
	must(t, err)
	eq(t, "the one queued again", len(rs), 1)
	eq(t, "its id", rs[0].ID, first)
	rs, err = e.ClaimAutoResponses(ctx, "b", 10, time.Minute)
	must(t, err)
	eq(t, "claimed by another meanwhile", len(rs), 0)
	rs, err = e.ClaimAutoResponses(ctx, "a", 10, 50*time.Millisecond)
	must(t, err)
	eq(t, "its own claim, again", len(rs), 1)
	time.Sleep(100 * time.Millisecond)
	rs, err = e.ClaimAutoResponses(ctx, "b", 10, time.Minute)
	must(t, err)
	eq(t, "taken over after the lease", len(rs), 1)
	_, err = e.ClaimAutoResponses(ctx, "b", 10, 0)
	wantErr(t, err, store.ErrInvalid)
}

func testQuarantine(t *testing.T, e *env) {
	ctx := e.ctx(t)
	m := store.QuarantinedMail{SourceKey: "pop3/a/uidl1", Reason: "mail too large", Raw: []byte("X: y\r\n\r\n")}
	must(t, e.QuarantineMail(ctx, &m))
	if m.ID == 0 || m.Size != 8 {
		t.Fatalf("quarantined: %+v", m)
	}
	wantErr(t, e.QuarantineMail(ctx, &store.QuarantinedMail{SourceKey: "pop3/a/uidl1", Reason: "again"}), store.ErrDuplicate)
	m2 := store.QuarantinedMail{Reason: "empty"}
	must(t, e.QuarantineMail(ctx, &m2))
	wantErr(t, e.QuarantineMail(ctx, &store.QuarantinedMail{SourceKey: "x"}), store.ErrInvalid)
	list, err := e.QuarantinedMails(ctx, 0, 10)
	must(t, err)
	eq(t, "kept", len(list), 2)
	eq(t, "no raw in lists", list[0].Raw == nil, true)
	eq(t, "reason", list[0].Reason, "mail too large")
	got, err := e.QuarantinedMailData(ctx, m.ID)
	must(t, err)
	eq(t, "raw", string(got.Raw), "X: y\r\n\r\n")
	_, err = e.QuarantinedMailData(ctx, m.ID+100)
	wantErr(t, err, store.ErrNotFound)
}

func testPendingReminders(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	now := time.Now()
	var ids []int64
	for i := 0; i < 3; i++ {
		tk := store.Ticket{Title: "t", QueueID: q.ID}
		must(t, e.CreateTicket(ctx, &tk))
		ids = append(ids, tk.ID)
	}
	must(t, e.SetTicketPending(ctx, ids[0], now.Add(-time.Minute), 0, now))
	must(t, e.SetTicketPending(ctx, ids[1], now.Add(time.Hour), 0, now))
	must(t, e.SetTicketPending(ctx, ids[2], now.Add(-2*time.Minute), 0, now))
	due, err := e.DueReminders(ctx, now, 10)
	must(t, err)
	eq(t, "due", len(due), 2)
	eq(t, "earliest first", due[0].ID, ids[2])
	eq(t, "reminder kept", due[0].PendingUntil.IsZero(), false)
	// Leaving pending clears the reminder.
	must(t, e.SetTicketState(ctx, ids[2], store.TicketOpen, 0, now))
	tk, _ := e.Ticket(ctx, ids[2])
	eq(t, "reminder cleared", tk.PendingUntil.IsZero(), true)
	due, _ = e.DueReminders(ctx, now.Add(2*time.Hour), 10)
	eq(t, "due later", len(due), 2)
	wantErr(t, e.SetTicketPending(ctx, ids[0]+100, now, 0, now), store.ErrNotFound)
}

func testMergeTicket(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	a := mail("k/1", "merge-a")
	a.NewTicket = &store.Ticket{Title: "a", QueueID: q.ID}
	ra, err := e.IngestMail(ctx, a)
	must(t, err)
	b := mail("k/2", "merge-b")
	b.NewTicket = &store.Ticket{Title: "b", QueueID: q.ID}
	rb, err := e.IngestMail(ctx, b)
	must(t, err)
	must(t, e.MergeTicket(ctx, rb.Ticket.ID, ra.Ticket.ID, 0, time.Time{}))
	arts, _ := e.Articles(ctx, ra.Ticket.ID)
	eq(t, "articles moved", len(arts), 2)
	gone, _ := e.Ticket(ctx, rb.Ticket.ID)
	eq(t, "merged state", gone.State, store.TicketClosed)
	eq(t, "merged into", gone.MergedIntoID, ra.Ticket.ID)
	byID, err := e.TicketByMessageID(ctx, "merge-b@mail")
	must(t, err)
	eq(t, "threads into the kept ticket", byID.ID, ra.Ticket.ID)
	r, _ := e.MailReceipt(ctx, "k/2", "")
	eq(t, "receipt follows", r.TicketID, ra.Ticket.ID)
	evs, _ := e.TicketEvents(ctx, ra.Ticket.ID)
	eq(t, "merged event", evs[len(evs)-1].Kind, store.EventMerged)
	wantErr(t, e.MergeTicket(ctx, ra.Ticket.ID, ra.Ticket.ID, 0, time.Time{}), store.ErrInvalid)
	wantErr(t, e.MergeTicket(ctx, rb.Ticket.ID, ra.Ticket.ID, 0, time.Time{}), store.ErrInvalid)
	wantErr(t, e.MergeTicket(ctx, ra.Ticket.ID, ra.Ticket.ID+100, 0, time.Time{}), store.ErrNotFound)
}

// testIngestMailNewTicketAsSteps: a mail that opens a ticket leaves what
// CreateTicket followed by an ingest into that ticket leaves (a store may
// take a shorter way for it): the ticket's fields and times, articles,
// attachments, events in order, the auto-response and the receipt. The
// result's ticket is the one stored.
func testIngestMailNewTicketAsSteps(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	agent := store.Agent{Name: "Luis", Email: "luis@example.net"}
	must(t, e.CreateAgent(ctx, &agent))
	cust, err := e.UpsertCustomer(ctx, store.Customer{Email: "ana@example.com", Name: "Ana"})
	must(t, err)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600)) // not UTC, below the microsecond
	cases := []struct {
		name string
		make func(in *store.MailIngest)
	}{
		{"mail alone", func(in *store.MailIngest) {}},
		{"mail older than its ticket", func(in *store.MailIngest) { in.Article.CreatedAt = t0.Add(-time.Hour) }},
		{"automatic reply", func(in *store.MailIngest) {
			in.Reply = &store.Article{Direction: store.Outbound, MessageID: "reply@us", Subject: "Re: Falla", CreatedAt: t0.Add(2 * time.Second)}
			in.AutoResponse = &store.AutoResponse{Recipient: " Ana@Example.com", Template: "new", MessageID: "reply@us",
				SentAt: t0.Add(2 * time.Second), Raw: []byte("Subject: Re\r\n\r\nhola\r\n"), State: store.AutoResponseQueued}
		}},
		{"agent's reply before the mail", func(in *store.MailIngest) {
			in.Reply = &store.Article{Direction: store.Outbound, AgentID: agent.ID, MessageID: "agent@us", CreatedAt: t0.Add(-time.Minute),
				References: []string{"a@x", "b@x"}}
		}},
		{"ticket fully set", func(in *store.MailIngest) {
			tk := in.NewTicket
			tk.State, tk.Priority, tk.OwnerID, tk.CustomerID = store.TicketPending, 5, agent.ID, cust.ID
			tk.PendingUntil = t0.Add(48*time.Hour + 987)
			tk.FirstResponseAt = t0.Add(time.Second)
			in.Reply = &store.Article{Direction: store.Outbound, AgentID: agent.ID, MessageID: "agent2@us", CreatedAt: t0.Add(time.Hour)}
		}},
		{"no attachments, zero times", func(in *store.MailIngest) {
			in.Attachments = nil
			in.NewTicket.CreatedAt = time.Time{}
			in.Article.CreatedAt = time.Time{}
		}},
	}
	for i, c := range cases {
		build := func(side string) store.MailIngest {
			in := mail(fmt.Sprintf("steps/%s/%d", side, i), fmt.Sprintf("steps-%s-%d", side, i))
			in.NewTicket = &store.Ticket{Title: c.name, QueueID: q.ID, CreatedAt: t0}
			in.Article.CreatedAt = t0.Add(time.Second)
			in.Article.Date = t0.Add(-time.Minute)
			in.Article.MessageID = fmt.Sprintf("steps-%d@mail", i)
			in.Attachments = append(in.Attachments, store.TicketAttachment{Name: "b.png", MediaType: "image/png", ContentID: "img", Data: []byte("png")})
			c.make(&in)
			return in
		}
		// In one go.
		one := build("one")
		res, err := e.IngestMail(ctx, one)
		must(t, err)
		stored, err := e.Ticket(ctx, res.Ticket.ID)
		must(t, err)
		eq(t, c.name+": result's ticket", fmt.Sprint(res.Ticket), fmt.Sprint(stored))

		// In steps: the ticket first, then the mail into it.
		steps := build("steps")
		tk := *steps.NewTicket
		must(t, e.CreateTicket(ctx, &tk))
		steps.NewTicket, steps.TicketID = nil, tk.ID
		sres, err := e.IngestMail(ctx, steps)
		must(t, err)
		sstored, err := e.Ticket(ctx, tk.ID)
		must(t, err)
		eq(t, c.name+": result's ticket in steps", fmt.Sprint(sres.Ticket), fmt.Sprint(sstored))

		zeroTimes := c.name == "no attachments, zero times" // "now" differs between the two
		eq(t, c.name+": ticket", ticketShape(stored, zeroTimes), ticketShape(sstored, zeroTimes))
		eq(t, c.name+": articles", articlesShape(t, e, stored.ID, zeroTimes), articlesShape(t, e, sstored.ID, zeroTimes))
		eq(t, c.name+": events", eventsShape(t, e, stored.ID, zeroTimes), eventsShape(t, e, sstored.ID, zeroTimes))
		r1, err := e.MailReceipt(ctx, one.Receipt.SourceKey, "")
		must(t, err)
		eq(t, c.name+": receipt", [2]int64{r1.TicketID, r1.ArticleID}, [2]int64{res.Ticket.ID, res.Article.ID})
		r2, err := e.MailReceipt(ctx, steps.Receipt.SourceKey, "")
		must(t, err)
		eq(t, c.name+": receipt in steps", [2]int64{r2.TicketID, r2.ArticleID}, [2]int64{tk.ID, sres.Article.ID})
		eq(t, c.name+": result's article", res.Article.TicketID, res.Ticket.ID)
	}
	queued, err := e.QueuedAutoResponses(ctx, 10)
	must(t, err)
	eq(t, "auto-responses", len(queued), 2)
	eq(t, "auto-response", fmt.Sprint(queued[0].Recipient, queued[0].Template, queued[0].SentAt, string(queued[0].Raw)),
		fmt.Sprint(queued[1].Recipient, queued[1].Template, queued[1].SentAt, string(queued[1].Raw)))
	eq(t, "auto-response recipient", queued[0].Recipient, "ana@example.com")
}

// ticketShape is a ticket without its id and number.
func ticketShape(tk store.Ticket, zeroTimes bool) string {
	tk.ID, tk.Number = 0, ""
	if zeroTimes {
		tk.CreatedAt, tk.UpdatedAt = time.Time{}, time.Time{}
	}
	return fmt.Sprintf("%+v", tk)
}

// articlesShape lists a ticket's articles and attachments without ids.
func articlesShape(t *testing.T, e *env, ticketID int64, zeroTimes bool) string {
	t.Helper()
	ctx := e.ctx(t)
	arts, err := e.Articles(ctx, ticketID)
	must(t, err)
	var b bytes.Buffer
	for _, a := range arts {
		atts, err := e.TicketAttachments(ctx, a.ID)
		must(t, err)
		a.ID, a.TicketID = 0, 0
		if zeroTimes {
			a.CreatedAt, a.Date = time.Time{}, time.Time{}
		}
		fmt.Fprintf(&b, "%+v\n", a)
		for _, at := range atts {
			at.ID, at.ArticleID = 0, 0
			fmt.Fprintf(&b, "  %+v\n", at)
		}
	}
	return b.String()
}

// eventsShape lists a ticket's events, article ids given by position.
func eventsShape(t *testing.T, e *env, ticketID int64, zeroTimes bool) string {
	t.Helper()
	ctx := e.ctx(t)
	arts, err := e.Articles(ctx, ticketID)
	must(t, err)
	pos := map[string]string{}
	for i, a := range arts {
		pos[fmt.Sprint(a.ID)] = fmt.Sprintf("article#%d", i)
	}
	evs, err := e.TicketEvents(ctx, ticketID)
	must(t, err)
	var b bytes.Buffer
	for _, ev := range evs {
		if p, ok := pos[ev.NewValue]; ok && ev.Kind != store.EventCreated {
			ev.NewValue = p
		}
		ev.ID, ev.TicketID = 0, 0
		if zeroTimes {
			ev.At = time.Time{}
		}
		fmt.Fprintf(&b, "%+v\n", ev)
	}
	return b.String()
}

// testKnownMailKeysAndMessageIDs: the lookups by list find what the
// single lookups find, for any key (odd bytes, empty, repeated) and lists
// longer than a statement binds.
func testKnownMailKeysAndMessageIDs(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	odd := []string{"k\xff\xfe", "k\x00nul", "K-1", "k-1 ", "k-%", "k-_"}
	var asked []string
	for i, k := range append([]string{"k-1", "k-2"}, odd...) {
		in := mail(k, fmt.Sprintf("content-%d", i))
		in.Article.MessageID = "id-" + k
		in.NewTicket = &store.Ticket{Title: "x", QueueID: q.ID}
		if i == 0 {
			in.Reply = &store.Article{Direction: store.Outbound, MessageID: "reply@us"}
		}
		_, _ = e.IngestMail(ctx, in) // a store may refuse the odd ones
		asked = append(asked, k, "id-"+k, fmt.Sprintf("content-%d", i))
	}
	asked = append(asked, "", "k-1", "reply@us", "content-0", "nope", "k", "id-")
	for i := range 5000 {
		asked = append(asked, fmt.Sprintf("unknown-%d", i))
	}
	asked = append(asked, "k-2", "id-k-2")

	keys, err := e.KnownMailKeys(ctx, asked)
	must(t, err)
	ids, err := e.KnownMessageIDs(ctx, asked)
	must(t, err)
	gotKeys, gotIDs := map[string]int{}, map[string]int{}
	for _, k := range keys {
		gotKeys[k]++
	}
	for _, k := range ids {
		gotIDs[k]++
	}
	for _, k := range asked {
		_, err1 := e.MailReceipt(ctx, k, "")
		_, err2 := e.MailReceipt(ctx, "", k)
		wantKey := err1 == nil || err2 == nil
		_, err3 := e.TicketByMessageID(ctx, k)
		wantID := err3 == nil
		if k == "" {
			wantKey, wantID = false, false
		}
		if (gotKeys[k] > 0) != wantKey || gotKeys[k] > 1 {
			t.Fatalf("key %q: reported %d times, single lookup finds it: %v", k, gotKeys[k], wantKey)
		}
		if (gotIDs[k] > 0) != wantID || gotIDs[k] > 1 {
			t.Fatalf("message id %q: reported %d times, single lookup finds it: %v", k, gotIDs[k], wantID)
		}
	}
	eq(t, "known keys", gotKeys["k-1"]+gotKeys["k-2"]+gotKeys["content-0"]+gotKeys["content-1"], 4)
	eq(t, "known message ids", gotIDs["id-k-1"]+gotIDs["id-k-2"]+gotIDs["reply@us"], 3)
	for _, list := range [][]string{nil, {}, {""}} {
		keys, err := e.KnownMailKeys(ctx, list)
		must(t, err)
		eq(t, "nothing asked, nothing known", len(keys), 0)
		ids, err := e.KnownMessageIDs(ctx, list)
		must(t, err)
		eq(t, "nothing asked, no message id", len(ids), 0)
	}
}
