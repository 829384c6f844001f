package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// Queues, customers, agents ------------------------------------------------

func (o *ops) CreateQueue(ctx context.Context, q *store.Queue) error {
	if q.Name == "" {
		return fmt.Errorf("%w: queue without name", store.ErrInvalid)
	}
	q.CreatedAt = rules.Or(q.CreatedAt)
	return wrap("create queue", o.write(ctx, func(o *ops) error {
		var err error
		q.ID, err = o.insert(ctx, `INSERT INTO ticket_queues (name, created_at) VALUES (?, ?)`, q.Name, tm(q.CreatedAt))
		return err
	}))
}

func (o *ops) QueueByName(ctx context.Context, name string) (store.Queue, error) {
	q, err := scan.Queue(o.q().QueryRowContext(ctx, `SELECT `+scan.QueueCols+` FROM ticket_queues WHERE name = ?`, name))
	return q, wrap("queue", err)
}

func (o *ops) Queues(ctx context.Context) ([]store.Queue, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.QueueCols+` FROM ticket_queues ORDER BY id`)
	if err != nil {
		return nil, wrap("queues", err)
	}
	return collect(rows, scan.Queue, "queues")
}

func (o *ops) UpsertCustomer(ctx context.Context, c store.Customer) (store.Customer, error) {
	c.Email = rules.Email(c.Email)
	if c.Email == "" {
		return c, fmt.Errorf("%w: customer without e-mail", store.ErrInvalid)
	}
	c.CreatedAt = rules.Or(c.CreatedAt)
	err := o.write(ctx, func(o *ops) error {
		var err error
		c, err = scan.Customer(o.w().QueryRowContext(ctx, `INSERT INTO ticket_customers (email, name, company, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (email) DO UPDATE SET
				name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE ticket_customers.name END,
				company = CASE WHEN excluded.company <> '' THEN excluded.company ELSE ticket_customers.company END
			RETURNING `+scan.CustomerCols, c.Email, c.Name, c.Company, tm(c.CreatedAt)))
		return err
	})
	return c, wrap("upsert customer", err)
}

func (o *ops) Customer(ctx context.Context, id int64) (store.Customer, error) {
	return o.customer(ctx, "id", id)
}

func (o *ops) CustomerByEmail(ctx context.Context, email string) (store.Customer, error) {
	return o.customer(ctx, "email", rules.Email(email))
}

func (o *ops) customer(ctx context.Context, col string, v any) (store.Customer, error) {
	c, err := scan.Customer(o.q().QueryRowContext(ctx, `SELECT `+scan.CustomerCols+` FROM ticket_customers WHERE `+col+` = ?`, v))
	return c, wrap("customer", err)
}

func (o *ops) CreateAgent(ctx context.Context, a *store.Agent) error {
	a.Email = rules.Email(a.Email)
	if a.Email == "" || a.Name == "" {
		return fmt.Errorf("%w: agent without name or e-mail", store.ErrInvalid)
	}
	a.CreatedAt = rules.Or(a.CreatedAt)
	return wrap("create agent", o.write(ctx, func(o *ops) error {
		var err error
		a.ID, err = o.insert(ctx, `INSERT INTO ticket_agents (name, email, phone, created_at) VALUES (?, ?, ?, ?)`,
			a.Name, a.Email, a.Phone, tm(a.CreatedAt))
		return err
	}))
}

func (o *ops) Agents(ctx context.Context) ([]store.Agent, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.AgentCols+` FROM ticket_agents ORDER BY id`)
	if err != nil {
		return nil, wrap("agents", err)
	}
	return collect(rows, scan.Agent, "agents")
}

// Tickets -----------------------------------------------------------------

func (o *ops) NextTicketNumber(ctx context.Context, day time.Time) (string, error) {
	day = rules.Or(day)
	var n int64
	err := o.write(ctx, func(o *ops) error {
		return o.w().QueryRowContext(ctx, `INSERT INTO ticket_counters (day, last) VALUES (?, 1)
			ON CONFLICT (day) DO UPDATE SET last = ticket_counters.last + 1 RETURNING last`, day.Format("20060102")).Scan(&n)
	})
	if err != nil {
		return "", wrap("next ticket number", err)
	}
	return store.TicketNumber(day, n), nil
}

