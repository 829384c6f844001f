package store

import (
	"context"
	"time"
)

// BindMode is how the gateway binds to an operator's SMSC.
type BindMode string

// Bind modes.
const (
	BindTransmitter BindMode = "tx"
	BindReceiver    BindMode = "rx"
	BindTransceiver BindMode = "trx"
	BindPair        BindMode = "tx+rx" // a transmitter and a receiver session
)

// Operator is a mobile operator's SMSC account, kept as configuration.
type Operator struct {
	ID   int64
	Name string // unique
	// Kind is how the operator is reached: KindSMPP (the zero value) or
	// KindModem. An SMPP operator's Host to Binds apply; a modem's Modem.
	Kind        OperatorKind
	Modem       ModemSettings
	Host        string
	Port        int
	SystemID    string
	Password    string
	SystemType  string
	BindMode    BindMode
	TLS         bool
	WindowSize  int           // outstanding requests per session; 0 = library default
	TPS         int           // submits per second over all binds; 0 = unlimited
	EnquireLink time.Duration // keepalive interval; 0 = library default
	Binds       int           // number of parallel binds; 0 means 1
	Default     bool          // routes numbers no prefix matches (at most one operator)
	Enabled     bool
	// Priority orders operators that take the same prefix: the gateway
	// sends through the lowest that is healthy (bound), and moves the
	// queued messages of one that is not to the next (failover).
	Priority int
	// Weight shares a prefix's messages among healthy operators of equal
	// priority, in proportion (0 counts as 1).
	Weight int

	// Params override PDU fields per command, e.g.
	// {Command: "submit_sm", Name: "service_type", Value: "CMT"}.
	Params []OperatorParam
	// Prefixes are destination prefixes (normalized, without '+') routed
	// to this operator. Several operators may take a prefix (see
	// Priority).
	Prefixes []string
	// Sources are the source numbers / short codes contracted with it.
	Sources []string

	CreatedAt time.Time
	UpdatedAt time.Time // changes on every update: watch it to reload
}

// OperatorParam is one PDU parameter override of an operator.
type OperatorParam struct {
	Command string // "submit_sm", "bind", ...
	Name    string // SMPP field name, e.g. "source_addr_ton"
	Value   string
}

// Client is a platform customer that sends batches.
type Client struct {
	ID        int64
	Name      string // unique
	CreatedAt time.Time
}

// TransmissionState is where an outbound SMS is.
type TransmissionState string

// Transmission states. Queued, Submitting and Sent are in flight; the
// others are final (a receipt may still turn Sent into one of them).
const (
	TxQueued        TransmissionState = "queued"     // waiting for a dispatcher
	TxSubmitting    TransmissionState = "submitting" // claimed by a dispatcher
	TxSent          TransmissionState = "sent"       // accepted by the SMSC
	TxDelivered     TransmissionState = "delivered"
	TxUndeliverable TransmissionState = "undeliverable"
	TxExpired       TransmissionState = "expired"
	TxRejected      TransmissionState = "rejected"
	TxUnknown       TransmissionState = "unknown" // the SMSC's receipt said so, or its outcome cannot be learned
	TxFailed        TransmissionState = "failed"  // never accepted; see Reason
)

// Final reports whether no further state change is expected for s.
func (s TransmissionState) Final() bool {
	switch s {
	case TxQueued, TxSubmitting, TxSent:
		return false
	}
	return true
}

// Batch is a set of transmissions loaded together (a client's file).
type Batch struct {
	ID        int64
	ClientID  int64
	Name      string // unique per client when not empty: loading it again reuses the batch
	Total     int    // transmissions in the batch
	CreatedAt time.Time
}

// Transmission is one outbound SMS (possibly sent in several segments).
type Transmission struct {
	ID          int64
	ExternalID  string // the client's id; unique per client when not empty
	ClientID    int64
	BatchID     int64
	OperatorID  int64 // 0 until routed
	Source      string
	Destination string
	Text        string
	State       TransmissionState
	Reason      string // why it failed, in words
	ErrorCode   int    // SMPP command_status or receipt error code
	Attempts    int    // claims so far
	Segments    int
	MessageID   string // SMSC message_id of the first segment
	NextAttempt time.Time
	CreatedAt   time.Time
	SubmittedAt time.Time
	DoneAt      time.Time
}

