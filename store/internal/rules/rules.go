// Package rules holds the checks and domain rules that every store backend
// applies the same way, so that they cannot drift apart.
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-go/switchboard/store"
)

// DefaultLimit is the page size when a filter's Limit is 0.
const DefaultLimit = 100

// MaxLimit caps a filter's Limit.
const MaxLimit = 10000

// Limit returns the effective page size of a filter.
func Limit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("%w: negative limit %d", store.ErrInvalid, n)
	case n == 0:
		return DefaultLimit, nil
	case n > MaxLimit:
		return MaxLimit, nil
	}
	return n, nil
}

// Time normalizes a time to what the stores keep: UTC, microseconds.
// The zero time stays zero.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// HourEnd is Time for the end of [store.HourQuery]: the zero time (no
// end) becomes a time after any stored one.
func HourEnd(t time.Time) time.Time {
	if t.IsZero() {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return Time(t)
}

// Now is Time(time.Now()).
func Now() time.Time { return Time(time.Now()) }

// Or returns Time(t), or now when t is zero.
func Or(t time.Time) time.Time {
	if t.IsZero() {
		return Now()
	}
	return Time(t)
}

// Email lower-cases and trims an address.
func Email(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Invalid is an ErrInvalid with a reason.
func Invalid(format string, args ...any) error { return invalid(format, args...) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{store.ErrInvalid}, args...)...)
}

// Digest is the lowercase hex SHA-256 of b.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Operator checks an operator's configuration.
func Operator(o *store.Operator) error {
	if strings.TrimSpace(o.Name) == "" {
		return invalid("operator without name")
	}
	switch o.BindMode {
	case "":
		o.BindMode = store.BindTransceiver
	case store.BindTransmitter, store.BindReceiver, store.BindTransceiver, store.BindPair:
	default:
		return invalid("operator %q: bind mode %q", o.Name, o.BindMode)
	}
	if o.Port < 0 || o.Port > 65535 || o.WindowSize < 0 || o.TPS < 0 || o.Binds < 0 || o.EnquireLink < 0 || o.Weight < 0 {
		return invalid("operator %q: negative or out-of-range number", o.Name)
	}
	switch o.Kind {
	case "":
		o.Kind = store.KindSMPP
	case store.KindSMPP:
	case store.KindModem:
		m := o.Modem
		digits := func(s string) bool { return strings.Trim(s, "0123456789") == "" }
		switch {
		case strings.TrimSpace(m.Device) == "" || len(m.Device) > 256:
			return invalid("modem operator %q without its device", o.Name)
		case m.Baud < 0 || m.Baud > 4000000:
			return invalid("modem operator %q: baud rate %d", o.Name, m.Baud)
		case len(m.PIN) > 8 || !digits(m.PIN):
			return invalid("modem operator %q: the PIN is up to 8 digits", o.Name)
		case len(m.SMSC) > 21 || !digits(strings.TrimPrefix(m.SMSC, "+")):
			return invalid("modem operator %q: the SMSC number %q", o.Name, m.SMSC)
		}
	default:
		return invalid("operator %q: kind %q (want smpp or modem)", o.Name, o.Kind)
	}
	seen := map[string]bool{}
	for _, p := range o.Prefixes {
		if p == "" || seen[p] {
			return invalid("operator %q: empty or repeated prefix %q", o.Name, p)
		}
		seen[p] = true
	}
	for _, p := range o.Params {
		if p.Command == "" || p.Name == "" {
			return invalid("operator %q: parameter without command or name", o.Name)
		}
	}
	return nil
}

// Transmission checks and completes a transmission of batch b.
func Transmission(t *store.Transmission, b *store.Batch) error {
	if t.Destination == "" {
		return invalid("transmission without destination")
	}
	t.ClientID, t.BatchID = b.ClientID, b.ID
	if t.State == "" {
		t.State = store.TxQueued
	}
	if !ValidTxState(t.State) {
		return invalid("transmission state %q", t.State)
	}
	t.CreatedAt = Or(t.CreatedAt)
	t.NextAttempt = Time(t.NextAttempt)
	t.DoneAt = Time(t.DoneAt)
	if t.State.Final() && t.DoneAt.IsZero() {
		t.DoneAt = t.CreatedAt
	}
	return nil
}