func (o *ops) CreateTicket(ctx context.Context, t *store.Ticket) error {
	if err := rules.Ticket(t); err != nil {
		return err
	}
	return wrap("create ticket", o.write(ctx, func(o *ops) error {
		if t.Number == "" {
			n, err := o.NextTicketNumber(ctx, t.CreatedAt)
			if err != nil {
				return err
			}
			t.Number = n
		}
		if err := o.insertTicket(ctx, t); err != nil {
			return err
		}
		return o.event(ctx, rules.CreatedEvent(t))
	}))
}

// insertTicket writes a checked ticket with a number and sets its id.
func (o *ops) insertTicket(ctx context.Context, t *store.Ticket) error {
	var err error
	t.ID, err = o.insert(ctx, `INSERT INTO tickets (number, title, queue_id, state, priority, customer_id,
		owner_id, linked_ticket_id, created_at, updated_at, first_response_at, closed_at, pending_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Number, t.Title, t.QueueID, t.State, t.Priority, scan.NullID(t.CustomerID), scan.NullID(t.OwnerID), scan.NullID(t.LinkedTicketID),
		tm(t.CreatedAt), tm(t.UpdatedAt), tm(t.FirstResponseAt), tm(t.ClosedAt), tm(t.PendingUntil))
	return err
}

func (o *ops) event(ctx context.Context, e store.TicketEvent) error {
	return o.events(ctx, []store.TicketEvent{e})
}

// events writes events in order, in one statement.
func (o *ops) events(ctx context.Context, es []store.TicketEvent) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO ticket_events (ticket_id, kind, agent_id, old_value, new_value, at) VALUES `)
	args := make([]any, 0, 6*len(es))
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, e.TicketID, e.Kind, e.AgentID, e.OldValue, e.NewValue, tm(rules.Or(e.At)))
	}
	_, err := o.w().ExecContext(ctx, b.String(), args...)
	return err
}

func (o *ops) Ticket(ctx context.Context, id int64) (store.Ticket, error) {
	return o.ticketWhere(ctx, `id = ?`, id)
}

func (o *ops) TicketByNumber(ctx context.Context, number string) (store.Ticket, error) {
	return o.ticketWhere(ctx, `number = ?`, number)
}

func (o *ops) TicketByMessageID(ctx context.Context, messageID string) (store.Ticket, error) {
	if messageID == "" {
		return store.Ticket{}, fmt.Errorf("sqlite: ticket by message id: %w", store.ErrNotFound)
	}
	// message_id <> '' lets the partial index on message_id serve the lookup.
	return o.ticketWhere(ctx, `id = (SELECT ticket_id FROM ticket_articles WHERE message_id = ? AND message_id <> '' ORDER BY id LIMIT 1)`, messageID)
}

func (o *ops) ticketWhere(ctx context.Context, cond string, arg any) (store.Ticket, error) {
	t, err := scan.Ticket(o.q().QueryRowContext(ctx, `SELECT `+scan.TicketCols+` FROM tickets WHERE `+cond, arg))
	return t, wrap("ticket", err)
}

func (o *ops) Tickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error) {
	limit, err := rules.Limit(f.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.TicketCols+` FROM tickets WHERE id > ?
		AND (? = 0 OR queue_id = ?) AND (? = 0 OR customer_id = ?) AND (? = '' OR state = ?) ORDER BY id LIMIT ?`,
		f.AfterID, f.QueueID, f.QueueID, f.CustomerID, f.CustomerID, f.State, f.State, limit)
	if err != nil {
		return nil, wrap("tickets", err)
	}
	return collect(rows, scan.Ticket, "tickets")
}

// Articles ------------------------------------------------------------------

