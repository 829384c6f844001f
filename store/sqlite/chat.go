package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
		var err error
		c.ID, err = o.insert(ctx, `INSERT INTO chat_conversations
			(customer_name, customer_id, customer_email, operator_id, state, opened_at, assigned_at, closed_at, verified, left_message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.CustomerName, c.CustomerID, c.CustomerEmail, c.OperatorID, c.State,
			tm(c.OpenedAt), tm(c.AssignedAt), tm(c.ClosedAt), c.Verified, c.LeftMessage)
		return err
	})
	return wrap("create conversation", err)
}

func (o *ops) Conversation(ctx context.Context, id int64) (store.Conversation, error) {
	c, err := scan.Conversation(o.q().QueryRowContext(ctx, `SELECT `+scan.ConversationCols+` FROM chat_conversations WHERE id = ?`, id))
	return c, wrap("conversation", err)
}

func (o *ops) Conversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	limit, err := rules.Limit(f.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.ConversationCols+` FROM chat_conversations
		WHERE id > ? AND (? = '' OR state = ?) AND (? = '' OR operator_id = ?) AND (? = '' OR customer_id = ?)
		ORDER BY id LIMIT ?`,
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
		_, err = o.w().ExecContext(ctx, `UPDATE chat_conversations SET operator_id = ?, state = 'active',
			assigned_at = ? WHERE id = ?`, operatorID, tm(rules.Or(at)), id)
		return err
	}))
}

func (o *ops) CloseConversation(ctx context.Context, id int64, at time.Time) error {
	return wrap("close conversation", o.write(ctx, func(o *ops) error {
		res, err := o.w().ExecContext(ctx, `UPDATE chat_conversations SET state = 'closed', closed_at = ?
			WHERE id = ? AND state <> 'closed'`, tm(rules.Or(at)), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
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
		// The write transaction is exclusive: the dedup check and the
		// sequence allocation below cannot interleave with another append.
		var state store.ConversationState
		if err := o.w().QueryRowContext(ctx, `SELECT state FROM chat_conversations WHERE id = ?`,
			m.ConversationID).Scan(&state); err != nil {
			return err
		}
		if m.ClientMsgID != "" {
			old, err := scan.Message(o.w().QueryRowContext(ctx, `SELECT `+scan.MessageCols+` FROM chat_messages
				WHERE conversation_id = ? AND sender_role = ? AND sender_id = ? AND client_msg_id = ?`,
				m.ConversationID, m.SenderRole, m.SenderID, m.ClientMsgID))
			if err == nil {
				m = old
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if state == store.ConversationClosed && m.SenderRole != store.RoleSystem {
			return fmt.Errorf("conversation %d is closed: %w", m.ConversationID, store.ErrConflict)
		}
		if err := o.w().QueryRowContext(ctx, `UPDATE chat_conversations SET last_seq = last_seq + 1
			WHERE id = ? RETURNING last_seq`, m.ConversationID).Scan(&m.Seq); err != nil {
			return err
		}
		_, err := o.w().ExecContext(ctx, `INSERT INTO chat_messages (`+scan.MessageCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ConversationID, m.Seq, scan.NullStr(m.ClientMsgID), m.SenderRole, m.SenderID, m.Kind, m.Text,
			scan.NullID(m.AttachmentID), tm(m.CreatedAt))
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
	if limit == 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.MessageCols+` FROM chat_messages
		WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`, conversationID, afterSeq, limit)
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
		rows, err := o.q().QueryContext(ctx, `SELECT `+scan.AttachmentCols+` FROM chat_attachments WHERE conversation_id = ? ORDER BY id`, conversationID)
		if err != nil {
			return wrap("transcript", err)
		}
		t.Attachments, err = collect(rows, scan.Attachment, "transcript")
		return err
	}
	if o.tx != nil {
		return t, read(o)
	}
	return t, o.db.readTx(ctx, read)
}

func (o *ops) PutAttachment(ctx context.Context, a *store.Attachment) error {
	if err := store.PrepareAttachment(a); err != nil {
		return err
	}
	err := o.write(ctx, func(o *ops) error {
		var err error
		a.ID, err = o.insert(ctx, `INSERT INTO chat_attachments
			(conversation_id, name, media_type, size, sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ConversationID, a.Name, a.MediaType, a.Size, a.SHA256, a.Data, tm(a.CreatedAt))
		return err
	})
	return wrap("put attachment", err)
}

func (o *ops) Attachment(ctx context.Context, id int64) (store.Attachment, error) {
	var a store.Attachment
	err := o.q().QueryRowContext(ctx, `SELECT id, conversation_id, name, media_type, size, sha256, data, created_at
		FROM chat_attachments WHERE id = ?`, id).Scan(&a.ID, &a.ConversationID, &a.Name, &a.MediaType, &a.Size,
		&a.SHA256, &a.Data, scan.Time(&a.CreatedAt))
	return a, wrap("attachment", err)
}

func (o *ops) PutChatOperator(ctx context.Context, op *store.ChatOperator) error {
	if err := rules.ChatOperator(op); err != nil {
		return wrap("put chat operator", err)
	}
	return wrap("put chat operator", o.write(ctx, func(o *ops) error {
		return o.w().QueryRowContext(ctx, `INSERT INTO chat_operators (login, name, password_hash, max_conversations,
			disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (login) DO UPDATE SET name = excluded.name, password_hash = excluded.password_hash,
			max_conversations = excluded.max_conversations, disabled = excluded.disabled, updated_at = excluded.updated_at
			RETURNING created_at`, op.Login, op.Name, op.PasswordHash, op.MaxConversations, op.Disabled,
			tm(op.CreatedAt), tm(op.UpdatedAt)).Scan(scan.Time(&op.CreatedAt))
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
	op, err := scanChatOperator(o.q().QueryRowContext(ctx, `SELECT `+chatOperatorCols+` FROM chat_operators WHERE login = ?`, login))
	return op, wrap("chat operator", err)
}

func (o *ops) ChatOperators(ctx context.Context) ([]store.ChatOperator, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT `+chatOperatorCols+` FROM chat_operators ORDER BY login`)
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
