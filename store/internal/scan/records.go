package scan

import (
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
)

// Column lists, in the order the scan functions below expect.
const (
	ConversationCols = `id, customer_name, customer_id, customer_email, operator_id, state, last_seq, opened_at, assigned_at, closed_at, verified, left_message`
	MessageCols      = `conversation_id, seq, client_msg_id, sender_role, sender_id, kind, body, attachment_id, created_at`
	AttachmentCols   = `id, conversation_id, name, media_type, size, sha256, created_at`
	OperatorCols     = `id, name, host, port, system_id, password, system_type, bind_mode, tls, window_size, tps,
	enquire_link_us, binds, is_default, enabled, created_at, updated_at, priority, weight, kind, device, baud, pin, smsc`
	TransmissionCols = `id, external_id, client_id, batch_id, operator_id, source, destination, body, state, reason,
	error_code, attempts, segments, message_id, next_attempt_at, created_at, submitted_at, done_at`
	MOCols       = `id, operator_id, source, short_code, body, received_at, transmission_id`
	QueueCols    = `id, name, created_at`
	CustomerCols = `id, email, name, company, created_at`
	AgentCols    = `id, name, email, phone, created_at`
	TicketCols   = `id, number, title, queue_id, state, priority, customer_id, owner_id, linked_ticket_id, created_at,
	updated_at, first_response_at, closed_at, pending_until, merged_into_id`
	ArticleCols = `id, ticket_id, direction, agent_id, message_id, in_reply_to, refs, from_addr, to_addr, cc_addr,
	subject, body_text, body_html, sent_at, created_at`
	TicketAttachmentCols = `id, article_id, name, media_type, content_id, size, sha256`
	ReceiptCols          = `source_key, content_key, ticket_id, article_id, received_at`
	EventCols            = `id, ticket_id, kind, agent_id, old_value, new_value, at`
	AutoResponseCols     = `id, ticket_id, recipient, template, sent_at, message_id, sender, state, attempts, last_error`
	QuarantineCols       = `id, source_key, reason, size, at`
)

// AutoResponse scans AutoResponseCols (no raw bytes).
func AutoResponse(sc Row) (store.AutoResponse, error) {
	var r store.AutoResponse
	err := sc.Scan(&r.ID, &r.TicketID, &r.Recipient, &r.Template, Time(&r.SentAt), &r.MessageID, &r.Sender, &r.State,
		&r.Attempts, &r.Error)
	return r, err
}

// AutoResponseWithRaw scans AutoResponseCols followed by raw.
func AutoResponseWithRaw(sc Row) (store.AutoResponse, error) {
	var r store.AutoResponse
	err := sc.Scan(&r.ID, &r.TicketID, &r.Recipient, &r.Template, Time(&r.SentAt), &r.MessageID, &r.Sender, &r.State,
		&r.Attempts, &r.Error, &r.Raw)
	return r, err
}

// QuarantinedWithRaw scans QuarantineCols followed by raw.
func QuarantinedWithRaw(sc Row) (store.QuarantinedMail, error) {
	var m store.QuarantinedMail
	err := sc.Scan(&m.ID, Str(&m.SourceKey), &m.Reason, &m.Size, Time(&m.At), &m.Raw)
	return m, err
}

// Quarantined scans QuarantineCols (no raw bytes).
func Quarantined(sc Row) (store.QuarantinedMail, error) {
	var m store.QuarantinedMail
	err := sc.Scan(&m.ID, Str(&m.SourceKey), &m.Reason, &m.Size, Time(&m.At))
	return m, err
}

func Conversation(sc Row) (store.Conversation, error) {
	var c store.Conversation
	err := sc.Scan(&c.ID, &c.CustomerName, &c.CustomerID, &c.CustomerEmail, &c.OperatorID, &c.State, &c.LastSeq,
		Time(&c.OpenedAt), Time(&c.AssignedAt), Time(&c.ClosedAt), &c.Verified, &c.LeftMessage)
	return c, err
}

func Message(sc Row) (store.Message, error) {
	var m store.Message
	err := sc.Scan(&m.ConversationID, &m.Seq, Str(&m.ClientMsgID), &m.SenderRole, &m.SenderID, &m.Kind, &m.Text,
		ID(&m.AttachmentID), Time(&m.CreatedAt))
	return m, err
}

// Attachment scans AttachmentCols (no data).
func Attachment(sc Row) (store.Attachment, error) {
	var a store.Attachment
	err := sc.Scan(&a.ID, &a.ConversationID, &a.Name, &a.MediaType, &a.Size, &a.SHA256, Time(&a.CreatedAt))
	return a, err
}

func Operator(sc Row) (store.Operator, error) {
	var o store.Operator
	var el int64
	err := sc.Scan(&o.ID, &o.Name, &o.Host, &o.Port, &o.SystemID, &o.Password, &o.SystemType, &o.BindMode, &o.TLS,
		&o.WindowSize, &o.TPS, &el, &o.Binds, &o.Default, &o.Enabled, Time(&o.CreatedAt), Time(&o.UpdatedAt),
		&o.Priority, &o.Weight, &o.Kind, &o.Modem.Device, &o.Modem.Baud, &o.Modem.PIN, &o.Modem.SMSC)
	o.EnquireLink = time.Duration(el) * time.Microsecond
	return o, err
}