func (o *ops) AddArticle(ctx context.Context, a *store.Article, atts []store.TicketAttachment) error {
	if err := rules.Article(a); err != nil {
		return err
	}
	// No read of the ticket first: a missing one fails the insert's
	// foreign key (ErrNotFound).
	return wrap("add article", o.write(ctx, func(o *ops) error {
		if err := o.insertArticle(ctx, a, atts); err != nil {
			return err
		}
		_, firstResponse := rules.ArticleEvent(a)
		if _, err := o.w().ExecContext(ctx, `UPDATE tickets SET updated_at = MAX(updated_at, ?),
			first_response_at = COALESCE(first_response_at, ?) WHERE id = ?`,
			tm(a.CreatedAt), tm(firstResponse), a.TicketID); err != nil {
			return err
		}
		return o.event(ctx, rules.ArticleAdded(a))
	}))
}

// insertArticle writes a checked article and its attachments and sets
// their ids; the ticket's times and events are the caller's.
func (o *ops) insertArticle(ctx context.Context, a *store.Article, atts []store.TicketAttachment) error {
	var err error
	if a.ID, err = o.insert(ctx, `INSERT INTO ticket_articles (ticket_id, direction, agent_id, message_id,
		in_reply_to, refs, from_addr, to_addr, cc_addr, subject, body_text, body_html, sent_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.TicketID, a.Direction, scan.NullID(a.AgentID), a.MessageID, a.InReplyTo, rules.References(a.References), a.From,
		a.To, a.Cc, a.Subject, a.TextBody, a.HTMLBody, tm(a.Date), tm(a.CreatedAt)); err != nil {
		return err
	}
	for i := range atts {
		at := &atts[i]
		rules.TicketAttachment(at)
		at.ArticleID = a.ID
		if _, err := o.w().ExecContext(ctx, `INSERT OR IGNORE INTO attachment_data (sha256, size, data) VALUES (?, ?, ?)`,
			at.SHA256, at.Size, at.Data); err != nil {
			return err
		}
		if at.ID, err = o.insert(ctx, `INSERT INTO ticket_attachments (article_id, name, media_type,
			content_id, size, sha256) VALUES (?, ?, ?, ?, ?, ?)`,
			at.ArticleID, at.Name, at.MediaType, at.ContentID, at.Size, at.SHA256); err != nil {
			return err
		}
	}
	return nil
}

func (o *ops) Articles(ctx context.Context, ticketID int64) ([]store.Article, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.ArticleCols+` FROM ticket_articles WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, wrap("articles", err)
	}
	return collect(rows, scan.Article, "articles")
}

func (o *ops) TicketAttachments(ctx context.Context, articleID int64) ([]store.TicketAttachment, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.TicketAttachmentCols+` FROM ticket_attachments WHERE article_id = ? ORDER BY id`, articleID)
	if err != nil {
		return nil, wrap("ticket attachments", err)
	}
	return collect(rows, scan.TicketAttachment, "ticket attachments")
}

func (o *ops) TicketAttachment(ctx context.Context, id int64) (store.TicketAttachment, error) {
	var a store.TicketAttachment
	err := o.q().QueryRowContext(ctx, `SELECT a.id, a.article_id, a.name, a.media_type, a.content_id, a.size, a.sha256, d.data
		FROM ticket_attachments a JOIN attachment_data d ON d.sha256 = a.sha256 WHERE a.id = ?`, id).
		Scan(&a.ID, &a.ArticleID, &a.Name, &a.MediaType, &a.ContentID, &a.Size, &a.SHA256, &a.Data)
	return a, wrap("ticket attachment", err)
}

// Mail ingestion ---------------------------------------------------------------

