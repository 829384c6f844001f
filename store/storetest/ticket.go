package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

var ticketTests = []test{
	{"QueuesCustomersAgents", testQueuesCustomersAgents},
	{"TicketNumbers", testTicketNumbers},
	{"TicketNumbersConcurrent", testTicketNumbersConcurrent},
	{"TicketLifecycle", testTicketLifecycle},
	{"Articles", testArticles},
	{"IngestMail", testIngestMail},
	{"IngestMailConcurrent", testIngestMailConcurrent},
	{"AutoResponses", testAutoResponses},
	{"IngestWithReply", testIngestWithReply},
	{"IngestTimesAndEvents", testIngestTimesAndEvents},
	{"IngestMailNewTicketAsSteps", testIngestMailNewTicketAsSteps},
	{"KnownMailKeysAndMessageIDs", testKnownMailKeysAndMessageIDs},
	{"KnownOddKeysEverywhere", testKnownOddKeysEverywhere},
	{"IngestNewResultIsStored", testIngestNewResultIsStored},
	{"AutoResponseOutbox", testAutoResponseOutbox},
	{"AutoResponseClaims", testAutoResponseClaims},
	{"Quarantine", testQuarantine},
	{"PendingReminders", testPendingReminders},
	{"MergeTicket", testMergeTicket},
}

func newQueue(t *testing.T, e *env, name string) store.Queue {
	t.Helper()
	q := store.Queue{Name: name}
	must(t, e.CreateQueue(e.ctx(t), &q))
	return q
}

func testQueuesCustomersAgents(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	wantErr(t, e.CreateQueue(ctx, &store.Queue{Name: "Soporte"}), store.ErrDuplicate)
	got, err := e.QueueByName(ctx, "Soporte")
	must(t, err)
	eq(t, "queue", got.ID, q.ID)
	newQueue(t, e, "Ventas")
	qs, err := e.Queues(ctx)
	must(t, err)
	eq(t, "queues", len(qs), 2)

	c, err := e.UpsertCustomer(ctx, store.Customer{Email: " Ana@Example.COM ", Name: "Ana"})
	must(t, err)
	eq(t, "email", c.Email, "ana@example.com")
	c2, err := e.UpsertCustomer(ctx, store.Customer{Email: "ana@example.com", Company: "example.com"})
	must(t, err)
	eq(t, "same customer", c2.ID, c.ID)
	eq(t, "name kept", c2.Name, "Ana")
	eq(t, "company set", c2.Company, "example.com")
	byMail, err := e.CustomerByEmail(ctx, "ANA@example.com")
	must(t, err)
	eq(t, "by mail", byMail.ID, c.ID)
	byID, err := e.Customer(ctx, c.ID)
	must(t, err)
	eq(t, "by id", byID.Email, "ana@example.com")
	_, err = e.Customer(ctx, c.ID+1000)
	wantErr(t, err, store.ErrNotFound)
	_, err = e.UpsertCustomer(ctx, store.Customer{})
	wantErr(t, err, store.ErrInvalid)

	a := store.Agent{Name: "Luis", Email: "luis@support.example", Phone: "+58 412"}
	must(t, e.CreateAgent(ctx, &a))
	wantErr(t, e.CreateAgent(ctx, &store.Agent{Name: "Other", Email: "LUIS@support.example"}), store.ErrDuplicate)
	as, err := e.Agents(ctx)
	must(t, err)
	eq(t, "agents", len(as), 1)
	eq(t, "phone", as[0].Phone, "+58 412")
}

func testTicketNumbers(t *testing.T, e *env) {
	ctx := e.ctx(t)
	day := at("2026-11-22T23:59:59Z")
	n1, err := e.NextTicketNumber(ctx, day)
	must(t, err)
	n2, err := e.NextTicketNumber(ctx, day)
	must(t, err)
	eq(t, "first", n1, store.TicketNumber(day, 1))
	eq(t, "second", n2, store.TicketNumber(day, 2))
	if !store.ValidTicketNumber(n1) || n1[:8] != "20261122" {
		t.Fatalf("bad number %q", n1)
	}
	n3, err := e.NextTicketNumber(ctx, day.Add(time.Second))
	must(t, err)
	eq(t, "next day restarts", n3, store.TicketNumber(day.Add(time.Second), 1))
}