// ValidTxState reports whether s is a known transmission state.
func ValidTxState(s store.TransmissionState) bool {
	switch s {
	case store.TxQueued, store.TxSubmitting, store.TxSent, store.TxDelivered, store.TxUndeliverable,
		store.TxExpired, store.TxRejected, store.TxUnknown, store.TxFailed:
		return true
	}
	return false
}

// Receipt checks a delivery receipt.
func Receipt(r *store.DeliveryReceipt) error {
	if r.MessageID == "" {
		return invalid("receipt without message id")
	}
	if r.DateTolerance < 0 {
		return invalid("receipt with a negative date tolerance")
	}
	if r.DateTolerance == 0 {
		r.DateTolerance = store.ReceiptDateTolerance
	}
	if !r.State.Final() {
		return invalid("receipt state %q is not final", r.State)
	}
	r.MessageID = MessageID(r.MessageID)
	// Stores keep microseconds: a finer time would compare otherwise in
	// Go than in SQL (a repeat not found equal, a date fitting one way
	// only).
	r.DoneAt = Or(r.DoneAt).Truncate(time.Microsecond)
	r.SubmittedAt = r.SubmittedAt.Truncate(time.Microsecond)
	return nil
}

// MessageID is how stores keep an SMSC's message id: as given when it is
// valid UTF-8 without NUL (as every real SMSC's is), else with each byte
// that is not written \xHH, so that both stores can keep it (PostgreSQL
// refuses such text, SQLite's JSON rewrites it) and a receipt carrying
// the same bytes finds it.
func MessageID(id string) string {
	if utf8.ValidString(id) && !strings.ContainsRune(id, 0) {
		return id
	}
	var b strings.Builder
	for i := 0; i < len(id); {
		r, n := utf8.DecodeRuneInString(id[i:])
		if r == 0 || r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "\\x%02x", id[i])
		} else {
			b.WriteString(id[i : i+n])
		}
		i += n
	}
	return b.String()
}

// SubmitIDs returns r with its message ids as stores keep them (see
// MessageID), without changing the caller's slice.
func SubmitIDs(r store.SubmitResult) store.SubmitResult {
	for _, id := range r.MessageIDs {
		if MessageID(id) != id {
			ids := make([]string, len(r.MessageIDs))
			for j, id := range r.MessageIDs {
				ids[j] = MessageID(id)
			}
			r.MessageIDs = ids
			return r
		}
	}
	return r
}

// Aggregate is the state of a transmission given the states of its
// segments ("" for a segment without receipt yet): the first failed
// segment's state if any failed, delivered when all were delivered, else
// sent.
func Aggregate(segments []store.TransmissionState) store.TransmissionState {
	all := len(segments) > 0
	for _, s := range segments {
		if s != "" && s != store.TxDelivered {
			return s
		}
		if s == "" {
			all = false
		}
	}
	if all {
		return store.TxDelivered
	}
	return store.TxSent
}

// Ticket checks and completes a new ticket.
func Ticket(t *store.Ticket) error {
	if t.QueueID == 0 {
		return invalid("ticket without queue")
	}
	if t.State == "" {
		t.State = store.TicketNew
	}
	if !ValidTicketState(t.State) {
		return invalid("ticket state %q", t.State)
	}
	if t.Priority == 0 {
		t.Priority = 3
	}
	if t.Priority < 1 || t.Priority > 5 {
		return invalid("ticket priority %d (want 1..5)", t.Priority)
	}
	t.CreatedAt = Or(t.CreatedAt)
	t.UpdatedAt = t.CreatedAt
	t.FirstResponseAt = Time(t.FirstResponseAt)
	t.ClosedAt = Time(t.ClosedAt)
	t.PendingUntil = Time(t.PendingUntil)
	t.MergedIntoID = 0 // a new ticket is merged into nothing
	return nil
}