// SubmitResult records what the SMSC answered to a transmission's segments.
type SubmitResult struct {
	MessageIDs []string // one per segment, in order
	At         time.Time
}

// Submitted is one transmission's submit result, for RecordSubmits.
type Submitted struct {
	TransmissionID int64
	Result         SubmitResult
}

// DeliveryReceipt is an SMSC's word on a submitted segment.
type DeliveryReceipt struct {
	OperatorID int64
	MessageID  string // exactly as recorded by RecordSubmit
	State      TransmissionState
	ErrorCode  int
	DoneAt     time.Time
	// SubmittedAt is the submission the receipt names (its "submit
	// date"), zero when unknown. A waiting submission of the id recorded
	// more than ReceiptDateTolerance away from it is not the one the
	// receipt is for (the SMSC reused the id while an older message still
	// waits): the receipt is kept for the RecordSubmit of its own.
	SubmittedAt time.Time
	// DateTolerance is how far from SubmittedAt that submission may be
	// (0: ReceiptDateTolerance, for an SMSC's submit date in an unknown
	// time zone). A date written exactly (a GSM status report's service
	// centre time, with its zone) takes a small one, so that it tells
	// apart the submissions of an id reused within minutes.
	DateTolerance time.Duration
	// Raw is the receipt as received (its text), kept with a receipt
	// that matches no submission.
	Raw string
}

// ReceiptDateTolerance is how far a receipt's submit date may be from the
// recorded submission it is applied to: SMSCs write it in their own time
// zone without saying which (up to 14 hours either way) and to the minute.
const ReceiptDateTolerance = 26 * time.Hour

// PendingReceiptWindow is how long a receipt that matched no submission
// may still be applied by the RecordSubmit that brings its message id (a
// receipt can overtake its submit_sm_resp). Older ones stay aside,
// unmatched: SMSCs reuse message ids, and an old receipt must not land on
// a new message.
const PendingReceiptWindow = 10 * time.Minute

// SentSegment is a submitted segment still waiting for its receipt.
type SentSegment struct {
	TransmissionID int64
	Segment        int // 1-based
	MessageID      string
	Source         string // the transmission's; empty when the operator's default was used
	Destination    string
	SubmittedAt    time.Time
}

// ReasonStaleClaim is the Reason of a transmission that RequeueStale put
// back in the queue: whoever claims it next sends what may be a duplicate.
const ReasonStaleClaim = "requeued after a stale claim: the previous submit may have reached the SMSC"

// BatchSummary counts a batch's transmissions by state.
type BatchSummary struct {
	Batch   Batch
	ByState map[TransmissionState]int
}

// OperatorKind is how an operator is reached.
type OperatorKind string

// Operator kinds.
const (
	KindSMPP  OperatorKind = "smpp"  // an SMSC over SMPP (the default)
	KindModem OperatorKind = "modem" // a GSM modem on a serial port
)

// ModemSettings are a modem operator's: its device and how to talk to it.
// The operator's TPS caps its sending rate.
type ModemSettings struct {
	Device string // serial device, e.g. /dev/ttyUSB0
	Baud   int    // 0: 115200
	PIN    string // entered when the SIM asks; digits
	SMSC   string // service centre number; "" uses the SIM's
}

// BatchFilter selects batches for [SMSStore.Batches].
type BatchFilter struct {
	ClientID int64 // 0: every client's
	BeforeID int64 // only batches with a smaller id (the next page back); 0: from the newest
	Limit    int   // 0 means 100
}

// QueuedGroup counts a batch's queued transmissions routed to one
// operator: what a batch that does not progress is waiting for.
type QueuedGroup struct {
	OperatorID int64 // 0: not routed (no operator takes the numbers)
	Count      int
	// NextAttempt is the earliest time one of them may be claimed (a
	// time ahead: they wait to be retried after temporary errors).
	NextAttempt time.Time
}

