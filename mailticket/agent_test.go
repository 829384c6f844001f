package mailticket

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

func TestAgentReplyThreadsBack(t *testing.T) {
	e := newEnv(t)
	e.p.DisableAutoResponses = true
	r := e.process("k1", simple(`"Ana" <ana@cliente.example>`, "Falla", "ag1@cliente.example"))
	agent := store.Agent{Name: "Luis", Email: "luis@example.net"}
	if err := e.st.CreateAgent(e.ctx, &agent); err != nil {
		t.Fatal(err)
	}
	a, err := e.p.Reply(e.ctx, e.sender(), r.Ticket.ID, agent.ID, "Hola Ana,\nya lo revisamos.\n")
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := e.st.Ticket(e.ctx, r.Ticket.ID)
	expect(t, "state", tk.State, store.TicketOpen)
	expect(t, "first response", tk.FirstResponseAt.IsZero(), false)
	sent := e.sink.received()
	expect(t, "sent", len(sent), 1)
	expect(t, "envelope sender", sent[0].From, "support@example.net")
	m, _ := Parse(sent[0].Data, nil)
	expect(t, "in reply to", m.InReplyTo[0], "ag1@cliente.example")
	if !strings.HasPrefix(m.Subject, "Re: Falla [Ticket#"+tk.Number+"]") || m.Header.Has("Auto-Submitted") {
		t.Fatalf("reply headers: %q auto=%q", m.Subject, m.Header.Get("Auto-Submitted"))
	}
	expect(t, "article id", a.MessageID, m.MessageID)
	// The customer's answer to the agent threads into the ticket.
	f := e.process("k2", simple("ana@cliente.example", "Re: Falla", "ag2@cliente.example", "In-Reply-To: <"+m.MessageID+">"))
	expect(t, "follow-up", f.Outcome, FollowUp)
	expect(t, "ticket", f.Ticket.ID, r.Ticket.ID)
	// A failed send stores nothing.
	e.sink.setFail(&smtpPermErr)
	if _, err := e.p.Reply(e.ctx, e.sender(), r.Ticket.ID, agent.ID, "otra"); err == nil {
		t.Fatal("no error from a refused send")
	}
	expect(t, "articles", len(e.articles(r.Ticket.ID)), 3)
}

func TestRemindersAndStatistics(t *testing.T) {
	e := newEnv(t)
	e.p.DisableAutoResponses = true
	var notes []Notification
	e.p.Notify = func(_ context.Context, n Notification) { notes = append(notes, n) }
	r := e.process("k1", simple("ana@cliente.example", "Falla", "rm1@cliente.example"))
	e.process("k2", simple("bob@otro.example", "Otra", "rm2@otro.example"))
	expect(t, "notified", len(notes), 2)
	if err := e.st.SetTicketPending(e.ctx, r.Ticket.ID, e.now.Add(time.Hour), 0, e.clock1()); err != nil {
		t.Fatal(err)
	}
	due, err := e.p.Remind(e.ctx)
	if err != nil || len(due) != 0 {
		t.Fatalf("early reminder: %v %v", due, err)
	}
	e.now = e.now.Add(2 * time.Hour)
	due, err = e.p.Remind(e.ctx)
	if err != nil || len(due) != 1 {
		t.Fatalf("reminder: %v %v", due, err)
	}
	tk, _ := e.st.Ticket(e.ctx, r.Ticket.ID)
	expect(t, "open again", tk.State, store.TicketOpen)
	expect(t, "reminder told", notes[len(notes)-1].Outcome, ReminderDue)
	if err := e.st.SetTicketState(e.ctx, r.Ticket.ID, store.TicketClosed, 0, e.clock1()); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	rep, err := Statistics(e.ctx, e.st, StatsQuery{From: day, To: day.AddDate(0, 0, 1), Period: store.Day})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "queues", len(rep.ByQueue), 1)
	expect(t, "created", rep.ByQueue[0].Created, 2)
	expect(t, "closed", rep.ByQueue[0].Closed, 1)
	expect(t, "customers", len(rep.ByCustomer), 2)
	expect(t, "resolved", rep.Times.Resolution.Count, 1)
	expect(t, "backlog new", rep.Backlog[0].New, 1)
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), "ana@cliente.example") {
		t.Fatalf("report:\n%s %v", b.String(), err)
	}
}
