package store

import (
	"context"
	"time"
)

// Queue is a ticket queue.
type Queue struct {
	ID        int64
	Name      string // unique
	CreatedAt time.Time
}

// Customer is a person who writes to support, identified by address.
type Customer struct {
	ID        int64
	Email     string // unique, stored lower-cased
	Name      string
	Company   string // usually the e-mail domain
	CreatedAt time.Time
}

// Agent is a support agent.
type Agent struct {
	ID        int64
	Name      string
	Email     string // unique, stored lower-cased
	Phone     string
	CreatedAt time.Time
}

// TicketState is where a ticket is in its life.
type TicketState string

// Ticket states.
const (
	TicketNew     TicketState = "new"     // nobody has worked on it
	TicketOpen    TicketState = "open"    // in progress
	TicketPending TicketState = "pending" // waiting for the customer or a third party
	TicketClosed  TicketState = "closed"
)

// Ticket is a support case.
type Ticket struct {
	ID              int64
	Number          string // see TicketNumber; allocated by the store when empty
	Title           string
	QueueID         int64
	State           TicketState
	Priority        int   // 1 (lowest) to 5 (highest); 0 means 3
	CustomerID      int64 // 0 if unknown
	OwnerID         int64 // agent; 0 if unassigned
	LinkedTicketID  int64 // a related earlier ticket, if any
	CreatedAt       time.Time
	UpdatedAt       time.Time
	FirstResponseAt time.Time // first outbound article by an agent
	ClosedAt        time.Time // last time it was closed
	// PendingUntil is when a pending ticket wants attention again (see
	// [TicketStore.SetTicketPending] and [TicketStore.DueReminders]).
	PendingUntil time.Time
	// MergedIntoID is the ticket this one was merged into (it is then
	// closed and has no articles left).
	MergedIntoID int64
}

// Direction of an article.
type Direction string

// Article directions.
const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
	// Note is an agent's internal note: never mailed, shown to agents
	// only, not a response to the customer. It needs its AgentID.
	Note Direction = "note"
)

// Article is one mail (or note) of a ticket.
type Article struct {
	ID         int64
	TicketID   int64
	Direction  Direction
	AgentID    int64  // the author of an outbound article; 0 for automatic ones
	MessageID  string // without angle brackets
	InReplyTo  string
	References []string
	From       string
	To         string
	Cc         string
	Subject    string
	TextBody   string
	HTMLBody   string
	Date       time.Time // the mail's Date header (or receipt time)
	CreatedAt  time.Time
}

// TicketAttachment is a file of an article. Data is filled only by
// [TicketStore.TicketAttachment].
type TicketAttachment struct {
	ID        int64
	ArticleID int64
	Name      string
	MediaType string
	ContentID string // for inline parts
	Size      int64
	SHA256    string // lowercase hex, computed by the store
	// Data is kept once per SHA256 however many attachments carry it
	// (the logo in every mail of a thread is stored once).
	Data []byte
}

// MailReceipt records that a mail was turned into an article, under the
// keys that identify it. At least one key must be set; each is unique.
type MailReceipt struct {
	// SourceKey identifies the mail at its source: account, mailbox,
	// UIDVALIDITY and UID (or POP3 UIDL, or Maildir name).
	SourceKey string
	// ContentKey identifies the mail by content: Message-ID and body
	// digest, for sources without stable ids and for the same mail
	// fetched twice through different mailboxes.
	ContentKey string
	TicketID   int64
	ArticleID  int64
	ReceivedAt time.Time
}

// MailIngest is everything one inbound mail changes, stored together by
// [TicketStore.IngestMail].
type MailIngest struct {
	Receipt MailReceipt
	// NewTicket, when not nil, is created (number allocated if empty) and
	// the article goes into it; otherwise the article is a follow-up of
	// TicketID.
	NewTicket   *Ticket
	TicketID    int64
	Article     Article
	Attachments []TicketAttachment
	// Reopen sets a closed ticket back to open (with a reopened event).
	Reopen bool
	// Reply, when not nil, is an outbound article (an automatic reply)
	// stored after Article; AutoResponse, when not nil, is queued for the
	// same ticket. Everything commits together or nothing does, so a reply
	// is never lost nor queued twice.
	Reply        *Article
	AutoResponse *AutoResponse
}

