package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

func (o *ops) CreateConversation(ctx context.Context, c *store.Conversation) error {
	if err := store.PrepareConversation(c); err != nil {
		return err
	}
	err := o.write(ctx, func(o *ops) error {
		return o.tx.QueryRow(ctx, `INSERT INTO chat_conversations
			(customer_name, customer_id, customer_email, operator_id, state, opened_at, assigned_at, closed_at, verified, left_message)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			c.CustomerName, c.CustomerID, c.CustomerEmail, c.OperatorID, c.State,
			tm(c.OpenedAt), tm(c.AssignedAt), tm(c.ClosedAt), c.Verified, c.LeftMessage).Scan(&c.ID)
	})
	return wrap("create conversation", err)
}

func (o *ops) Conversation(ctx context.Context, id int64) (store.Conversation, error) {
	c, err := scan.Conversation(o.q().QueryRow(ctx, `SELECT `+scan.ConversationCols+` FROM chat_conversations WHERE id = $1`, id))
	return c, wrap("conversation", err)
}

func (o *ops) Conversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	limit, err := rules.Limit(f.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.ConversationCols+` FROM chat_conversations
		WHERE id > $1 AND ($2 = '' OR state = $3) AND ($4 = '' OR operator_id = $5) AND ($6 = '' OR customer_id = $7)
		ORDER BY id LIMIT $8`,
		f.AfterID, f.State, f.State, f.OperatorID, f.OperatorID, f.CustomerID, f.CustomerID, limit)
	if err != nil {
		return nil, wrap("conversations", err)
	}
	return collect(rows, scan.Conversation, "conversations")
}

func (o *ops) AssignConversation(ctx context.Context, id int64, operatorID string, at time.Time) error {
	if operatorID == "" {
		return fmt.Errorf("%w: empty operator id", store.ErrInvalid)
	}
	return wrap("assign conversation", o.write(ctx, func(o *ops) error {
		c, err := o.Conversation(ctx, id)
		if err != nil {
			return err
		}
		if c.State == store.ConversationClosed {
			return fmt.Errorf("conversation %d is closed: %w", id, store.ErrConflict)
		}
		_, err = o.tx.Exec(ctx, `UPDATE chat_conversations SET operator_id = $1, state = 'active',
			assigned_at = $2 WHERE id = $3`, operatorID, tm(rules.Or(at)), id)
		return err
	}))
}

func (o *ops) CloseConversation(ctx context.Context, id int64, at time.Time) error {
	return wrap("close conversation", o.write(ctx, func(o *ops) error {
		res, err := o.tx.Exec(ctx, `UPDATE chat_conversations SET state = 'closed', closed_at = $1
			WHERE id = $2 AND state <> 'closed'`, tm(rules.Or(at)), id)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			_, err = o.Conversation(ctx, id) // ErrNotFound, or already closed
		}
		return err
	}))
}

func (o *ops) AppendMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	if err := store.PrepareMessage(&m); err != nil {
		return store.Message{}, false, err
	}
	created := false
	err := o.write(ctx, func(o *ops) error {
		// Locking the conversation row serializes appends to one
		// conversation: the dedup check and the sequence allocation below
		// cannot interleave with another append. Both reads go in one
		// round trip; the second is a statement of its own, so under READ
		// COMMITTED it sees what the previous lock holder committed.
		b := &pgx.Batch{}
		b.Queue(`SELECT state FROM chat_conversations WHERE id = $1 FOR UPDATE`, m.ConversationID)
		if m.ClientMsgID != "" {
			b.Queue(`SELECT `+scan.MessageCols+` FROM chat_messages
				WHERE conversation_id = $1 AND sender_role = $2 AND sender_id = $3 AND client_msg_id = $4`,
				m.ConversationID, m.SenderRole, m.SenderID, m.ClientMsgID)
		}
		br := o.tx.SendBatch(ctx, b)
		var state store.ConversationState
		err := br.QueryRow().Scan(&state)
		dup := false
		if err == nil && m.ClientMsgID != "" {
			old, derr := scan.Message(br.QueryRow())
			switch {
			case derr == nil:
				m, dup = old, true
			case !errors.Is(derr, pgx.ErrNoRows):
				err = derr
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil || dup {
			return err
		}
		if state == store.ConversationClosed && m.SenderRole != store.RoleSystem {
			return fmt.Errorf("conversation %d is closed: %w", m.ConversationID, store.ErrConflict)
		}
		err = o.tx.QueryRow(ctx, `WITH s AS (UPDATE chat_conversations SET last_seq = last_seq + 1 WHERE id = $1
				RETURNING last_seq)
			INSERT INTO chat_messages (`+scan.MessageCols+`)
			SELECT $1, s.last_seq, $2, $3, $4, $5, $6, $7, $8 FROM s RETURNING seq`,
			m.ConversationID, scan.NullStr(m.ClientMsgID), m.SenderRole, m.SenderID, m.Kind, m.Text,
			scan.NullID(m.AttachmentID), tm(m.CreatedAt)).Scan(&m.Seq)
		created = err == nil
		return err
	})
	if err != nil {
		return store.Message{}, false, wrap("append message", err)
	}
	return m, created, nil
}

func (o *ops) MessagesAfter(ctx context.Context, conversationID, afterSeq int64, limit int) ([]store.Message, error) {
	if limit < 0 {
		return nil, fmt.Errorf("%w: negative limit", store.ErrInvalid)
	}
	var lim any = limit
	if limit == 0 {
		lim = nil // LIMIT NULL: no limit
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.MessageCols+` FROM chat_messages
		WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, conversationID, afterSeq, lim)
	if err != nil {
		return nil, wrap("messages", err)
	}
	return collect(rows, scan.Message, "messages")
}

func (o *ops) Transcript(ctx context.Context, conversationID int64) (store.Transcript, error) {
	var t store.Transcript
	// One read transaction gives a consistent snapshot of the three reads.
	read := func(o *ops) error {
		var err error
		if t.Conversation, err = o.Conversation(ctx, conversationID); err != nil {
			return err
		}
		if t.Messages, err = o.MessagesAfter(ctx, conversationID, 0, 0); err != nil {
			return err
		}
		rows, err := o.q().Query(ctx, `SELECT `+scan.AttachmentCols+` FROM chat_attachments WHERE conversation_id = $1 ORDER BY id`, conversationID)
		if err != nil {
			return wrap("transcript", err)
		}
		t.Attachments, err = collect(rows, scan.Attachment, "transcript")
		return err
	}
	return t, o.readTx(ctx, read)
}

func (o *ops) PutAttachment(ctx context.Context, a *store.Attachment) error {
	if err := store.PrepareAttachment(a); err != nil {
		return err
	}
	err := o.write(ctx, func(o *ops) error {
		return o.tx.QueryRow(ctx, `INSERT INTO chat_attachments
			(conversation_id, name, media_type, size, sha256, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			a.ConversationID, a.Name, a.MediaType, a.Size, a.SHA256, a.Data, tm(a.CreatedAt)).Scan(&a.ID)
	})
	return wrap("put attachment", err)
}

func (o *ops) Attachment(ctx context.Context, id int64) (store.Attachment, error) {
	var a store.Attachment
	err := o.q().QueryRow(ctx, `SELECT id, conversation_id, name, media_type, size, sha256, data, created_at
		FROM chat_attachments WHERE id = $1`, id).Scan(&a.ID, &a.ConversationID, &a.Name, &a.MediaType, &a.Size,
		&a.SHA256, &a.Data, scan.Time(&a.CreatedAt))
	return a, wrap("attachment", err)
}

func (o *ops) PutChatOperator(ctx context.Context, op *store.ChatOperator) error {
	if err := rules.ChatOperator(op); err != nil {
		return wrap("put chat operator", err)
	}
	return wrap("put chat operator", o.write(ctx, func(o *ops) error {
		return o.tx.QueryRow(ctx, `INSERT INTO chat_operators (login, name, password_hash, max_conversations,
			disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (login) DO UPDATE SET name = excluded.name, password_hash = excluded.password_hash,
			max_conversations = excluded.max_conversations, disabled = excluded.disabled, updated_at = excluded.updated_at
			RETURNING created_at`, op.Login, op.Name, op.PasswordHash, op.MaxConversations, op.Disabled,
			op.CreatedAt, op.UpdatedAt).Scan(scan.Time(&op.CreatedAt))
	}))
}

const chatOperatorCols = `login, name, password_hash, max_conversations, disabled, created_at, updated_at`

func scanChatOperator(row interface{ Scan(...any) error }) (store.ChatOperator, error) {
	var op store.ChatOperator
	err := row.Scan(&op.Login, &op.Name, &op.PasswordHash, &op.MaxConversations, &op.Disabled,
		scan.Time(&op.CreatedAt), scan.Time(&op.UpdatedAt))
	return op, err
}

func (o *ops) ChatOperator(ctx context.Context, login string) (store.ChatOperator, error) {
	op, err := scanChatOperator(o.q().QueryRow(ctx, `SELECT `+chatOperatorCols+` FROM chat_operators WHERE login = $1`, login))
	return op, wrap("chat operator", err)
}

func (o *ops) ChatOperators(ctx context.Context) ([]store.ChatOperator, error) {
	rows, err := o.q().Query(ctx, `SELECT `+chatOperatorCols+` FROM chat_operators ORDER BY login`)
	if err != nil {
		return nil, wrap("chat operators", err)
	}
	defer rows.Close()
	var out []store.ChatOperator
	for rows.Next() {
		op, err := scanChatOperator(rows)
		if err != nil {
			return nil, wrap("chat operators", err)
		}
		out = append(out, op)
	}
	return out, wrap("chat operators", rows.Err())
}
