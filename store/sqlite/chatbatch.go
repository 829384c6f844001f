package sqlite

import (
	"context"
	"slices"
	"strings"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// Rows per statement of AppendMessages: SQLite allows 32,766 parameters.
const (
	batchConvs  = 500 // ids in one IN list
	batchKeys   = 200 // dedup keys (4 parameters each)
	batchInsert = 200 // message rows (9 parameters each)
)

func (o *ops) AppendMessages(ctx context.Context, ms []store.Message) ([]store.AppendResult, error) {
	var plan *rules.AppendPlan
	err := o.write(ctx, func(o *ops) error {
		// Retries are rare: insert without looking for stored duplicates
		// first; when the unique index refuses one, undo to the savepoint
		// and start over with the lookup.
		if _, err := o.w().ExecContext(ctx, `SAVEPOINT append_messages`); err != nil {
			return err
		}
		plan = rules.NewAppendPlan(ms)
		err := o.appendPlan(ctx, plan, false)
		if isUnique(err) {
			if _, err := o.w().ExecContext(ctx, `ROLLBACK TO append_messages`); err != nil {
				return err
			}
			plan = rules.NewAppendPlan(ms)
			err = o.appendPlan(ctx, plan, true)
		}
		if err != nil {
			_, _ = o.w().ExecContext(ctx, `ROLLBACK TO append_messages`) // the error returned says more
		}
		if _, rerr := o.w().ExecContext(ctx, `RELEASE append_messages`); err == nil {
			err = rerr
		}
		return err
	})
	if err != nil {
		return nil, wrap("append messages", err)
	}
	return plan.Results(), nil
}

// appendPlan loads what plan needs (stored duplicates only when lookup is
// set), then inserts its messages and moves the conversations' last
// sequence numbers.
func (o *ops) appendPlan(ctx context.Context, plan *rules.AppendPlan, lookup bool) error {
	if err := o.loadConversations(ctx, plan); err != nil {
		return err
	}
	if lookup {
		if err := o.loadDuplicates(ctx, plan); err != nil {
			return err
		}
	}
	inserts, seqs := plan.Assign()
	for chunk := range slices.Chunk(inserts, batchInsert) {
		args := make([]any, 0, 9*len(chunk))
		for _, m := range chunk {
			args = append(args, m.ConversationID, m.Seq, scan.NullStr(m.ClientMsgID), m.SenderRole, m.SenderID, m.Kind,
				m.Text, scan.NullID(m.AttachmentID), tm(m.CreatedAt))
		}
		if _, err := o.w().ExecContext(ctx, `INSERT INTO chat_messages (`+scan.MessageCols+`) VALUES `+
			placeholders(len(chunk), 9), args...); err != nil {
			return err
		}
	}
	for chunk := range slices.Chunk(plan.Touched(), batchConvs) {
		args := make([]any, 0, 2*len(chunk))
		for _, id := range chunk {
			args = append(args, id, seqs[id])
		}
		if _, err := o.w().ExecContext(ctx, `UPDATE chat_conversations SET last_seq = v.column2
			FROM (VALUES `+placeholders(len(chunk), 2)+`) AS v WHERE chat_conversations.id = v.column1`, args...); err != nil {
			return err
		}
	}
	return nil
}

// loadConversations reads the state and last sequence number of every
// conversation of the plan.
func (o *ops) loadConversations(ctx context.Context, plan *rules.AppendPlan) error {
	for chunk := range slices.Chunk(plan.Conversations(), batchConvs) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := o.w().QueryContext(ctx, `SELECT id, state, last_seq FROM chat_conversations WHERE id IN `+
			placeholders(1, len(chunk)), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, last int64
			var state store.ConversationState
			if err := rows.Scan(&id, &state, &last); err != nil {
				rows.Close()
				return err
			}
			plan.SetConversation(id, state, last)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// loadDuplicates reads the stored messages whose client ids the plan's
// messages repeat.
func (o *ops) loadDuplicates(ctx context.Context, plan *rules.AppendPlan) error {
	for chunk := range slices.Chunk(plan.DedupKeys(), batchKeys) {
		args := make([]any, 0, 4*len(chunk))
		for _, k := range chunk {
			args = append(args, k.ConversationID, k.SenderRole, k.SenderID, k.ClientMsgID)
		}
		// The keys drive the join, each one a lookup in the unique index on
		// client ids (a row-value IN over VALUES scanned the table).
		rows, err := o.w().QueryContext(ctx, `WITH k(c, r, s, i) AS (VALUES `+placeholders(len(chunk), 4)+`)
			SELECT m.conversation_id, m.seq, m.client_msg_id, m.sender_role, m.sender_id, m.kind, m.body, m.attachment_id,
				m.created_at FROM k CROSS JOIN chat_messages AS m
			WHERE m.conversation_id = k.c AND m.sender_role = k.r AND m.sender_id = k.s AND m.client_msg_id = k.i
				AND m.client_msg_id IS NOT NULL`, args...)
		if err != nil {
			return err
		}
		stored, err := collect(rows, scan.Message, "append messages")
		if err != nil {
			return err
		}
		for _, m := range stored {
			plan.SetStored(m)
		}
	}
	return nil
}

// placeholders is "(?, ?), (?, ?)" for rows of n parameters.
func placeholders(rows, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	var b strings.Builder
	b.Grow(rows * (len(row) + 2))
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
