// Package mailfloor writes what mail ingestion leaves in a SQLite
// database in the cheapest form there is: the floor no ingestion can
// beat, measured by store/sqlite's BenchmarkMailWriteFloor and by
// bench/mail beside the real pipeline.
package mailfloor

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// Sizes of what one 10 KB customer mail of bench/mail leaves in the
// database (measured on an ingest): its article's text and HTML, the
// automatic reply's article and the raw reply waiting in the outbox.
var (
	text  = strings.ToValidUTF8(strings.Repeat("El sistema de facturación no responde desde esta mañana. ", 80)[:4650], "")
	html  = strings.Repeat("<p>El sistema de facturaci&oacute;n no responde.</p> ", 62)[:3250]
	reply = strings.Repeat("Hemos recibido su mensaje. ", 10)[:250]
	raw   = []byte(strings.Repeat("X-Header: a header of the reply\r\n", 26)[:850])
)

// Batch is the mails per transaction, as mailticket's IMAP source.
const Batch = 100

// WriteBatch writes mails first+1 .. first+Batch in the cheapest form
// there is: one transaction, one multi-row INSERT per table, no reads.
// db is a connection to a database with the store's schema and a queue
// of id 1.
func WriteBatch(ctx context.Context, db *sql.DB, first int) error {
	var customers, tickets, articles, events, receipts, outbox values
	for i := first + 1; i <= first+Batch; i++ {
		customers.add("(?, 'Customer', 'company.example', 1)", fmt.Sprintf("customer%d@company.example", i%300))
		customerID := i % 300 // the ids the customers get in the order they first appear
		if customerID == 0 {
			customerID = 300
		}
		tickets.add("(?, ?, 'Incidencia', 1, 'new', 3, ?, 1, 1)", i, fmt.Sprintf("20261122%07d", i), customerID)
		articles.add("(?, ?, 'in', ?, 'customer@company.example', 'Incidencia', ?, ?, 1, 1)",
			2*i, i, fmt.Sprintf("bench-%d@company.example", i), text, html)
		articles.add("(?, ?, 'out', ?, 'support@example.net', 'Re: Incidencia', ?, '', 1, 1)",
			2*i+1, i, fmt.Sprintf("reply-%d@support.example.net", i), reply)
		events.add("(?, 'created', 'new', 1)", i)
		events.add("(?, 'article', ?, 1)", i, fmt.Sprint(2*i))
		events.add("(?, 'article', ?, 1)", i, fmt.Sprint(2*i+1))
		receipts.add("(?, ?, ?, ?, 1)", fmt.Sprintf("imap/bench/INBOX/1/%d", i), fmt.Sprintf("<bench-%d@company.example>/%064d", i, i), i, 2*i)
		outbox.add("(?, 'customer@company.example', 'new-ticket', 1, ?, 'queued')", i, raw)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range []struct {
		head string
		v    *values
		tail string
	}{
		{`INSERT INTO ticket_customers (email, name, company, created_at) VALUES `, &customers,
			` ON CONFLICT (email) DO UPDATE SET name = excluded.name`},
		{`INSERT INTO tickets (id, number, title, queue_id, state, priority, customer_id, created_at, updated_at) VALUES `, &tickets, ""},
		{`INSERT INTO ticket_articles (id, ticket_id, direction, message_id, from_addr, subject, body_text, body_html,
			sent_at, created_at) VALUES `, &articles, ""},
		{`INSERT INTO ticket_events (ticket_id, kind, new_value, at) VALUES `, &events, ""},
		{`INSERT INTO mail_receipts (source_key, content_key, ticket_id, article_id, received_at) VALUES `, &receipts, ""},
		{`INSERT INTO auto_responses (ticket_id, recipient, template, sent_at, raw, state) VALUES `, &outbox, ""},
	} {
		if _, err := tx.ExecContext(ctx, s.head+strings.Join(s.v.rows, ", ")+s.tail, s.v.args...); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_counters (day, last) VALUES ('20261122', ?)
		ON CONFLICT (day) DO UPDATE SET last = last + excluded.last`, Batch); err != nil {
		return err
	}
	return tx.Commit()
}

// values collects the rows of a multi-row INSERT.
type values struct {
	rows []string
	args []any
}

func (v *values) add(row string, args ...any) {
	v.rows = append(v.rows, row)
	v.args = append(v.args, args...)
}

// IngestThroughStore stores the i-th mail through the store's methods.
func IngestThroughStore(ctx context.Context, tx store.Ops, queueID int64, i int) error {
	now := time.Now()
	c, err := tx.UpsertCustomer(ctx, store.Customer{Email: fmt.Sprintf("customer%d@company.example", i%300),
		Name: "Customer", Company: "company.example"})
	if err != nil {
		return err
	}
	number, err := tx.NextTicketNumber(ctx, now)
	if err != nil {
		return err
	}
	_, err = tx.IngestMail(ctx, store.MailIngest{
		Receipt: store.MailReceipt{SourceKey: fmt.Sprintf("imap/bench/INBOX/1/%d", i),
			ContentKey: fmt.Sprintf("<bench-%d@company.example>/%064d", i, i)},
		NewTicket: &store.Ticket{Number: number, Title: "Incidencia", QueueID: queueID, CustomerID: c.ID},
		Article: store.Article{Direction: store.Inbound, MessageID: fmt.Sprintf("bench-%d@company.example", i),
			From: c.Email, Subject: "Incidencia", TextBody: text, HTMLBody: html},
		Reply: &store.Article{Direction: store.Outbound, MessageID: fmt.Sprintf("reply-%d@support.example.net", i),
			From: "support@example.net", Subject: "Re: Incidencia", TextBody: reply},
		AutoResponse: &store.AutoResponse{Recipient: c.Email, Template: "new-ticket", SentAt: now,
			MessageID: fmt.Sprintf("reply-%d@support.example.net", i), Raw: raw, State: store.AutoResponseQueued},
	})
	return err
}

// Measure writes n mails (a multiple of Batch) into a new database in
// dir and returns mails a second.
func Measure(ctx context.Context, dir string, n int) (float64, error) {
	path := filepath.Join(dir, "floor.db")
	st, err := sqlite.Open(ctx, path, nil) // the schema
	if err != nil {
		return 0, err
	}
	defer st.Close()
	db, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO ticket_queues (name, created_at) VALUES ('Inbox', 1)`); err != nil {
		return 0, err
	}
	start := time.Now()
	for first := 0; first < n; first += Batch {
		if err := WriteBatch(ctx, db, first); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// Open opens the database at path with the store's writer settings, on a
// connection of its own.
func Open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