func testTicketNumbersConcurrent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	second := e.second(t)
	day := at("2026-11-22T10:00:00Z")
	const per = 30
	var mu sync.Mutex
	seen := map[string]bool{}
	must(t, parallel(e.workers, func(w int) error {
		st := store.Store(e)
		if w%2 == 1 {
			st = second
		}
		for i := 0; i < per; i++ {
			n, err := st.NextTicketNumber(ctx, day)
			if err != nil {
				return err
			}
			mu.Lock()
			dup := seen[n]
			seen[n] = true
			mu.Unlock()
			if dup {
				return fmt.Errorf("number %s allocated twice", n)
			}
		}
		return nil
	}))
	eq(t, "numbers", len(seen), e.workers*per)
	for i := 1; i <= e.workers*per; i++ {
		if !seen[store.TicketNumber(day, int64(i))] {
			t.Fatalf("counter %d skipped", i)
		}
	}
}

func testTicketLifecycle(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	q2 := newQueue(t, e, "Redes")
	agent := store.Agent{Name: "Luis", Email: "luis@x"}
	must(t, e.CreateAgent(ctx, &agent))
	created := at("2026-04-01T09:00:00Z")
	tk := store.Ticket{Title: "No funciona el enlace", QueueID: q.ID, CreatedAt: created}
	must(t, e.CreateTicket(ctx, &tk))
	if tk.ID == 0 || !store.ValidTicketNumber(tk.Number) {
		t.Fatalf("ticket not completed: %+v", tk)
	}
	eq(t, "state", tk.State, store.TicketNew)
	eq(t, "priority", tk.Priority, 3)
	got, err := e.TicketByNumber(ctx, tk.Number)
	must(t, err)
	eq(t, "by number", got.ID, tk.ID)
	eq(t, "title", got.Title, tk.Title)
	eq(t, "created", got.CreatedAt, created)
	_, err = e.TicketByNumber(ctx, "0")
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, e.CreateTicket(ctx, &store.Ticket{}), store.ErrInvalid)
	wantErr(t, e.CreateTicket(ctx, &store.Ticket{QueueID: q.ID, Priority: 9}), store.ErrInvalid)
	wantErr(t, e.CreateTicket(ctx, &store.Ticket{QueueID: q.ID + 1000}), store.ErrNotFound)

	must(t, e.AssignTicket(ctx, tk.ID, agent.ID, created.Add(time.Minute)))
	must(t, e.MoveTicket(ctx, tk.ID, q2.ID, agent.ID, created.Add(2*time.Minute)))
	must(t, e.SetTicketState(ctx, tk.ID, store.TicketOpen, agent.ID, created.Add(3*time.Minute)))
	must(t, e.SetTicketState(ctx, tk.ID, store.TicketOpen, agent.ID, created.Add(4*time.Minute))) // no-op
	closed := created.Add(time.Hour)
	must(t, e.SetTicketState(ctx, tk.ID, store.TicketClosed, agent.ID, closed))
	got, _ = e.Ticket(ctx, tk.ID)
	eq(t, "owner", got.OwnerID, agent.ID)
	eq(t, "queue", got.QueueID, q2.ID)
	eq(t, "closed", got.ClosedAt, closed)
	eq(t, "updated", got.UpdatedAt, closed)
	must(t, e.SetTicketState(ctx, tk.ID, store.TicketOpen, 0, closed.Add(time.Hour)))
	must(t, e.AssignTicket(ctx, tk.ID, 0, closed.Add(time.Hour)))
	got, _ = e.Ticket(ctx, tk.ID)
	eq(t, "unassigned", got.OwnerID, int64(0))
	wantErr(t, e.SetTicketState(ctx, tk.ID, "bogus", 0, time.Time{}), store.ErrInvalid)
	wantErr(t, e.SetTicketState(ctx, tk.ID+1000, store.TicketOpen, 0, time.Time{}), store.ErrNotFound)

	evs, err := e.TicketEvents(ctx, tk.ID)
	must(t, err)
	var kinds []store.EventKind
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	want := []store.EventKind{store.EventCreated, store.EventAssigned, store.EventQueueChanged, store.EventStateChanged,
		store.EventStateChanged, store.EventClosed, store.EventStateChanged, store.EventReopened, store.EventAssigned}
	if !slices.Equal(kinds, want) {
		t.Fatalf("events = %v, want %v", kinds, want)
	}
	eq(t, "state change old", evs[3].OldValue, "new")
	eq(t, "state change new", evs[3].NewValue, "open")

	list, err := e.Tickets(ctx, store.TicketFilter{QueueID: q2.ID, State: store.TicketOpen})
	must(t, err)
	eq(t, "listed", len(list), 1)
	list, err = e.Tickets(ctx, store.TicketFilter{QueueID: q.ID})
	must(t, err)
	eq(t, "other queue", len(list), 0)
}

