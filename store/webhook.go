package store

import (
	"context"
	"time"
)

// Webhooks: the store keeps an outbox of events to send to HTTP
// endpoints. The events are written by the database itself, in the
// transaction that makes the change (triggers on the transmissions, the
// ticket events and the conversations), so that no change committed is
// ever without its deliveries and no delivery exists for a change rolled
// back, whatever program made it. With no endpoint for a kind of event
// nothing is written. Package webhook sends them.

// WebhookTopic is a kind of event an endpoint receives.
type WebhookTopic string

const (
	// TopicSMS: an outbound SMS was accepted by its SMSC ("sms.sent") or
	// reached a final state ("sms.delivered", "sms.undeliverable",
	// "sms.expired", "sms.rejected", "sms.unknown", "sms.failed"): the
	// delivery reports of Kannel's dlr-url.
	TopicSMS WebhookTopic = "sms"
	// TopicTicket: every ticket event ("ticket.created", "ticket.article",
	// "ticket.responded", "ticket.assigned", "ticket.queue_changed",
	// "ticket.state_changed", "ticket.closed", "ticket.reopened",
	// "ticket.merged").
	TopicTicket WebhookTopic = "ticket"
	// TopicChat: a conversation was opened ("chat.waiting"), given to an
	// operator or transferred ("chat.active") or closed ("chat.closed").
	TopicChat WebhookTopic = "chat"
)

// WebhookEndpoint is a URL that receives events.
type WebhookEndpoint struct {
	ID   int64
	Name string // unique; letters, digits and . _ @ - (at most 64 bytes)
	// URL is an absolute http or https URL (at most 2048 bytes).
	URL string
	// Secret signs the deliveries (HMAC-SHA256); at least 16 bytes.
	Secret string
	// Topics are the kinds of events sent; at least one.
	Topics []WebhookTopic
	// ClientID limits the endpoint to the SMS of one platform client (a
	// per-client delivery-report URL): it then has TopicSMS alone. 0
	// sends every client's.
	ClientID  int64
	CreatedAt time.Time
}

// Has reports whether e receives topic t.
func (e WebhookEndpoint) Has(t WebhookTopic) bool {
	for _, x := range e.Topics {
		if x == t {
			return true
		}
	}
	return false
}

// DeliveryState is where a webhook delivery is.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"   // to be sent (again) at NextAttemptAt
	DeliveryDelivered DeliveryState = "delivered" // the endpoint answered 2xx
	DeliveryFailed    DeliveryState = "failed"    // given up; can be replayed
)

// WebhookDelivery is one event for one endpoint.
type WebhookDelivery struct {
	ID         int64
	EndpointID int64
	Event      string // "sms.delivered", "ticket.created", "chat.closed", ...
	// Key names the event, the same for every endpoint and every attempt
	// ("sms:42:delivered", "ticket_event:7", ...): receivers deduplicate
	// on it. An endpoint has at most one delivery per key.
	Key       string
	SubjectID int64 // the transmission, ticket or conversation
	// What changed, as the database recorded it with the event: for sms
	// the new state, error code and reason; for ticket the event kind,
	// its old and new values and its agent (Code); for chat the new
	// state and the operator (Detail).
	Value     string
	OldValue  string
	Code      int64
	Detail    string
	At        time.Time // when the change happened
	CreatedAt time.Time // when the delivery was written

	// Payload is the body sent, fixed at the first attempt (nil before).
	Payload  []byte
	State    DeliveryState
	Attempts int // every attempt made, replays included
	// Tries counts the attempts since the delivery was written or last
	// replayed: what a sender's retry policy looks at.
	Tries int
	// NextAttemptAt is when a pending delivery is due (or its claim's
	// lease ends); for a delivered or failed one, when its last attempt
	// ended.
	NextAttemptAt time.Time
	LastStatus    int    // the last attempt's HTTP status; 0 if none came
	LastError     string // why the last attempt failed
	DeliveredAt   time.Time
}

