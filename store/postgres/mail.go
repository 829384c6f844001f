package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// Auto-response outbox ---------------------------------------------------------

func (o *ops) RecordAutoResponse(ctx context.Context, r *store.AutoResponse) error {
	if err := rules.AutoResponse(r); err != nil {
		return err
	}
	return wrap("record auto-response", o.write(ctx, func(o *ops) error {
		return o.tx.QueryRow(ctx, `INSERT INTO auto_responses (ticket_id, recipient, template, sent_at, message_id,
			sender, raw, state, attempts, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			r.TicketID, r.Recipient, r.Template, tm(r.SentAt), r.MessageID, r.Sender, r.Raw, r.State, r.Attempts,
			r.Error).Scan(&r.ID)
	}))
}

func (o *ops) QueuedAutoResponses(ctx context.Context, limit int) ([]store.AutoResponse, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.AutoResponseCols+`, raw FROM auto_responses
		WHERE state = 'queued' ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, wrap("queued auto-responses", err)
	}
	return collect(rows, scan.AutoResponseWithRaw, "queued auto-responses")
}

func (o *ops) ClaimAutoResponses(ctx context.Context, sender string, limit int, lease time.Duration) ([]store.AutoResponse, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	if lease <= 0 {
		return nil, wrap("claim auto-responses", rules.Invalid("claim lease %v", lease))
	}
	var out []store.AutoResponse
	err = o.write(ctx, func(o *ops) error {
		now := rules.Now()
		// SKIP LOCKED: a concurrent claim takes other rows, never waits
		// for these nor gets them.
		rows, err := o.tx.Query(ctx, `UPDATE auto_responses SET claimed_until = $1, claimed_by = $2
			WHERE id IN (SELECT id FROM auto_responses WHERE state = 'queued'
				AND (claimed_until IS NULL OR claimed_until <= $3 OR claimed_by = $2) ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING `+scan.AutoResponseCols+`, raw`, now.Add(lease), sender, now, limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, scan.AutoResponseWithRaw, "claim auto-responses")
		return err
	})
	slices.SortFunc(out, func(a, b store.AutoResponse) int { return cmp.Compare(a.ID, b.ID) })
	return out, wrap("claim auto-responses", err)
}

func (o *ops) MarkAutoResponse(ctx context.Context, id int64, s store.AutoResponseState, errText string) error {
	if s != store.AutoResponseSent && s != store.AutoResponseFailed && s != store.AutoResponseQueued {
		return rules.Invalid("auto-response state %q", s)
	}
	return wrap("mark auto-response", o.write(ctx, func(o *ops) error {
		return affected(o.tx.Exec(ctx, `UPDATE auto_responses SET state = $1, last_error = $2, attempts = attempts + 1,
			raw = CASE WHEN $3::text = 'queued' THEN raw ELSE NULL END, claimed_until = NULL WHERE id = $4`, s, errText, s, id))
	}))
}

// Quarantine ---------------------------------------------------------------------

func (o *ops) QuarantineMail(ctx context.Context, m *store.QuarantinedMail) error {
	if err := rules.Quarantined(m); err != nil {
		return err
	}
	return wrap("quarantine mail", o.write(ctx, func(o *ops) error {
		// ON CONFLICT DO NOTHING: a duplicate must not abort an enclosing
		// transaction.
		err := o.tx.QueryRow(ctx, `INSERT INTO mail_quarantine (source_key, reason, size, raw, at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id`, scan.NullStr(m.SourceKey), m.Reason, m.Size, nonNil(m.Raw), tm(m.At)).Scan(&m.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("mail %q already quarantined: %w", m.SourceKey, store.ErrDuplicate)
		}
		return err
	}))
}

func (o *ops) QuarantinedMails(ctx context.Context, afterID int64, limit int) ([]store.QuarantinedMail, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.QuarantineCols+` FROM mail_quarantine WHERE id > $1 ORDER BY id LIMIT $2`,
		afterID, limit)
	if err != nil {
		return nil, wrap("quarantined mails", err)
	}
	return collect(rows, scan.Quarantined, "quarantined mails")
}

func (o *ops) QuarantinedMailData(ctx context.Context, id int64) (store.QuarantinedMail, error) {
	m, err := scan.QuarantinedWithRaw(o.q().QueryRow(ctx, `SELECT `+scan.QuarantineCols+`, raw FROM mail_quarantine WHERE id = $1`, id))
	return m, wrap("quarantined mail", err)
}

// Pending reminders and merges -------------------------------------------------

func (o *ops) SetTicketPending(ctx context.Context, ticketID int64, until time.Time, agentID int64, at time.Time) error {
	at = rules.Or(at)
	return wrap("set ticket pending", o.write(ctx, func(o *ops) error {
		if err := o.SetTicketState(ctx, ticketID, store.TicketPending, agentID, at); err != nil {
			return err
		}
		return affected(o.tx.Exec(ctx, `UPDATE tickets SET pending_until = $1 WHERE id = $2`, tm(rules.Time(until)), ticketID))
	}))
}

func (o *ops) DueReminders(ctx context.Context, now time.Time, limit int) ([]store.Ticket, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.TicketCols+` FROM tickets
		WHERE state = 'pending' AND pending_until IS NOT NULL AND pending_until <= $1 ORDER BY pending_until, id LIMIT $2`,
		tm0(rules.Time(now)), limit)
	if err != nil {
		return nil, wrap("due reminders", err)
	}
	return collect(rows, scan.Ticket, "due reminders")
}

func (o *ops) MergeTicket(ctx context.Context, from, into int64, agentID int64, at time.Time) error {
	at = rules.Or(at)
	return wrap("merge ticket", o.write(ctx, func(o *ops) error {
		src, err := o.Ticket(ctx, from)
		if err != nil {
			return err
		}
		dst, err := o.Ticket(ctx, into)
		if err != nil {
			return err
		}
		evs, err := rules.Merge(src, dst, agentID, at)
		if err != nil {
			return err
		}
		for _, q := range []string{
			`UPDATE ticket_articles SET ticket_id = $1 WHERE ticket_id = $2`,
			`UPDATE mail_receipts SET ticket_id = $1 WHERE ticket_id = $2`,
			`UPDATE auto_responses SET ticket_id = $1 WHERE ticket_id = $2`,
		} {
			if _, err := o.tx.Exec(ctx, q, into, from); err != nil {
				return err
			}
		}
		if err := o.SetTicketState(ctx, from, store.TicketClosed, agentID, at); err != nil {
			return err
		}
		if _, err := o.tx.Exec(ctx, `UPDATE tickets SET merged_into_id = $1, updated_at = GREATEST(updated_at, $2) WHERE id = $3`,
			into, tm(at), from); err != nil {
			return err
		}
		if _, err := o.tx.Exec(ctx, `UPDATE tickets SET updated_at = GREATEST(updated_at, $1) WHERE id = $2`, tm(at), into); err != nil {
			return err
		}
		for _, e := range evs {
			if err := o.event(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}))
}