func testArticles(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	agent := store.Agent{Name: "Luis", Email: "luis@x"}
	must(t, e.CreateAgent(ctx, &agent))
	created := at("2026-04-01T09:00:00Z")
	tk := store.Ticket{Title: "t", QueueID: q.ID, CreatedAt: created}
	must(t, e.CreateTicket(ctx, &tk))
	in := store.Article{TicketID: tk.ID, Direction: store.Inbound, MessageID: "abc@mail.example",
		References: []string{"r1@x", "r2@x"}, From: "ana@example.com", Subject: "Ayuda", TextBody: "texto",
		CreatedAt: created}
	atts := []store.TicketAttachment{{Name: "captura.png", MediaType: "image/png", Data: []byte("png")},
		{Name: "inline.gif", MediaType: "image/gif", ContentID: "img1", Data: []byte("gif")}}
	must(t, e.AddArticle(ctx, &in, atts))
	if in.ID == 0 || atts[0].ID == 0 || atts[1].ArticleID != in.ID {
		t.Fatalf("ids not set: %+v %+v", in, atts)
	}
	byMsg, err := e.TicketByMessageID(ctx, "abc@mail.example")
	must(t, err)
	eq(t, "by message id", byMsg.ID, tk.ID)
	_, err = e.TicketByMessageID(ctx, "nope@x")
	wantErr(t, err, store.ErrNotFound)
	_, err = e.TicketByMessageID(ctx, "")
	wantErr(t, err, store.ErrNotFound)

	// An automatic outbound article is no response; an agent's is.
	auto := store.Article{TicketID: tk.ID, Direction: store.Outbound, Subject: "Recibido", CreatedAt: created.Add(time.Second)}
	must(t, e.AddArticle(ctx, &auto, nil))
	got, _ := e.Ticket(ctx, tk.ID)
	if !got.FirstResponseAt.IsZero() {
		t.Fatal("automatic reply counted as first response")
	}
	// An agent's internal note is no response either, and has an author.
	note := store.Article{TicketID: tk.ID, Direction: store.Note, AgentID: agent.ID, TextBody: "call her", CreatedAt: created.Add(10 * time.Minute)}
	must(t, e.AddArticle(ctx, &note, nil))
	wantErr(t, e.AddArticle(ctx, &store.Article{TicketID: tk.ID, Direction: store.Note, TextBody: "x"}, nil), store.ErrInvalid)
	got, _ = e.Ticket(ctx, tk.ID)
	if !got.FirstResponseAt.IsZero() {
		t.Fatal("an internal note counted as first response")
	}
	reply := store.Article{TicketID: tk.ID, Direction: store.Outbound, AgentID: agent.ID, CreatedAt: created.Add(30 * time.Minute)}
	must(t, e.AddArticle(ctx, &reply, nil))
	later := store.Article{TicketID: tk.ID, Direction: store.Outbound, AgentID: agent.ID, CreatedAt: created.Add(time.Hour)}
	must(t, e.AddArticle(ctx, &later, nil))
	got, _ = e.Ticket(ctx, tk.ID)
	eq(t, "first response", got.FirstResponseAt, created.Add(30*time.Minute))
	eq(t, "updated", got.UpdatedAt, created.Add(time.Hour))

	arts, err := e.Articles(ctx, tk.ID)
	must(t, err)
	eq(t, "articles", len(arts), 5)
	eq(t, "the note", arts[2].Direction, store.Note)
	if !slices.Equal(arts[0].References, []string{"r1@x", "r2@x"}) {
		t.Fatalf("references = %q", arts[0].References)
	}
	eq(t, "date defaults to creation", arts[0].Date, created)
	list, err := e.TicketAttachments(ctx, in.ID)
	must(t, err)
	eq(t, "attachments", len(list), 2)
	eq(t, "content id", list[1].ContentID, "img1")
	if list[0].Data != nil {
		t.Fatal("listing carries data")
	}
	one, err := e.TicketAttachment(ctx, atts[0].ID)
	must(t, err)
	eq(t, "data", string(one.Data), "png")
	eq(t, "size", one.Size, int64(3))
	wantErr(t, e.AddArticle(ctx, &store.Article{TicketID: tk.ID + 1000, Direction: store.Inbound}, nil), store.ErrNotFound)
	wantErr(t, e.AddArticle(ctx, &store.Article{TicketID: tk.ID, Direction: "sideways"}, nil), store.ErrInvalid)
}

func mail(key, content string) store.MailIngest {
	return store.MailIngest{
		Receipt: store.MailReceipt{SourceKey: key, ContentKey: content},
		Article: store.Article{Direction: store.Inbound, MessageID: content + "@mail", From: "ana@example.com",
			Subject: "Falla", TextBody: "no hay servicio"},
		Attachments: []store.TicketAttachment{{Name: "a.txt", Data: []byte("x")}},
	}
}

