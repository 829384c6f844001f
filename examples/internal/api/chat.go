package api

import (
	"mime"
	"net/http"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/store"
)

type conversationJSON struct {
	ID            int64      `json:"id"`
	State         string     `json:"state"`
	CustomerName  string     `json:"customer_name"`
	CustomerID    string     `json:"customer_id,omitempty"`
	CustomerEmail string     `json:"customer_email,omitempty"`
	Verified      bool       `json:"verified"`
	Operator      string     `json:"operator,omitempty"`
	Messages      int64      `json:"messages"`
	LeftMessage   bool       `json:"left_message"`
	OpenedAt      time.Time  `json:"opened_at"`
	AssignedAt    *time.Time `json:"assigned_at,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
}

// listConversations lists chat conversations by id, filtered by state.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := allow(callerOf(ctx), areaChat); err != nil {
		return err
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	f := store.ConversationFilter{AfterID: p.after, Limit: p.limit, State: store.ConversationState(r.URL.Query().Get("state")),
		OperatorID: r.URL.Query().Get("operator")}
	switch f.State {
	case "", store.ConversationWaiting, store.ConversationActive, store.ConversationClosed:
	default:
		return badField("state", "state: want waiting, active or closed")
	}
	cs, err := s.Store.Conversations(ctx, f)
	if err != nil {
		return err
	}
	items := make([]conversationJSON, 0, len(cs))
	var last int64
	for _, c := range cs {
		items = append(items, conversationJSON{ID: c.ID, State: string(c.State), CustomerName: c.CustomerName, CustomerID: c.CustomerID,
			CustomerEmail: c.CustomerEmail, Verified: c.Verified, Operator: c.OperatorID, Messages: c.LastSeq,
			LeftMessage: c.LeftMessage, OpenedAt: c.OpenedAt, AssignedAt: optTime(c.AssignedAt), ClosedAt: optTime(c.ClosedAt)})
		last = c.ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": p.next(len(cs), last)})
	return nil
}

// transcript exports a conversation as the chat package writes it: text
// (the default) or JSON.
func (s *Server) transcript(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := allow(callerOf(ctx), areaChat); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "text", "json":
	default:
		return badField("format", "format: want text or json")
	}
	t, err := s.Store.Transcript(ctx, id)
	if err != nil {
		return err
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	write := chat.WriteTranscriptText
	if format == "json" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		write = chat.WriteTranscriptJSON
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment",
			map[string]string{"filename": chat.TranscriptFileName(t, "txt")}))
	}
	if err := write(w, t); err != nil { // the answer has begun: too late for an error status
		s.logger().Warn("api: transcript not written whole", "conversation", id, "err", err)
	}
	return nil
}