// AutoResponse checks and completes an auto-response record.
func AutoResponse(r *store.AutoResponse) error {
	r.Recipient = Email(r.Recipient)
	if r.Recipient == "" {
		return invalid("auto-response without recipient")
	}
	if r.State == "" {
		r.State = store.AutoResponseSent
	}
	switch r.State {
	case store.AutoResponseSent, store.AutoResponseFailed:
	case store.AutoResponseQueued:
		if len(r.Raw) == 0 {
			return invalid("queued auto-response without a message")
		}
	default:
		return invalid("auto-response state %q", r.State)
	}
	r.SentAt = Or(r.SentAt)
	return nil
}

// Quarantined checks and completes a quarantined mail.
func Quarantined(m *store.QuarantinedMail) error {
	if m.Reason == "" {
		return invalid("quarantined mail without reason")
	}
	m.Size = int64(len(m.Raw))
	m.At = Or(m.At)
	return nil
}

// ValidTicketState reports whether s is a known ticket state.
func ValidTicketState(s store.TicketState) bool {
	switch s {
	case store.TicketNew, store.TicketOpen, store.TicketPending, store.TicketClosed:
		return true
	}
	return false
}

// Article checks and completes an article.
func Article(a *store.Article) error {
	if a.TicketID == 0 {
		return invalid("article without ticket")
	}
	return ArticleFields(a)
}

// ArticleFields is Article without the ticket: for an article whose
// ticket is written in the same transaction, after the check.
func ArticleFields(a *store.Article) error {
	switch a.Direction {
	case store.Inbound, store.Outbound:
	case store.Note:
		if a.AgentID == 0 {
			return invalid("a note without its agent")
		}
	default:
		return invalid("article direction %q", a.Direction)
	}
	a.CreatedAt = Or(a.CreatedAt)
	if a.Date.IsZero() {
		a.Date = a.CreatedAt
	}
	a.Date = Time(a.Date)
	return nil
}

// TicketAttachment sets the size and digest of an article's attachment.
func TicketAttachment(t *store.TicketAttachment) {
	if t.Data == nil {
		t.Data = []byte{} // an empty file, not a NULL (PostgreSQL's column is NOT NULL)
	}
	t.Size = int64(len(t.Data))
	t.SHA256 = Digest(t.Data)
}

// References joins and splits an article's References for storage.
func References(refs []string) string { return strings.Join(refs, " ") }

// SplitReferences is the inverse of References.
func SplitReferences(s string) []string { return strings.Fields(s) }

// Period checks a statistics period.
func Period(p store.Period) error {
	switch p {
	case store.Day, store.Week, store.Month:
		return nil
	}
	return invalid("statistics period %q", p)
}

// GroupBy checks a statistics key.
func GroupBy(g store.GroupBy) error {
	switch g {
	case store.ByQueue, store.ByCustomer:
		return nil
	}
	return invalid("statistics group %q", g)
}