// HourQuery selects the transmissions counted by
// [SMSStore.TransmissionHours]: created from From (inclusive) to To
// (exclusive), of one client or (ClientID 0) every client.
type HourQuery struct {
	ClientID int64
	From, To time.Time
}

// HourCount is the number of transmissions created in the hour starting
// at Start (UTC) that are now in State.
type HourCount struct {
	Start time.Time
	State TransmissionState
	Count int
}

// OperatorCount is an operator's transmissions created since a time, by
// state, and how many of them its SMSC accepted since then.
type OperatorCount struct {
	OperatorID int64
	ByState    map[TransmissionState]int
	Submitted  int // submitted_at at or after the time
}

// OperatorHealth is what a gateway process running an operator last
// reported about it (see ReportOperatorHealth), so that other processes
// (a command line, a console) can show it.
type OperatorHealth struct {
	OperatorID   int64
	Process      string // who reports, e.g. host:pid
	Bound        int    // sessions bound
	Binds        int    // sessions configured
	UnboundSince time.Time
	LastError    string  // the last session error seen ("" if none); one line, at most MaxHealthError bytes
	Throughput   float64 // transmissions accepted a second, over the last 10 s
	ReportedAt   time.Time
	// Interval is how often the process reports: a reader takes a report
	// older than three intervals for one of a process that is gone.
	Interval time.Duration
	// Stopped marks the last report of a process (or of one operator in
	// it) that stopped running the operator on purpose.
	Stopped bool
}

// MaxHealthError is the most bytes of OperatorHealth.LastError a store
// keeps; a longer one is cut at a rune boundary.
const MaxHealthError = 500

// MO is a mobile-originated message (a reply).
type MO struct {
	ID             int64
	OperatorID     int64
	From           string
	To             string // short code
	Text           string
	ReceivedAt     time.Time
	TransmissionID int64 // the last transmission sent to From, if any
}

// MOFilter selects MO messages. Zero fields do not filter.
type MOFilter struct {
	From           string
	AfterID        int64
	Since          time.Time // received at or after
	TransmissionID int64     // linked to this transmission
	Limit          int       // 0 means 100
}