// IngestResult is what [TicketStore.IngestMail] stored.
type IngestResult struct {
	Ticket  Ticket
	Article Article
	Receipt MailReceipt // on ErrDuplicate: the receipt already stored
}

// EventKind is what happened to a ticket.
type EventKind string

// Ticket event kinds.
const (
	EventCreated      EventKind = "created"
	EventArticle      EventKind = "article"   // an inbound article was added
	EventResponded    EventKind = "responded" // an outbound article was added
	EventAssigned     EventKind = "assigned"
	EventQueueChanged EventKind = "queue_changed"
	EventStateChanged EventKind = "state_changed"
	EventClosed       EventKind = "closed"
	EventReopened     EventKind = "reopened"
	EventMerged       EventKind = "merged" // OldValue: the ticket merged away, NewValue: the one kept
)

// TicketEvent is one entry of a ticket's history.
type TicketEvent struct {
	ID       int64
	TicketID int64
	Kind     EventKind
	AgentID  int64  // who did it; 0 for the system
	OldValue string // e.g. the previous state or queue id
	NewValue string
	At       time.Time
}

// AutoResponseState is where an automatic reply is on its way out.
type AutoResponseState string

// Auto-response states.
const (
	AutoResponseQueued AutoResponseState = "queued" // stored, not yet handed to the mail server
	AutoResponseSent   AutoResponseState = "sent"
	AutoResponseFailed AutoResponseState = "failed" // given up; Error says why
)

// AutoResponse is one automatic reply. It is both the outbox (Raw is the
// message to send while State is queued) and the log that loop protection
// counts: every row counts, whatever its state.
type AutoResponse struct {
	ID        int64
	TicketID  int64
	Recipient string // lower-cased address
	Template  string
	SentAt    time.Time // when it was queued (loop protection counts from here)
	MessageID string    // of the reply, without angle brackets
	Sender    string    // envelope sender ("" for the null sender)
	Raw       []byte    // the message; filled only by QueuedAutoResponses
	State     AutoResponseState
	Attempts  int
	Error     string // the last delivery error
}

// QuarantinedMail is a mail that could not be turned into an article: too
// large, unparseable or empty. The raw bytes are kept for a person to look
// at.
type QuarantinedMail struct {
	ID        int64
	SourceKey string // as in MailReceipt; unique when set
	Reason    string
	Size      int64
	Raw       []byte // filled only by QuarantinedMailData
	At        time.Time
}

// TicketFilter selects tickets. Zero fields do not filter.
type TicketFilter struct {
	QueueID    int64
	CustomerID int64
	State      TicketState
	AfterID    int64
	Limit      int // 0 means 100
}

// Period is the bucket size of statistics.
type Period string

// Statistics periods. Buckets start at 00:00 UTC; weeks start on Monday.
const (
	Day   Period = "day"
	Week  Period = "week"
	Month Period = "month"
)

// GroupBy is the key of ticket counts.
type GroupBy string

// Ticket count keys.
const (
	ByQueue    GroupBy = "queue"
	ByCustomer GroupBy = "customer"
)

// CountQuery asks for ticket counts per period and key, over events in
// [From, To).
type CountQuery struct {
	From, To time.Time
	Period   Period
	GroupBy  GroupBy
}

// TicketCount is one row of [TicketStore.TicketCounts]: tickets created
// and closed in the period starting at Start, for one queue or customer.
type TicketCount struct {
	Start   time.Time
	KeyID   int64  // queue or customer id (0: tickets without customer)
	Key     string // queue name or customer e-mail
	Created int
	Closed  int
}

