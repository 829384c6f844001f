package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// agentEmail checks an agent's address and returns it as the store keeps
// it (lower case).
func agentEmail(field, email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || len(email) > 254 || !strings.Contains(email, "@") || !validText(email) {
		return "", badField(field, field+": want an agent's e-mail address")
	}
	return email, nil
}

// AgentByEmail finds the agent with an address as the store keeps it
// (lower case, trimmed) through st, making it on first use. The API and
// the command line act as agents found this way.
func AgentByEmail(ctx context.Context, st store.TicketStore, email string) (store.Agent, error) {
	return AgentNamed(ctx, st, email, email)
}

// AgentNamed is AgentByEmail making the agent, on first use, with a name
// (the console's accounts have one).
func AgentNamed(ctx context.Context, st store.TicketStore, email, name string) (store.Agent, error) {
	for range 2 { // a second look when another request made it meanwhile
		as, err := st.Agents(ctx)
		if err != nil {
			return store.Agent{}, err
		}
		for _, a := range as {
			if a.Email == email {
				return a, nil
			}
		}
		a := store.Agent{Name: name, Email: email}
		if err := st.CreateAgent(ctx, &a); !errors.Is(err, store.ErrDuplicate) {
			return a, err
		}
	}
	return store.Agent{}, fmt.Errorf("api: agent %q neither found nor made", email)
}

type replyRequest struct {
	Text  string `json:"text"`
	Agent string `json:"agent"`
}

// replyTicket mails an agent's answer to the ticket's customer and keeps
// it as an article: 201 {"article_id", "message_id"}.
func (s *Server) replyTicket(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := allow(callerOf(ctx), areaTickets); err != nil {
		return err
	}
	if s.Tickets == nil || s.Mail == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Message: "replies need the server's mail settings (-smtp)"}
	}
	var req replyRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Text) == "" {
		return badField("text", "text: the answer is empty")
	}
	email, err := agentEmail("agent", req.Agent)
	if err != nil {
		return err
	}
	t, err := ticketByNumber(ctx, s.Store, r.PathValue("number"))
	if err != nil {
		return err
	}
	a, err := AgentByEmail(ctx, s.Store, email)
	if err != nil {
		return err
	}
	art, err := s.Tickets.Reply(ctx, s.Mail, t.ID, a.ID, req.Text)
	if errors.Is(err, mailticket.ErrNoRecipient) {
		return &apiError{Status: http.StatusConflict, Message: "the ticket has no customer address to answer"}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"article_id": art.ID, "message_id": art.MessageID})
	return nil
}

type patchRequest struct {
	Agent        string  `json:"agent"`
	State        string  `json:"state"`
	PendingUntil *string `json:"pending_until"` // RFC 3339
	Owner        *string `json:"owner"`         // an agent's e-mail; "" unassigns
	Queue        string  `json:"queue"`
}

// patchTicket changes a ticket's state, owner or queue, as agent, and
// answers the ticket as it is then. The changes are checked before any is
// made.
func (s *Server) patchTicket(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := allow(callerOf(ctx), areaTickets); err != nil {
		return err
	}
	var req patchRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	state := store.TicketState(req.State)
	var until time.Time
	if req.PendingUntil != nil {
		var err error
		if until, err = time.Parse(time.RFC3339, *req.PendingUntil); err != nil {
			return badField("pending_until", "pending_until: want an RFC 3339 time such as 2030-01-02T09:00:00Z")
		}
	}
	switch state {
	case "", store.TicketOpen, store.TicketClosed, store.TicketNew:
		if req.PendingUntil != nil {
			return badField("pending_until", "pending_until: only with state pending")
		}
	case store.TicketPending:
		if req.PendingUntil == nil || !until.After(s.now()) {
			return badField("pending_until", "pending_until: a pending ticket needs a time in the future")
		}
	default:
		return badField("state", "state: want new, open, pending or closed")
	}
	if state == "" && req.Owner == nil && req.Queue == "" {
		return badField("", "nothing to change: give state, owner or queue")
	}
	agent, err := agentEmail("agent", req.Agent)
	if err != nil {
		return err
	}
	owner := ""
	if req.Owner != nil && *req.Owner != "" {
		if owner, err = agentEmail("owner", *req.Owner); err != nil {
			return err
		}
	}
	t, err := ticketByNumber(ctx, s.Store, r.PathValue("number"))
	if err != nil {
		return err
	}
	var queue store.Queue
	if req.Queue != "" {
		if queue, err = s.Store.QueueByName(ctx, req.Queue); errors.Is(err, store.ErrNotFound) {
			return badField("queue", "queue: no queue named "+req.Queue)
		} else if err != nil {
			return err
		}
	}
	// Every check passed: the agents are found or made with the changes,
	// in one transaction.
	now := s.now()
	err = s.Store.InTx(ctx, func(tx store.Ops) error {
		a, err := AgentByEmail(ctx, tx, agent)
		if err != nil {
			return err
		}
		if req.Queue != "" {
			if err := tx.MoveTicket(ctx, t.ID, queue.ID, a.ID, now); err != nil {
				return err
			}
		}
		if req.Owner != nil {
			var o store.Agent
			if owner != "" {
				if o, err = AgentByEmail(ctx, tx, owner); err != nil {
					return err
				}
			}
			if err := tx.AssignTicket(ctx, t.ID, o.ID, now); err != nil {
				return err
			}
		}
		switch {
		case state == store.TicketPending:
			return tx.SetTicketPending(ctx, t.ID, until, a.ID, now)
		case state != "":
			return tx.SetTicketState(ctx, t.ID, state, a.ID, now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if t, err = s.Store.Ticket(ctx, t.ID); err != nil {
		return err
	}
	j, err := (&ticketNames{st: s.Store}).ticket(ctx, t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}