func testIngestMail(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	in := mail("imap/acct/INBOX/7/1", "m1")
	in.NewTicket = &store.Ticket{Title: "Falla", QueueID: q.ID}
	res, err := e.IngestMail(ctx, in)
	must(t, err)
	if res.Ticket.ID == 0 || res.Article.ID == 0 || res.Receipt.ArticleID != res.Article.ID {
		t.Fatalf("ingest result incomplete: %+v", res)
	}
	eq(t, "ticket number", store.ValidTicketNumber(res.Ticket.Number), true)

	// The same mail by its source key, or by content through another
	// mailbox: duplicates, nothing stored.
	for _, dup := range []store.MailIngest{mail("imap/acct/INBOX/7/1", "other"), mail("pop3/other/uidl", "m1")} {
		dup.NewTicket = &store.Ticket{Title: "dup", QueueID: q.ID}
		r, err := e.IngestMail(ctx, dup)
		wantErr(t, err, store.ErrDuplicate)
		eq(t, "existing article", r.Receipt.ArticleID, res.Article.ID)
	}
	tickets, _ := e.Tickets(ctx, store.TicketFilter{})
	eq(t, "tickets after duplicates", len(tickets), 1)

	// A follow-up goes into the existing ticket.
	follow := mail("imap/acct/INBOX/7/2", "m2")
	follow.TicketID = res.Ticket.ID
	fr, err := e.IngestMail(ctx, follow)
	must(t, err)
	eq(t, "follow-up ticket", fr.Ticket.ID, res.Ticket.ID)
	arts, _ := e.Articles(ctx, res.Ticket.ID)
	eq(t, "articles", len(arts), 2)
	r, err := e.MailReceipt(ctx, "", "m2")
	must(t, err)
	eq(t, "receipt by content", r.ArticleID, fr.Article.ID)
	_, err = e.MailReceipt(ctx, "nope", "nope")
	wantErr(t, err, store.ErrNotFound)

	// A failure part-way stores nothing (the ticket, article and receipt
	// share one transaction).
	bad := mail("imap/acct/INBOX/7/3", "m3")
	bad.TicketID = res.Ticket.ID + 1000
	_, err = e.IngestMail(ctx, bad)
	wantErr(t, err, store.ErrNotFound)
	_, err = e.MailReceipt(ctx, "imap/acct/INBOX/7/3", "")
	wantErr(t, err, store.ErrNotFound)
	bad2 := mail("imap/acct/INBOX/7/4", "m4")
	bad2.NewTicket = &store.Ticket{Title: "x", QueueID: q.ID}
	bad2.Article.Direction = "bogus"
	_, err = e.IngestMail(ctx, bad2)
	wantErr(t, err, store.ErrInvalid)
	tickets, _ = e.Tickets(ctx, store.TicketFilter{})
	eq(t, "tickets after failures", len(tickets), 1)
	_, err = e.IngestMail(ctx, store.MailIngest{})
	wantErr(t, err, store.ErrInvalid)
}

// testIngestMailConcurrent delivers the same mail from many goroutines (two
// pollers racing): exactly one ticket results.
func testIngestMailConcurrent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	q := newQueue(t, e, "Soporte")
	second := e.second(t)
	const mails = 5
	var mu sync.Mutex
	ok := 0
	must(t, parallel(e.workers, func(w int) error {
		st := store.Store(e)
		if w%2 == 1 {
			st = second
		}
		for i := 0; i < mails; i++ {
			in := mail(fmt.Sprintf("imap/a/INBOX/1/%d", i), fmt.Sprintf("c%d", i))
			in.NewTicket = &store.Ticket{Title: "race", QueueID: q.ID}
			_, err := st.IngestMail(ctx, in)
			if errors.Is(err, store.ErrDuplicate) {
				continue
			}
			if err != nil {
				return err
			}
			mu.Lock()
			ok++
			mu.Unlock()
		}
		return nil
	}))
	eq(t, "ingested", ok, mails)
	tickets, _ := e.Tickets(ctx, store.TicketFilter{})
	eq(t, "tickets", len(tickets), mails)
}

func testAutoResponses(t *testing.T, e *env) {
	ctx := e.ctx(t)
	now := time.Now()
	for i := 0; i < 3; i++ {
		r := store.AutoResponse{TicketID: 1, Recipient: "Ana@Example.com", Template: "ack", SentAt: now.Add(-time.Duration(i) * time.Hour)}
		must(t, e.RecordAutoResponse(ctx, &r))
		if r.ID == 0 {
			t.Fatal("id not set")
		}
	}
	n, err := e.CountAutoResponses(ctx, "ana@example.com", now.Add(-90*time.Minute))
	must(t, err)
	eq(t, "recent", n, 2)
	n, _ = e.CountAutoResponses(ctx, "bob@example.com", time.Time{})
	eq(t, "other", n, 0)
	wantErr(t, e.RecordAutoResponse(ctx, &store.AutoResponse{}), store.ErrInvalid)
}