// DurationStats summarizes durations; Median and P90 interpolate linearly
// between the nearest ranks (as PostgreSQL's percentile_cont).
type DurationStats struct {
	Count  int
	Median time.Duration
	P90    time.Duration
}

// ResponseQuery selects the tickets created in [From, To) (of one queue if
// QueueID is set) for [TicketStore.ResponseTimes].
type ResponseQuery struct {
	From, To time.Time
	QueueID  int64
}

// ResponseTimes are the first-response times (of tickets that had one) and
// resolution times (of tickets closed now) of a set of tickets.
type ResponseTimes struct {
	FirstResponse DurationStats
	Resolution    DurationStats
}

// BacklogRow counts the tickets of a queue that are not closed.
type BacklogRow struct {
	QueueID int64
	Queue   string
	New     int
	Open    int
	Pending int
}

// TicketStore keeps queues, customers, agents, tickets, their articles,
// history and mail receipts.
type TicketStore interface {
	// CreateQueue stores q and sets q.ID (ErrDuplicate on a taken name).
	CreateQueue(ctx context.Context, q *Queue) error
	QueueByName(ctx context.Context, name string) (Queue, error)
	Queues(ctx context.Context) ([]Queue, error)

	// UpsertCustomer returns the customer with c.Email, creating it if
	// needed; a non-empty Name or Company updates the stored one.
	UpsertCustomer(ctx context.Context, c Customer) (Customer, error)
	Customer(ctx context.Context, id int64) (Customer, error)
	CustomerByEmail(ctx context.Context, email string) (Customer, error)
	// CreateAgent stores a and sets a.ID (ErrDuplicate on a taken e-mail).
	CreateAgent(ctx context.Context, a *Agent) error
	Agents(ctx context.Context) ([]Agent, error)

	// NextTicketNumber allocates the next ticket number of day's date
	// (UTC). Numbers are unique, also across processes sharing a database.
	NextTicketNumber(ctx context.Context, day time.Time) (string, error)
	// CreateTicket stores t (allocating a number when t.Number is empty,
	// State defaulting to new) and logs a created event.
	CreateTicket(ctx context.Context, t *Ticket) error
	Ticket(ctx context.Context, id int64) (Ticket, error)
	TicketByNumber(ctx context.Context, number string) (Ticket, error)
	// TicketByMessageID finds the ticket one of whose articles has this
	// Message-ID.
	TicketByMessageID(ctx context.Context, messageID string) (Ticket, error)
	Tickets(ctx context.Context, f TicketFilter) ([]Ticket, error)

	// AddArticle stores a and its attachments (setting their ids). An
	// outbound article by an agent sets the ticket's first response time
	// if unset and logs a responded event; an inbound one logs article.
	AddArticle(ctx context.Context, a *Article, atts []TicketAttachment) error
	Articles(ctx context.Context, ticketID int64) ([]Article, error)
	// TicketAttachments lists an article's attachments without data.
	TicketAttachments(ctx context.Context, articleID int64) ([]TicketAttachment, error)
	TicketAttachment(ctx context.Context, id int64) (TicketAttachment, error)

	// IngestMail stores an inbound mail in one transaction: the ticket if
	// new, the article, its attachments, the events and the receipt. If a
	// receipt with the same SourceKey or ContentKey exists it stores
	// nothing and fails with ErrDuplicate, result.Receipt being the
	// stored receipt.
	IngestMail(ctx context.Context, in MailIngest) (IngestResult, error)
	// MailReceipt finds a receipt by either key ("" keys are ignored).
	MailReceipt(ctx context.Context, sourceKey, contentKey string) (MailReceipt, error)
	// KnownMailKeys returns those of keys that a mail receipt has as its
	// SourceKey or ContentKey, each once, in no order: what MailReceipt
	// would find, asked for a batch of mails at once. "" is never known.
	KnownMailKeys(ctx context.Context, keys []string) ([]string, error)
	// KnownMessageIDs returns those of ids that an article has as its
	// Message-ID, each once, in no order: what TicketByMessageID would
	// find, asked for a batch of mails at once. "" is never known.
	KnownMessageIDs(ctx context.Context, ids []string) ([]string, error)

	// SetTicketState changes the state, logging state_changed and, when
	// it closes or reopens, closed or reopened. Setting the current state
	// is a no-op.
	SetTicketState(ctx context.Context, id int64, s TicketState, agentID int64, at time.Time) error
	// AssignTicket sets the owner (0 to unassign) and logs assigned.
	AssignTicket(ctx context.Context, id, agentID int64, at time.Time) error
	// MoveTicket changes the queue and logs queue_changed.
	MoveTicket(ctx context.Context, id, queueID int64, agentID int64, at time.Time) error
	// TicketEvents returns a ticket's history, oldest first.
	TicketEvents(ctx context.Context, ticketID int64) ([]TicketEvent, error)

	// RecordAutoResponse logs an automatic reply and sets r.ID. The state
	// defaults to sent; a queued one must carry Raw.
	RecordAutoResponse(ctx context.Context, r *AutoResponse) error
	// QueuedAutoResponses returns up to limit queued replies with their
	// bytes, oldest first.
	QueuedAutoResponses(ctx context.Context, limit int) ([]AutoResponse, error)
	// ClaimAutoResponses returns up to limit queued replies with their
	// bytes, oldest first, that no other sender holds a claim on, and
	// claims them for sender (a name unique to the caller) for lease:
	// two senders, in any processes on the store, never get the same
	// reply at once. A sender gets its own claims again (a reply whose
	// mark failed). One that dies with its claims leaves them to another
	// once the lease ends (a reply it sent but did not mark may then go
	// twice).
	ClaimAutoResponses(ctx context.Context, sender string, limit int, lease time.Duration) ([]AutoResponse, error)
	// MarkAutoResponse records a delivery attempt: state sent, failed, or
	// queued again (with errText) to be retried; attempts are counted,
	// and a claim (ClaimAutoResponses) ends.
	MarkAutoResponse(ctx context.Context, id int64, s AutoResponseState, errText string) error

	// QuarantineMail keeps a mail that could not be ingested and sets m.ID.
	// A mail with the same SourceKey already kept fails with ErrDuplicate.
	QuarantineMail(ctx context.Context, m *QuarantinedMail) error
	// QuarantinedMails lists kept mails after afterID, without Raw.
	QuarantinedMails(ctx context.Context, afterID int64, limit int) ([]QuarantinedMail, error)
	// QuarantinedMailData returns one kept mail with its bytes.
	QuarantinedMailData(ctx context.Context, id int64) (QuarantinedMail, error)

	// SetTicketPending sets a ticket pending until a reminder time (zero:
	// no reminder), logging the state change when there is one.
	SetTicketPending(ctx context.Context, id int64, until time.Time, agentID int64, at time.Time) error
	// DueReminders returns pending tickets whose reminder time is at or
	// before now, earliest first.
	DueReminders(ctx context.Context, now time.Time, limit int) ([]Ticket, error)
	// MergeTicket moves every article of ticket from into ticket into,
	// closes from with MergedIntoID set and logs merged on both. Mail
	// receipts follow the articles, so a follow-up of either threads into
	// the kept ticket.
	MergeTicket(ctx context.Context, from, into int64, agentID int64, at time.Time) error
	// CountAutoResponses counts replies sent to recipient since a time.
	CountAutoResponses(ctx context.Context, recipient string, since time.Time) (int, error)

	// TicketCounts counts created and closed events per period and key,
	// ordered by Start then KeyID; periods and keys with no events are
	// left out.
	TicketCounts(ctx context.Context, q CountQuery) ([]TicketCount, error)
	// ResponseTimes computes first-response and resolution statistics.
	ResponseTimes(ctx context.Context, q ResponseQuery) (ResponseTimes, error)
	// Backlog counts tickets not closed, per queue, ordered by queue id.
	Backlog(ctx context.Context) ([]BacklogRow, error)
}
