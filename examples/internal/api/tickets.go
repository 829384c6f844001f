package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

type ticketJSON struct {
	Number          string     `json:"number"`
	Title           string     `json:"title"`
	Queue           string     `json:"queue"`
	State           string     `json:"state"`
	Priority        int        `json:"priority"`
	Customer        string     `json:"customer,omitempty"`
	OwnerID         int64      `json:"owner_id,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	FirstResponseAt *time.Time `json:"first_response_at,omitempty"`
	ClosedAt        *time.Time `json:"closed_at,omitempty"`
	PendingUntil    *time.Time `json:"pending_until,omitempty"`
	MergedInto      string     `json:"merged_into,omitempty"`
	ID              int64      `json:"id"`
}

type articleJSON struct {
	ID        int64     `json:"id"`
	Direction string    `json:"direction"`
	From      string    `json:"from"`
	To        string    `json:"to,omitempty"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	MessageID string    `json:"message_id,omitempty"`
	AgentID   int64     `json:"agent_id,omitempty"`
	Date      time.Time `json:"date"`
}

// ticketNames turns ids into the names a ticket shows, caching them for
// one request.
type ticketNames struct {
	st        store.TicketStore
	queues    map[int64]string
	customers map[int64]string
}

func (n *ticketNames) ticket(ctx context.Context, t store.Ticket) (ticketJSON, error) {
	out := ticketJSON{ID: t.ID, Number: t.Number, Title: t.Title, State: string(t.State), Priority: t.Priority, OwnerID: t.OwnerID,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, FirstResponseAt: optTime(t.FirstResponseAt),
		ClosedAt: optTime(t.ClosedAt), PendingUntil: optTime(t.PendingUntil)}
	if n.queues == nil {
		qs, err := n.st.Queues(ctx)
		if err != nil {
			return out, err
		}
		n.queues, n.customers = map[int64]string{}, map[int64]string{}
		for _, q := range qs {
			n.queues[q.ID] = q.Name
		}
	}
	out.Queue = n.queues[t.QueueID]
	if t.CustomerID != 0 {
		name, ok := n.customers[t.CustomerID]
		if !ok {
			c, err := n.st.Customer(ctx, t.CustomerID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return out, err
			}
			name = c.Email
			n.customers[t.CustomerID] = name
		}
		out.Customer = name
	}
	if t.MergedIntoID != 0 {
		m, err := n.st.Ticket(ctx, t.MergedIntoID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return out, err
		}
		out.MergedInto = m.Number
	}
	return out, nil
}

// listTickets lists tickets by id, filtered by queue name and state.
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := allow(callerOf(ctx), areaTickets); err != nil {
		return err
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.TicketFilter{AfterID: p.after, Limit: p.limit, State: store.TicketState(q.Get("state"))}
	switch f.State {
	case "", store.TicketNew, store.TicketOpen, store.TicketPending, store.TicketClosed:
	default:
		return badField("state", "state: want new, open, pending or closed")
	}
	if name := q.Get("queue"); name != "" {
		queue, err := s.Store.QueueByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return badField("queue", "queue: no queue named "+name)
		}
		if err != nil {
			return err
		}
		f.QueueID = queue.ID
	}
	ts, err := s.Store.Tickets(ctx, f)
	if err != nil {
		return err
	}
	names := &ticketNames{st: s.Store}
	items := make([]ticketJSON, 0, len(ts))
	var last int64
	for _, t := range ts {
		j, err := names.ticket(ctx, t)
		if err != nil {
			return err
		}
		items = append(items, j)
		last = t.ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": p.next(len(ts), last)})
	return nil
}

// getTicket shows a ticket with its articles.
func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := allow(callerOf(ctx), areaTickets); err != nil {
		return err
	}
	t, err := ticketByNumber(ctx, s.Store, r.PathValue("number"))
	if err != nil {
		return err
	}
	j, err := (&ticketNames{st: s.Store}).ticket(ctx, t)
	if err != nil {
		return err
	}
	arts, err := s.Store.Articles(ctx, t.ID)
	if err != nil {
		return err
	}
	out := struct {
		ticketJSON
		Articles []articleJSON `json:"articles"`
	}{ticketJSON: j, Articles: make([]articleJSON, 0, len(arts))}
	for _, a := range arts {
		out.Articles = append(out.Articles, articleJSON{ID: a.ID, Direction: string(a.Direction), From: a.From, To: a.To,
			Subject: a.Subject, Text: a.TextBody, MessageID: a.MessageID, AgentID: a.AgentID, Date: a.Date})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ticketByNumber finds a ticket; a number no ticket can have is not found.
func ticketByNumber(ctx context.Context, st store.TicketStore, number string) (store.Ticket, error) {
	if !store.ValidTicketNumber(number) {
		return store.Ticket{}, notFound("no ticket " + strconv.Quote(number))
	}
	return st.TicketByNumber(ctx, number)
}