func Transmission(sc Row) (store.Transmission, error) {
	var t store.Transmission
	err := sc.Scan(&t.ID, Str(&t.ExternalID), &t.ClientID, ID(&t.BatchID), &t.OperatorID, &t.Source, &t.Destination,
		&t.Text, &t.State, &t.Reason, &t.ErrorCode, &t.Attempts, &t.Segments, &t.MessageID, Time(&t.NextAttempt),
		Time(&t.CreatedAt), Time(&t.SubmittedAt), Time(&t.DoneAt))
	return t, err
}

func MO(sc Row) (store.MO, error) {
	var m store.MO
	err := sc.Scan(&m.ID, &m.OperatorID, &m.From, &m.To, &m.Text, Time(&m.ReceivedAt), &m.TransmissionID)
	return m, err
}

func Queue(sc Row) (store.Queue, error) {
	var q store.Queue
	err := sc.Scan(&q.ID, &q.Name, Time(&q.CreatedAt))
	return q, err
}

func Customer(sc Row) (store.Customer, error) {
	var c store.Customer
	err := sc.Scan(&c.ID, &c.Email, &c.Name, &c.Company, Time(&c.CreatedAt))
	return c, err
}

func Agent(sc Row) (store.Agent, error) {
	var a store.Agent
	err := sc.Scan(&a.ID, &a.Name, &a.Email, &a.Phone, Time(&a.CreatedAt))
	return a, err
}

func Ticket(sc Row) (store.Ticket, error) {
	var t store.Ticket
	err := sc.Scan(&t.ID, &t.Number, &t.Title, &t.QueueID, &t.State, &t.Priority, ID(&t.CustomerID),
		ID(&t.OwnerID), ID(&t.LinkedTicketID), Time(&t.CreatedAt), Time(&t.UpdatedAt), Time(&t.FirstResponseAt),
		Time(&t.ClosedAt), Time(&t.PendingUntil), ID(&t.MergedIntoID))
	return t, err
}

func Article(sc Row) (store.Article, error) {
	var a store.Article
	var refs string
	err := sc.Scan(&a.ID, &a.TicketID, &a.Direction, ID(&a.AgentID), &a.MessageID, &a.InReplyTo, &refs, &a.From,
		&a.To, &a.Cc, &a.Subject, &a.TextBody, &a.HTMLBody, Time(&a.Date), Time(&a.CreatedAt))
	a.References = rules.SplitReferences(refs)
	return a, err
}

// TicketAttachment scans TicketAttachmentCols (no data).
func TicketAttachment(sc Row) (store.TicketAttachment, error) {
	var a store.TicketAttachment
	err := sc.Scan(&a.ID, &a.ArticleID, &a.Name, &a.MediaType, &a.ContentID, &a.Size, &a.SHA256)
	return a, err
}

func Receipt(sc Row) (store.MailReceipt, error) {
	var r store.MailReceipt
	err := sc.Scan(Str(&r.SourceKey), Str(&r.ContentKey), &r.TicketID, &r.ArticleID, Time(&r.ReceivedAt))
	return r, err
}

func Event(sc Row) (store.TicketEvent, error) {
	var e store.TicketEvent
	err := sc.Scan(&e.ID, &e.TicketID, &e.Kind, &e.AgentID, &e.OldValue, &e.NewValue, Time(&e.At))
	return e, err
}

// Backlog scans a backlog row: queue id, name, new, open, pending.
func Backlog(sc Row) (store.BacklogRow, error) {
	var b store.BacklogRow
	err := sc.Scan(&b.QueueID, &b.Queue, &b.New, &b.Open, &b.Pending)
	return b, err
}

// SentSegmentCols are the columns SentSegment reads, of sms_segments s
// joined with sms_transmissions t.
const SentSegmentCols = `s.transmission_id, s.segment, s.message_id, t.source, t.destination, t.submitted_at`

func SentSegment(sc Row) (store.SentSegment, error) {
	var g store.SentSegment
	err := sc.Scan(&g.TransmissionID, &g.Segment, &g.MessageID, &g.Source, &g.Destination, Time(&g.SubmittedAt))
	return g, err
}

// BatchCols are the columns Batch reads.
const BatchCols = `id, client_id, name, total, created_at`

func Batch(sc Row) (store.Batch, error) {
	var b store.Batch
	err := sc.Scan(&b.ID, &b.ClientID, &b.Name, &b.Total, Time(&b.CreatedAt))
	return b, err
}

// QueuedGroup reads operator_id, COUNT(*), MIN(next_attempt_at).
func QueuedGroup(sc Row) (store.QueuedGroup, error) {
	var g store.QueuedGroup
	err := sc.Scan(ID(&g.OperatorID), &g.Count, Time(&g.NextAttempt))
	return g, err
}

// HourCount reads an hour's start, a state and a count.
func HourCount(sc Row) (store.HourCount, error) {
	var h store.HourCount
	err := sc.Scan(Time(&h.Start), &h.State, &h.Count)
	return h, err
}