// SMSStore keeps SMS operators, clients, transmissions and replies.
type SMSStore interface {
	// CreateOperator stores o with its params, prefixes and sources and
	// sets o.ID. ErrDuplicate if the name or Default is taken.
	CreateOperator(ctx context.Context, o *Operator) error
	// UpdateOperator replaces the operator's configuration, including
	// params, prefixes and sources.
	UpdateOperator(ctx context.Context, o *Operator) error
	// DeleteOperator removes an operator and its params, prefixes and
	// sources. Its transmissions keep the id.
	DeleteOperator(ctx context.Context, id int64) error
	Operator(ctx context.Context, id int64) (Operator, error)
	// Operators lists every operator, complete, by id.
	Operators(ctx context.Context) ([]Operator, error)

	// CreateClient stores c and sets c.ID (ErrDuplicate on a taken name).
	CreateClient(ctx context.Context, c *Client) error
	Client(ctx context.Context, id int64) (Client, error)
	ClientByName(ctx context.Context, name string) (Client, error)

	// CreateBatch stores a batch and its transmissions in one transaction.
	// Transmissions get State queued unless set (e.g. failed, with Reason,
	// for a number that cannot be routed; a final state without DoneAt
	// gets CreatedAt), and BatchID/ClientID from b. A transmission whose
	// (client, external id) is already stored is skipped and counted in
	// duplicates, its ID left 0; each inserted one gets its ID. A batch
	// name already used by the client reuses that batch. b.ID and b.Total
	// are set.
	CreateBatch(ctx context.Context, b *Batch, ts []Transmission) (inserted, duplicates int, err error)
	Batch(ctx context.Context, id int64) (Batch, error)
	BatchSummary(ctx context.Context, batchID int64) (BatchSummary, error)
	// LoadSummary is BatchSummary counting only the batch's transmissions
	// with ids from fromID to toID: one load of a batch loaded several
	// times (CreateBatch sets the ids). Both 0 count the whole batch.
	LoadSummary(ctx context.Context, batchID, fromID, toID int64) (BatchSummary, error)
	// LoadPending reports whether a transmission of the batch (of ids
	// fromID to toID; both 0: all) is not final yet. Unlike LoadSummary
	// it does not count: it stops at the first one, so a caller waiting
	// for a large batch can ask often. ErrNotFound for no such batch.
	LoadPending(ctx context.Context, batchID, fromID, toID int64) (bool, error)
	Transmission(ctx context.Context, id int64) (Transmission, error)

	// Batches lists batches newest first (by id descending).
	Batches(ctx context.Context, f BatchFilter) ([]Batch, error)
	// BatchQueue counts a batch's queued transmissions by operator (by
	// operator id); ErrNotFound for no such batch. It reads only the
	// queued ones, so a caller showing a batch's progress can ask often.
	BatchQueue(ctx context.Context, batchID int64) ([]QueuedGroup, error)
	// TransmissionHours counts transmissions by the hour they were
	// created in and their state now, by hour then state. It reads every
	// transmission created since From: ask for a day or a week, not for
	// years.
	TransmissionHours(ctx context.Context, q HourQuery) ([]HourCount, error)
	// BatchTransmissions lists a batch's transmissions with id above
	// afterID, by id, at most limit (0 means 100).
	BatchTransmissions(ctx context.Context, batchID, afterID int64, limit int) ([]Transmission, error)
	// OrphanedOperators lists the ids of operators no longer stored that
	// transmissions in flight (queued or sent) still name: a deleted
	// operator's messages, to route elsewhere or end. It reads the
	// queue's and the sent messages' indexes: call it now and then, not
	// per message.
	OrphanedOperators(ctx context.Context) ([]int64, error)
	// QueuedTransmissions lists an operator's queued transmissions with
	// id above afterID, by id, at most limit (0 means 100).
	QueuedTransmissions(ctx context.Context, operatorID, afterID int64, limit int) ([]Transmission, error)
	// RouteTransmission gives a queued transmission another operator
	// (ErrConflict if it is not queued).
	RouteTransmission(ctx context.Context, id, operatorID int64) error
	// ClaimTransmissions hands out up to n queued transmissions of an
	// operator whose NextAttempt is not after now, oldest first, and marks
	// them submitting. Two callers, in one process or in several sharing a
	// database, never get the same transmission.
	ClaimTransmissions(ctx context.Context, operatorID int64, n int, now time.Time) ([]Transmission, error)
	// RecordSubmit marks a submitting transmission sent with its segments'
	// message ids, and applies any receipt that arrived for them first.
	// ErrConflict if it is not submitting.
	RecordSubmit(ctx context.Context, id int64, r SubmitResult) error
	// RecordSubmits records submit results in one transaction as
	// RecordSubmit records each, with set-based statements for all:
	// errs[i] is what RecordSubmit would have returned for the i-th
	// (ErrConflict, ErrNotFound, ErrInvalid; the others recorded); err is
	// a failure of the whole, with nothing recorded.
	RecordSubmits(ctx context.Context, subs []Submitted) (errs []error, err error)
	// RetryTransmission puts a submitting transmission back in the queue
	// for another attempt at next, with the error that stopped this one.
	RetryTransmission(ctx context.Context, id int64, next time.Time, errorCode int, reason string) error
	// FailTransmission marks a transmission that is not final as failed.
	FailTransmission(ctx context.Context, id int64, errorCode int, reason string, at time.Time) error
	// EndTransmission gives a transmission that is not final the final
	// state given (ErrInvalid for one that is not final), e.g. unknown
	// for a message that may have reached the SMSC and is not sent again.
	// ErrConflict if it is final already.
	EndTransmission(ctx context.Context, id int64, state TransmissionState, errorCode int, reason string, at time.Time) error
	// RenewClaims renews, as of now, the claims on the transmissions
	// given that are still submitting (a dispatcher's heartbeat: a claim
	// that is not renewed goes stale) and returns how many it renewed.
	RenewClaims(ctx context.Context, ids []int64, now time.Time) (int, error)
	// RequeueStale returns transmissions claimed (or last renewed)
	// before the cutoff and never recorded (a dispatcher died) to the
	// queue, with Reason
	// ReasonStaleClaim. Their submit may have reached the SMSC: this is
	// where at-least-once comes from.
	RequeueStale(ctx context.Context, claimedBefore time.Time) (int, error)
	// ApplyReceipt records a delivery receipt. It matches the operator's
	// most recent submission of that message id (SMSCs reuse ids: after
	// a restart, when a counter wraps) if that segment has no receipt
	// yet: it updates the segment and the transmission (final once every
	// segment is final; any failed segment fails it) and returns it with
	// matched true. A receipt never changes a segment that has one; the
	// same receipt again (state and done time as that segment has them:
	// its acknowledgment was lost and the SMSC delivered it again) is a
	// duplicate: matched, nothing changes, nothing is kept.
	// Otherwise (an unknown id, or the most recent submission already
	// has its receipt: a duplicate, or one for a submission not yet
	// recorded) the receipt is kept, with Raw, and matched is false; the
	// RecordSubmit that brings its message id within
	// PendingReceiptWindow applies it.
	ApplyReceipt(ctx context.Context, r DeliveryReceipt) (t Transmission, matched bool, err error)
	// ApplyReceipts applies receipts in one transaction as ApplyReceipt
	// applies each, and reports for each whether it matched. It is the
	// group-commit form of ApplyReceipt: the common case (the one
	// submission of its id waiting, in one segment) takes a few
	// set-based statements for all. The outcome is the one of applying
	// them one after the other in the order given. ErrInvalid, with
	// nothing applied, if one of them is invalid.
	ApplyReceipts(ctx context.Context, rs []DeliveryReceipt) (matched []bool, err error)
	// UnsettledSegments lists an operator's segments without a receipt,
	// of transmissions in state sent submitted before the time given,
	// with transmission id above afterID, by transmission id and segment,
	// at most limit (0 means 100): what to ask the SMSC about (query_sm),
	// or give up on.
	UnsettledSegments(ctx context.Context, operatorID int64, submittedBefore time.Time, afterID int64, limit int) ([]SentSegment, error)
	// OperatorCounts counts transmissions created at or after since, per
	// operator (ascending id) and state, with the number submitted since
	// then. It scans the transmissions of the period: a statistics query.
	OperatorCounts(ctx context.Context, since time.Time) ([]OperatorCount, error)
	// ReportOperatorHealth stores h, replacing the previous report of
	// the same process on the same operator.
	ReportOperatorHealth(ctx context.Context, h OperatorHealth) error
	// OperatorHealths lists the reports made at or after since, by
	// operator id and process.
	OperatorHealths(ctx context.Context, since time.Time) ([]OperatorHealth, error)
	// LastTransmissionTo returns the newest transmission to a destination.
	LastTransmissionTo(ctx context.Context, destination string) (Transmission, error)
	// LastClientTransmissionTo returns the newest transmission of one
	// client to a destination.
	LastClientTransmissionTo(ctx context.Context, clientID int64, destination string) (Transmission, error)

	// InsertMO stores a reply and sets m.ID. If m.TransmissionID is 0 it
	// is linked to the last transmission sent to m.From from m.To (the
	// short code the reply went to), or else to the last one sent to
	// m.From, if any (not queued, submitting or failed).
	InsertMO(ctx context.Context, m *MO) error
	// MOs lists replies by ascending id. Ids are committed in order, so
	// polling with AfterID set to the last id seen misses none.
	MOs(ctx context.Context, f MOFilter) ([]MO, error)
}
