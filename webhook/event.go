package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Event is the JSON body of a delivery. Exactly one of SMS, Ticket and
// Chat is set, as Type's prefix says.
type Event struct {
	// ID names the event: the same for every attempt and every endpoint
	// ("sms:42:delivered", "ticket_event:7", "chat:3:closed:luis:…").
	ID   string    `json:"id"`
	Type string    `json:"type"` // "sms.delivered", "ticket.created", "chat.closed", ...
	At   time.Time `json:"at"`   // when the change happened

	SMS    *SMS    `json:"sms,omitempty"`
	Ticket *Ticket `json:"ticket,omitempty"`
	Chat   *Chat   `json:"chat,omitempty"`
}

// SMS is an outbound message at the time of its event.
type SMS struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id,omitempty"`
	Client     string `json:"client,omitempty"`
	BatchID    int64  `json:"batch_id,omitempty"`
	To         string `json:"to"`
	From       string `json:"from,omitempty"`
	State      string `json:"state"` // the event's state: sent, delivered, undeliverable, ...
	ErrorCode  int64  `json:"error_code,omitempty"`
	Reason     string `json:"reason,omitempty"`
	MessageID  string `json:"message_id,omitempty"` // the SMSC's id of its first segment
	Segments   int    `json:"segments,omitempty"`
}

// Ticket is a ticket and the change its event records.
type Ticket struct {
	ID       int64  `json:"id"`
	Number   string `json:"number,omitempty"` // empty if the ticket was deleted since
	Title    string `json:"title,omitempty"`
	QueueID  int64  `json:"queue_id,omitempty"`
	State    string `json:"state,omitempty"` // the ticket's state when the event was first sent
	Priority int    `json:"priority,omitempty"`
	Change   Change `json:"change"`
}

// Change is what a ticket event changed.
type Change struct {
	Kind    string `json:"kind"` // created, article, responded, assigned, queue_changed, ...
	Old     string `json:"old,omitempty"`
	New     string `json:"new,omitempty"`
	AgentID int64  `json:"agent_id,omitempty"`
}

// Chat is a conversation at the time of its event.
type Chat struct {
	ID            int64  `json:"id"`
	State         string `json:"state"`              // the event's state: waiting, active, closed
	Operator      string `json:"operator,omitempty"` // the operator it was given to
	CustomerName  string `json:"customer_name,omitempty"`
	CustomerID    string `json:"customer_id,omitempty"`
	CustomerEmail string `json:"customer_email,omitempty"`
	Verified      bool   `json:"verified,omitempty"`
}

// Lookups is what a Dispatcher reads to describe an event's subject.
type Lookups interface {
	Transmission(ctx context.Context, id int64) (store.Transmission, error)
	Client(ctx context.Context, id int64) (store.Client, error)
	Ticket(ctx context.Context, id int64) (store.Ticket, error)
	Conversation(ctx context.Context, id int64) (store.Conversation, error)
}

// Payload builds the body of d: what the store recorded with the event
// (its state, code, reason, values) and the subject as it is when the
// delivery is first sent (numbers, names, ids, a ticket's state then); a
// Dispatcher stores the body before it first sends it, and sends that
// body at every later try. A subject deleted since is described by what
// the event holds. It fails only on a store error.
func Payload(ctx context.Context, st Lookups, d store.WebhookDelivery) ([]byte, error) {
	ev := Event{ID: d.Key, Type: d.Event, At: d.At.UTC()}
	topic, _, _ := strings.Cut(d.Event, ".")
	gone := func(err error) bool { return errors.Is(err, store.ErrNotFound) }
	switch store.WebhookTopic(topic) {
	case store.TopicSMS:
		s := &SMS{ID: d.SubjectID, State: d.Value, ErrorCode: d.Code, Reason: d.Detail}
		t, err := st.Transmission(ctx, d.SubjectID)
		switch {
		case err == nil:
			s.ExternalID, s.BatchID, s.To, s.From = t.ExternalID, t.BatchID, t.Destination, t.Source
			s.MessageID, s.Segments = t.MessageID, t.Segments
			c, err := st.Client(ctx, t.ClientID)
			if err != nil && !gone(err) {
				return nil, err
			}
			s.Client = c.Name
		case !gone(err):
			return nil, err
		}
		ev.SMS = s
	case store.TopicTicket:
		tk := &Ticket{ID: d.SubjectID, Change: Change{Kind: strings.TrimPrefix(d.Event, "ticket."),
			Old: d.OldValue, New: d.Value, AgentID: d.Code}}
		t, err := st.Ticket(ctx, d.SubjectID)
		switch {
		case err == nil:
			tk.Number, tk.Title, tk.QueueID, tk.State, tk.Priority = t.Number, t.Title, t.QueueID, string(t.State), t.Priority
		case !gone(err):
			return nil, err
		}
		ev.Ticket = tk
	case store.TopicChat:
		ch := &Chat{ID: d.SubjectID, State: d.Value, Operator: d.Detail}
		c, err := st.Conversation(ctx, d.SubjectID)
		switch {
		case err == nil:
			ch.CustomerName, ch.CustomerID, ch.CustomerEmail, ch.Verified = c.CustomerName, c.CustomerID, c.CustomerEmail, c.Verified
		case !gone(err):
			return nil, err
		}
		ev.Chat = ch
	}
	return json.Marshal(ev)
}
