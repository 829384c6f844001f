package postgres

import (
	"context"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

func (o *ops) AppendMessages(ctx context.Context, ms []store.Message) ([]store.AppendResult, error) {
	plan := rules.NewAppendPlan(ms)
	err := o.write(ctx, func(o *ops) error {
		// Lock the conversations in id order (FOR UPDATE): appends to
		// them from other connections wait, so the sequence numbers read
		// here stay the last ones until this transaction ends.
		ids := plan.Conversations()
		rows, err := o.tx.Query(ctx, `SELECT id, state, last_seq FROM chat_conversations WHERE id = ANY($1)
			ORDER BY id FOR UPDATE`, ids)
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
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if keys := plan.DedupKeys(); len(keys) > 0 {
			convs, roles, senders, clients := make([]int64, len(keys)), make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
			for i, k := range keys {
				convs[i], roles[i], senders[i], clients[i] = k.ConversationID, string(k.SenderRole), k.SenderID, k.ClientMsgID
			}
			rows, err := o.tx.Query(ctx, `SELECT `+scan.MessageCols+` FROM chat_messages
				JOIN unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS k(c, r, s, i)
				ON conversation_id = k.c AND sender_role = k.r AND sender_id = k.s AND client_msg_id = k.i`,
				convs, roles, senders, clients)
			if err != nil {
				return err
			}
			for rows.Next() {
				m, err := scan.Message(rows)
				if err != nil {
					rows.Close()
					return err
				}
				plan.SetStored(m)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		inserts, seqs := plan.Assign()
		if len(inserts) == 0 {
			return nil
		}
		n := len(inserts)
		var (
			convs, seq, atts = make([]int64, n), make([]int64, n), make([]*int64, n)
			clients          = make([]*string, n)
			roles, senders   = make([]string, n), make([]string, n)
			kinds, bodies    = make([]string, n), make([]string, n)
			times            = make([]time.Time, n)
		)
		for i, m := range inserts {
			convs[i], seq[i], roles[i], senders[i], kinds[i], bodies[i], times[i] =
				m.ConversationID, m.Seq, string(m.SenderRole), m.SenderID, string(m.Kind), m.Text, m.CreatedAt
			if m.ClientMsgID != "" {
				clients[i] = &inserts[i].ClientMsgID
			}
			if m.AttachmentID != 0 {
				atts[i] = &inserts[i].AttachmentID
			}
		}
		if _, err := o.tx.Exec(ctx, `INSERT INTO chat_messages (`+scan.MessageCols+`)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::bigint[], $9::timestamptz[])`, convs, seq, clients, roles, senders, kinds, bodies, atts, times); err != nil {
			return err
		}
		touched := plan.Touched()
		last := make([]int64, len(touched))
		for i, id := range touched {
			last[i] = seqs[id]
		}
		_, err = o.tx.Exec(ctx, `UPDATE chat_conversations SET last_seq = v.s
			FROM unnest($1::bigint[], $2::bigint[]) AS v(id, s) WHERE chat_conversations.id = v.id`, touched, last)
		return err
	})
	if err != nil {
		return nil, wrap("append messages", err)
	}
	return plan.Results(), nil
}