// RoundMicro rounds a duration to microseconds, the stores' precision.
func RoundMicro(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// ArticleEvent is the event an article logs on its ticket, and the
// first-response time it offers (zero: none). The stores set the ticket's
// first response with COALESCE, so only the earliest offer is kept.
func ArticleEvent(a *store.Article) (store.EventKind, time.Time) {
	if a.Direction == store.Outbound && a.AgentID != 0 {
		return store.EventResponded, a.CreatedAt
	}
	return store.EventArticle, time.Time{}
}

// CreatedEvent is the event of a ticket's creation.
func CreatedEvent(t *store.Ticket) store.TicketEvent {
	return store.TicketEvent{TicketID: t.ID, Kind: store.EventCreated, AgentID: t.OwnerID, NewValue: string(t.State), At: t.CreatedAt}
}

// ArticleAdded is the event of an article added to its ticket.
func ArticleAdded(a *store.Article) store.TicketEvent {
	kind, _ := ArticleEvent(a)
	return store.TicketEvent{TicketID: a.TicketID, Kind: kind, AgentID: a.AgentID, NewValue: strconv.FormatInt(a.ID, 10), At: a.CreatedAt}
}

// StateEvents are the events of a ticket's state change from t.State to s.
func StateEvents(t store.Ticket, s store.TicketState, agentID int64, at time.Time) []store.TicketEvent {
	evs := []store.TicketEvent{{TicketID: t.ID, Kind: store.EventStateChanged, AgentID: agentID,
		OldValue: string(t.State), NewValue: string(s), At: at}}
	switch {
	case s == store.TicketClosed:
		evs = append(evs, store.TicketEvent{TicketID: t.ID, Kind: store.EventClosed, AgentID: agentID, At: at})
	case t.State == store.TicketClosed:
		evs = append(evs, store.TicketEvent{TicketID: t.ID, Kind: store.EventReopened, AgentID: agentID, At: at})
	}
	return evs
}

// Merge checks that src can be merged into dst and returns the merged
// events of both.
func Merge(src, dst store.Ticket, agentID int64, at time.Time) ([]store.TicketEvent, error) {
	if src.ID == dst.ID {
		return nil, invalid("merge ticket %d into itself", src.ID)
	}
	if src.MergedIntoID != 0 || dst.MergedIntoID != 0 {
		return nil, invalid("merge of a ticket already merged away")
	}
	e := store.TicketEvent{Kind: store.EventMerged, AgentID: agentID, OldValue: strconv.FormatInt(src.ID, 10),
		NewValue: strconv.FormatInt(dst.ID, 10), At: at}
	evs := []store.TicketEvent{e, e}
	evs[0].TicketID, evs[1].TicketID = src.ID, dst.ID
	return evs, nil
}

// ChatOperator checks an operator account and sets its times.
func ChatOperator(o *store.ChatOperator) error {
	if o.Login == "" || o.PasswordHash == "" {
		return invalid("chat operator without login or password hash")
	}
	now := Now()
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	} else {
		o.CreatedAt = Time(o.CreatedAt)
	}
	o.UpdatedAt = now
	return nil
}

// Account checks an account and sets its times.
func Account(a *store.Account) error {
	if !store.ValidLogin(a.Login) {
		return invalid("account login %q (1 to 64 letters, digits, '.', '_', '@' or '-')", a.Login)
	}
	switch a.Role {
	case store.RoleAdmin, store.RoleAgent, store.RoleChatOperator:
		if a.Client != "" {
			return invalid("account of role %s with a client (only sms accounts have one)", a.Role)
		}
	case store.RoleSMSClient:
		if a.Client == "" {
			return invalid("sms account without client")
		}
	default:
		return invalid("account role %q (admin, agent, operator or sms)", a.Role)
	}
	if a.PasswordHash == "" {
		return invalid("account without password hash")
	}
	now := Now()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	} else {
		a.CreatedAt = Time(a.CreatedAt)
	}
	a.UpdatedAt = now
	return nil
}

// APIToken checks a token record and sets its creation time.
func APIToken(t *store.APIToken) error {
	if t.Name == "" || len(t.Name) > 200 || CleanName(t.Name) != t.Name {
		return invalid("API token name %q (1 to 200 bytes of printable text)", t.Name)
	}
	if len(t.Hash) != 64 || strings.Trim(t.Hash, "0123456789abcdef") != "" {
		return invalid("API token hash (64 lower-case hex digits)")
	}
	t.CreatedAt = Or(t.CreatedAt)
	t.RevokedAt = Time(t.RevokedAt)
	return nil
}

// CleanName is s without control characters and invalid UTF-8.
func CleanName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
}

// Health prepares an operator health report: its time, its last error
// on one line of at most store.MaxHealthError bytes (cut at a rune
// boundary), and a process name.
func Health(h *store.OperatorHealth) error {
	if h.Process == "" {
		return invalid("operator health: no process")
	}
	h.ReportedAt = Or(h.ReportedAt)
	h.LastError = CutUTF8(store.CleanLine(h.LastError), store.MaxHealthError)
	h.Interval = max(h.Interval, 0)
	return nil
}