// WebhookAttempt is the outcome of sending a claimed delivery.
type WebhookAttempt struct {
	ID int64
	// Attempt is the delivery's Attempts as claimed: an outcome reported
	// after another claim took the delivery over is not recorded.
	Attempt int
	// Payload is stored if the delivery has none yet.
	Payload   []byte
	Delivered bool
	Status    int
	Error     string
	// Next is when to try again; zero gives the delivery up (failed).
	// Ignored when Delivered.
	Next time.Time
	At   time.Time // when the attempt ended (now when zero)
}

// WebhookDeliveryFilter selects deliveries, newest first.
type WebhookDeliveryFilter struct {
	EndpointIDs []int64 // nil: all; empty non-nil: none
	State       DeliveryState
	BeforeID    int64 // only ids below (pagination); 0: from the newest
	Limit       int   // 1 to 1000; 0 means 100
}

// WebhookStore keeps webhook endpoints and their deliveries.
type WebhookStore interface {
	// PutWebhookEndpoint creates the endpoint e (e.ID 0; ErrDuplicate when
	// its name is taken) or replaces endpoint e.ID, which must still have
	// e.Name (ErrConflict when it was deleted or renamed meanwhile: two
	// writers never both believe they made or own a name). It sets e.ID
	// and e.CreatedAt (kept on a replacement, as are the deliveries).
	// ErrInvalid for a bad name, URL, secret or topic list.
	PutWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// WebhookEndpoints lists the endpoints by name.
	WebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error)
	// DeleteWebhookEndpoint deletes the endpoint named name and its
	// deliveries. ErrNotFound if there is none.
	DeleteWebhookEndpoint(ctx context.Context, name string) error

	// ClaimWebhookDeliveries takes up to n pending deliveries due at now,
	// or none with an error,
	// oldest first, for lease: each gets Attempts+1 and NextAttemptAt
	// now+lease, so that a sender that dies leaves them to be claimed
	// again when the lease ends. Concurrent claimers (in any process)
	// get different deliveries.
	ClaimWebhookDeliveries(ctx context.Context, n int, now time.Time, lease time.Duration) ([]WebhookDelivery, error)
	// StartWebhookAttempt is called before a claimed delivery is sent:
	// it stores payload unless the delivery has one (a body is fixed
	// before it is first sent, so that every copy of an event is the
	// same), and returns the payload to send and the delivery's endpoint
	// as it is now. ErrNotFound if the delivery is gone (its endpoint was
	// deleted) or no longer pending with that attempt: then nothing must
	// be sent.
	StartWebhookAttempt(ctx context.Context, id int64, attempt int, payload []byte) ([]byte, WebhookEndpoint, error)
	// FinishWebhookDelivery records a claimed delivery's attempt.
	// ErrNotFound if the delivery is gone or no longer pending with
	// that attempt (its lease ended and another claim took it).
	FinishWebhookDelivery(ctx context.Context, a WebhookAttempt) error
	// WebhookDelivery returns one delivery, or ErrNotFound.
	WebhookDelivery(ctx context.Context, id int64) (WebhookDelivery, error)
	// WebhookDeliveries lists deliveries by f, newest first.
	WebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter) ([]WebhookDelivery, error)
	// ReplayWebhookDelivery makes a delivery pending again, due at now,
	// with its payload unchanged, and starts a new series of tries.
	// ErrNotFound if there is none. A pending delivery is only made due,
	// and not even that while an attempt is in flight (claimed, its
	// outcome not recorded): its lease stays, so that no other claim
	// takes it meanwhile.
	ReplayWebhookDelivery(ctx context.Context, id int64, now time.Time) error
	// PurgeWebhookDeliveries deletes up to limit deliveries that ended
	// (delivered or failed) before before, oldest first, and returns how
	// many. Pending deliveries are never purged.
	PurgeWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
}
