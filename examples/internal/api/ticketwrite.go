package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// agentByEmail finds the agent an API call acts as, making it on first
// use (as the command line does).
func (s *Server) agentByEmail(ctx context.Context, email string) (store.Agent, error) {
	email = strings.TrimSpace(email)
	if email == "" || !strings.Contains(email, "@") || len(email) > 254 {
		return store.Agent{}, badField("agent", "agent: want the acting agent's e-mail address")
	}
	as, err := s.Store.Agents(ctx)
	if err != nil {
		return store.Agent{}, err
	}
	for _, a := range as {
		if strings.EqualFold(a.Email, email) {
			return a, nil
		}
	}
	a := store.Agent{Name: email, Email: email}
	if err := s.Store.CreateAgent(ctx, &a); errors.Is(err, store.ErrDuplicate) {
		return s.agentByEmail(ctx, email) // made meanwhile
	} else if err != nil {
		return a, err
	}
	return a, nil
}

type replyRequest struct {
	Text  string `json:"text"`
	Agent string `json:"agent"`
}

// replyTicket mails an agent's answer to the ticket's customer and keeps
// it as an article: 201 {"article_id", "message_id"}.
func (s *Server) replyTicket(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := everyClient(callerOf(ctx)); err != nil {
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
	t, err := s.Store.TicketByNumber(ctx, r.PathValue("number"))
	if err != nil {
		return err
	}
	a, err := s.agentByEmail(ctx, req.Agent)
	if err != nil {
		return err
	}
	art, err := s.Tickets.Reply(ctx, s.Mail, t.ID, a.ID, req.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"article_id": art.ID, "message_id": art.MessageID})
	return nil
}

type patchRequest struct {
	Agent        string     `json:"agent"`
	State        string     `json:"state"`
	PendingUntil *time.Time `json:"pending_until"`
	Owner        *string    `json:"owner"` // an agent's e-mail; "" unassigns
	Queue        string     `json:"queue"`
}

// patchTicket changes a ticket's state, owner or queue, as agent, and
// answers the ticket as it is then. The changes are checked before any is
// made.
func (s *Server) patchTicket(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := everyClient(callerOf(ctx)); err != nil {
		return err
	}
	var req patchRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	state := store.TicketState(req.State)
	switch state {
	case "", store.TicketOpen, store.TicketClosed, store.TicketNew:
		if req.PendingUntil != nil {
			return badField("pending_until", "pending_until: only with state pending")
		}
	case store.TicketPending:
		if req.PendingUntil == nil || !req.PendingUntil.After(s.now()) {
			return badField("pending_until", "pending_until: a pending ticket needs a time in the future")
		}
	default:
		return badField("state", "state: want new, open, pending or closed")
	}
	if state == "" && req.Owner == nil && req.Queue == "" {
		return badField("", "nothing to change: give state, owner or queue")
	}
	t, err := s.Store.TicketByNumber(ctx, r.PathValue("number"))
	if err != nil {
		return err
	}
	a, err := s.agentByEmail(ctx, req.Agent)
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
	var owner store.Agent
	if req.Owner != nil && *req.Owner != "" {
		if owner, err = s.agentByEmail(ctx, *req.Owner); err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				ae.Field, ae.Message = "owner", strings.Replace(ae.Message, "agent", "owner", 1)
			}
			return err
		}
	}
	now := s.now()
	err = s.Store.InTx(ctx, func(tx store.Ops) error {
		if req.Queue != "" {
			if err := tx.MoveTicket(ctx, t.ID, queue.ID, a.ID, now); err != nil {
				return err
			}
		}
		if req.Owner != nil {
			if err := tx.AssignTicket(ctx, t.ID, owner.ID, now); err != nil {
				return err
			}
		}
		switch {
		case state == store.TicketPending:
			return tx.SetTicketPending(ctx, t.ID, *req.PendingUntil, a.ID, now)
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