func (o *ops) IngestMail(ctx context.Context, in store.MailIngest) (store.IngestResult, error) {
	var res store.IngestResult
	if in.Receipt.SourceKey == "" && in.Receipt.ContentKey == "" {
		return res, fmt.Errorf("%w: mail receipt without key", store.ErrInvalid)
	}
	err := o.write(ctx, func(o *ops) error {
		if old, err := o.MailReceipt(ctx, in.Receipt.SourceKey, in.Receipt.ContentKey); err == nil {
			res.Receipt = old
			return fmt.Errorf("mail already ingested as article %d: %w", old.ArticleID, store.ErrDuplicate)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if in.NewTicket != nil && !in.Reopen {
			return o.ingestNew(ctx, &in, &res)
		}
		if in.NewTicket != nil {
			if err := o.CreateTicket(ctx, in.NewTicket); err != nil {
				return err
			}
			in.TicketID = in.NewTicket.ID
		}
		in.Article.TicketID = in.TicketID
		if err := o.AddArticle(ctx, &in.Article, in.Attachments); err != nil {
			return err
		}
		if in.Reopen {
			if err := o.SetTicketState(ctx, in.TicketID, store.TicketOpen, 0, in.Article.CreatedAt); err != nil {
				return err
			}
		}
		if in.Reply != nil {
			in.Reply.TicketID = in.TicketID
			if err := o.AddArticle(ctx, in.Reply, nil); err != nil {
				return err
			}
		}
		if in.AutoResponse != nil {
			in.AutoResponse.TicketID = in.TicketID
			if err := o.RecordAutoResponse(ctx, in.AutoResponse); err != nil {
				return err
			}
		}
		r, err := o.receipt(ctx, &in)
		if err != nil {
			return err
		}
		t, err := o.Ticket(ctx, in.TicketID)
		res = store.IngestResult{Ticket: t, Article: in.Article, Receipt: r}
		return err
	})
	return res, wrap("ingest mail", err)
}

// ingestNew is IngestMail for a mail that opens a ticket: the ticket is
// written with the times its articles give it and its events in one
// statement, and the result is not read back (8 statements, not 13).
// The outcome is the one of CreateTicket, AddArticle and
// RecordAutoResponse made one after the other (storetest
// IngestMailNewTicketAsSteps compares them).
func (o *ops) ingestNew(ctx context.Context, in *store.MailIngest, res *store.IngestResult) error {
	t := in.NewTicket
	if err := rules.Ticket(t); err != nil {
		return err
	}
	arts := []*store.Article{&in.Article}
	if in.Reply != nil {
		arts = append(arts, in.Reply)
	}
	for _, a := range arts {
		if err := rules.ArticleFields(a); err != nil {
			return err
		}
		if a.CreatedAt.After(t.UpdatedAt) {
			t.UpdatedAt = a.CreatedAt
		}
		if _, first := rules.ArticleEvent(a); t.FirstResponseAt.IsZero() {
			t.FirstResponseAt = first
		}
	}
	if in.AutoResponse != nil {
		if err := rules.AutoResponse(in.AutoResponse); err != nil {
			return err
		}
	}
	if t.Number == "" {
		n, err := o.NextTicketNumber(ctx, t.CreatedAt)
		if err != nil {
			return err
		}
		t.Number = n
	}
	if err := o.insertTicket(ctx, t); err != nil {
		return err
	}
	in.TicketID = t.ID
	evs := []store.TicketEvent{rules.CreatedEvent(t)}
	for i, a := range arts {
		a.TicketID = t.ID
		var atts []store.TicketAttachment
		if i == 0 {
			atts = in.Attachments
		}
		if err := o.insertArticle(ctx, a, atts); err != nil {
			return err
		}
		evs = append(evs, rules.ArticleAdded(a))
	}
	if err := o.events(ctx, evs); err != nil {
		return err
	}
	if in.AutoResponse != nil {
		in.AutoResponse.TicketID = t.ID
		if err := o.RecordAutoResponse(ctx, in.AutoResponse); err != nil {
			return err
		}
	}
	r, err := o.receipt(ctx, in)
	if err != nil {
		return err
	}
	*res = store.IngestResult{Ticket: *t, Article: in.Article, Receipt: r}
	return nil
}

// receipt records that in was stored.
func (o *ops) receipt(ctx context.Context, in *store.MailIngest) (store.MailReceipt, error) {
	r := in.Receipt
	r.TicketID, r.ArticleID, r.ReceivedAt = in.TicketID, in.Article.ID, rules.Or(r.ReceivedAt)
	_, err := o.w().ExecContext(ctx, `INSERT INTO mail_receipts (source_key, content_key, ticket_id, article_id,
		received_at) VALUES (?, ?, ?, ?, ?)`, scan.NullStr(r.SourceKey), scan.NullStr(r.ContentKey), r.TicketID, r.ArticleID,
		tm(r.ReceivedAt))
	return r, err
}

func (o *ops) MailReceipt(ctx context.Context, sourceKey, contentKey string) (store.MailReceipt, error) {
	if sourceKey == "" && contentKey == "" {
		return store.MailReceipt{}, fmt.Errorf("sqlite: mail receipt: %w", store.ErrNotFound)
	}
	r, err := scan.Receipt(o.q().QueryRowContext(ctx, `SELECT `+scan.ReceiptCols+` FROM mail_receipts WHERE source_key = ? OR content_key = ? ORDER BY id LIMIT 1`,
		scan.NullStr(sourceKey), scan.NullStr(contentKey)))
	return r, wrap("mail receipt", err)
}

// State, owner, queue ------------------------------------------------------------

func (o *ops) SetTicketState(ctx context.Context, ticketID int64, s store.TicketState, agentID int64, at time.Time) error {
	if !rules.ValidTicketState(s) {
		return fmt.Errorf("%w: ticket state %q", store.ErrInvalid, s)
	}
	at = rules.Or(at)
	return wrap("set ticket state", o.write(ctx, func(o *ops) error {
		t, err := o.Ticket(ctx, ticketID)
		if err != nil || t.State == s {
			return err
		}
		closedAt := t.ClosedAt
		if s == store.TicketClosed {
			closedAt = at
		}
		if _, err := o.w().ExecContext(ctx, `UPDATE tickets SET state = ?, closed_at = ?, updated_at = MAX(updated_at, ?),
			pending_until = NULL WHERE id = ?`, s, tm(closedAt), tm(at), ticketID); err != nil {
			return err
		}
		for _, e := range rules.StateEvents(t, s, agentID, at) {
			if err := o.event(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}))
}

func (o *ops) AssignTicket(ctx context.Context, ticketID, agentID int64, at time.Time) error {
	return o.changeTicket(ctx, "assign ticket", ticketID, "owner_id", agentID, store.EventAssigned, agentID, at)
}

func (o *ops) MoveTicket(ctx context.Context, ticketID, queueID, agentID int64, at time.Time) error {
	if queueID == 0 {
		return fmt.Errorf("%w: move to queue 0", store.ErrInvalid)
	}
	return o.changeTicket(ctx, "move ticket", ticketID, "queue_id", queueID, store.EventQueueChanged, agentID, at)
}

// changeTicket sets a reference column of a ticket and logs the change.
func (o *ops) changeTicket(ctx context.Context, what string, ticketID int64, col string, v int64, kind store.EventKind,
	agentID int64, at time.Time) error {
	at = rules.Or(at)
	return wrap(what, o.write(ctx, func(o *ops) error {
		var old int64
		if err := o.w().QueryRowContext(ctx, `SELECT `+col+` FROM tickets WHERE id = ?`, ticketID).Scan(scan.ID(&old)); err != nil {
			return err
		}
		if old == v {
			return nil
		}
		if _, err := o.w().ExecContext(ctx, `UPDATE tickets SET `+col+` = ?, updated_at = MAX(updated_at, ?) WHERE id = ?`,
			scan.NullID(v), tm(at), ticketID); err != nil {
			return err
		}
		return o.event(ctx, store.TicketEvent{TicketID: ticketID, Kind: kind, AgentID: agentID,
			OldValue: strconv.FormatInt(old, 10), NewValue: strconv.FormatInt(v, 10), At: at})
	}))
}

func (o *ops) TicketEvents(ctx context.Context, ticketID int64) ([]store.TicketEvent, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.EventCols+` FROM ticket_events WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, wrap("ticket events", err)
	}
	return collect(rows, scan.Event, "ticket events")
}

// Auto-responses ---------------------------------------------------------------

func (o *ops) CountAutoResponses(ctx context.Context, recipient string, since time.Time) (int, error) {
	var n int
	err := o.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM auto_responses WHERE recipient = ? AND sent_at >= ?`,
		rules.Email(recipient), tm0(rules.Time(since))).Scan(&n)
	return n, wrap("count auto-responses", err)
}