// CutUTF8 returns s cut to at most n bytes, at a rune boundary.
func CutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// HealthKeep is how long a health report is kept after it was made:
// writing a report deletes its operator's reports older than that.
const HealthKeep = 24 * time.Hour

// WebhookEndpoint checks e and sets its creation time.
func WebhookEndpoint(e *store.WebhookEndpoint) error {
	if !store.ValidLogin(e.Name) {
		return invalid("webhook endpoint name %q (1 to 64 letters, digits, '.', '_', '@' or '-')", e.Name)
	}
	u, err := url.Parse(e.URL)
	if err != nil || len(e.URL) > 2048 || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		CleanName(e.URL) != e.URL || strings.ContainsAny(e.URL, " \u007f") {
		return invalid("webhook endpoint URL %q (an absolute http or https URL of at most 2048 bytes)", e.URL)
	}
	if len(e.Secret) < 16 || len(e.Secret) > 256 || CleanName(e.Secret) != e.Secret {
		return invalid("webhook endpoint secret (16 to 256 bytes of printable text)")
	}
	if len(e.Topics) == 0 {
		return invalid("webhook endpoint without topics")
	}
	for _, t := range e.Topics {
		switch t {
		case store.TopicSMS, store.TopicTicket, store.TopicChat:
		default:
			return invalid("webhook topic %q (sms, ticket or chat)", t)
		}
	}
	if e.ClientID < 0 {
		return invalid("webhook endpoint client id %d", e.ClientID)
	}
	if e.ClientID != 0 && (len(e.Topics) != 1 || e.Topics[0] != store.TopicSMS) {
		return invalid("a webhook endpoint of one client receives sms events only (ticket and chat events are the whole platform's)")
	}
	e.CreatedAt = Or(e.CreatedAt)
	return nil
}

// WebhookAttempt checks a and sets its time.
func WebhookAttempt(a *store.WebhookAttempt) error {
	if a.ID <= 0 || a.Attempt <= 0 {
		return invalid("webhook attempt of delivery %d, attempt %d", a.ID, a.Attempt)
	}
	a.At = Or(a.At)
	a.Next = Time(a.Next)
	if len(a.Error) > 1000 {
		a.Error = a.Error[:1000]
	}
	a.Error = strings.ToValidUTF8(CleanName(a.Error), "")
	return nil
}

// DeliveryLimit is f.Limit as the stores apply it.
func DeliveryLimit(f store.WebhookDeliveryFilter) (int, error) {
	switch f.State {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed:
	default:
		return 0, invalid("webhook delivery state %q", f.State)
	}
	switch {
	case f.Limit == 0:
		return DefaultLimit, nil
	case f.Limit < 0 || f.Limit > 1000:
		return 0, invalid("webhook delivery limit %d (1 to 1000)", f.Limit)
	}
	return f.Limit, nil
}

// AttemptOutcome is what a webhook attempt leaves in its delivery: its
// state, its next attempt time (the attempt's end once it is over) and
// its delivery time (zero unless delivered).
func AttemptOutcome(a store.WebhookAttempt) (state store.DeliveryState, next, delivered time.Time) {
	switch {
	case a.Delivered:
		return store.DeliveryDelivered, a.At, a.At
	case a.Next.IsZero():
		return store.DeliveryFailed, a.At, time.Time{}
	}
	return store.DeliveryPending, a.Next, time.Time{}
}

// Secret checks a secret's name and value (see store.SecretStore).
func Secret(name string, value []byte) error {
	switch {
	case name == "" || len(name) > 64:
		return invalid("secret name %q: 1 to 64 bytes", name)
	case len(value) < 16 || len(value) > 1024:
		return invalid("secret %q: %d bytes (want 16 to 1024)", name, len(value))
	}
	return nil
}
