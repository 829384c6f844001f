package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// testAppendMessages: one call with new messages in two conversations, a
// retry of a stored message, a repeat within the call, a closed
// conversation, a missing one and an invalid message.
func testAppendMessages(t *testing.T, e *env) {
	ctx := e.ctx(t)
	a, b, closed := newConversation(t, e), newConversation(t, e), newConversation(t, e)
	stored, _, err := e.AppendMessage(ctx, store.Message{ConversationID: a.ID, ClientMsgID: "x", SenderRole: store.RoleCustomer,
		SenderID: "c-1", Text: "before"})
	must(t, err)
	must(t, e.CloseConversation(ctx, closed.ID, time.Time{}))
	cust := func(conv int64, id, text string) store.Message {
		return store.Message{ConversationID: conv, ClientMsgID: id, SenderRole: store.RoleCustomer, SenderID: "c-1", Text: text}
	}
	ms := []store.Message{
		cust(a.ID, "1", "a1"),
		cust(b.ID, "1", "b1"),
		cust(a.ID, "x", "retry of a stored one"),
		cust(a.ID, "2", "a2"),
		cust(a.ID, "1", "repeat within the call"),
		cust(closed.ID, "1", "to a closed one"),
		{ConversationID: closed.ID, SenderRole: store.RoleSystem, Kind: store.KindSystem, Text: "system note"},
		cust(a.ID+1000, "1", "to a missing one"),
		{ConversationID: a.ID, SenderRole: "bogus", Text: "invalid"},
		cust(b.ID, "", "b2 without id"),
	}
	res, err := e.AppendMessages(ctx, ms)
	must(t, err)
	eq(t, "results", len(res), len(ms))
	type want struct {
		seq     int64
		created bool
		err     error
		text    string
	}
	for i, w := range []want{
		{2, true, nil, "a1"},
		{1, true, nil, "b1"},
		{stored.Seq, false, nil, "before"},
		{3, true, nil, "a2"},
		{2, false, nil, "a1"},
		{0, false, store.ErrConflict, ""},
		{1, true, nil, "system note"},
		{0, false, store.ErrNotFound, ""},
		{0, false, store.ErrInvalid, ""},
		{2, true, nil, "b2 without id"},
	} {
		r := res[i]
		if w.err != nil {
			wantErr(t, r.Err, w.err)
			continue
		}
		must(t, r.Err)
		eq(t, fmt.Sprintf("message %d seq", i), r.Message.Seq, w.seq)
		eq(t, fmt.Sprintf("message %d created", i), r.Created, w.created)
		eq(t, fmt.Sprintf("message %d text", i), r.Message.Text, w.text)
	}
	// What was stored reads back in order, and single appends go on from
	// the batch's last numbers.
	got, _ := e.MessagesAfter(ctx, a.ID, 0, 0)
	eq(t, "messages of a", len(got), 3)
	eq(t, "a's third", got[2].Text, "a2")
	next, _, err := e.AppendMessage(ctx, cust(b.ID, "3", "b3"))
	must(t, err)
	eq(t, "next seq of b", next.Seq, int64(3))
	conv, _ := e.Conversation(ctx, a.ID)
	eq(t, "a's last seq", conv.LastSeq, int64(3))
	res, err = e.AppendMessages(ctx, nil)
	must(t, err)
	eq(t, "empty call", len(res), 0)
}

// testAppendMessagesConcurrent: batches from several goroutines (and a
// second connection) into the same conversations get gap-free sequence
// numbers, every message stored once.
func testAppendMessagesConcurrent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	a, b := newConversation(t, e), newConversation(t, e)
	second := e.second(t)
	const batches, per = 8, 25
	must(t, parallel(e.workers, func(w int) error {
		st := store.Store(e)
		if w%2 == 1 {
			st = second
		}
		for k := 0; k < batches; k++ {
			var ms []store.Message
			for i := 0; i < per; i++ {
				conv := a.ID
				if i%2 == 1 {
					conv = b.ID
				}
				ms = append(ms, store.Message{ConversationID: conv, ClientMsgID: fmt.Sprintf("w%d-%d-%d", w, k, i),
					SenderRole: store.RoleCustomer, SenderID: "c-1", Text: "x"})
			}
			// Every batch twice: the second time all are duplicates.
			for round := 0; round < 2; round++ {
				res, err := st.AppendMessages(ctx, ms)
				if err != nil {
					return err
				}
				for _, r := range res {
					if r.Err != nil {
						return r.Err
					}
					if r.Created != (round == 0) {
						return fmt.Errorf("round %d: created=%v", round, r.Created)
					}
				}
			}
		}
		return nil
	}))
	total := 0
	for _, c := range []int64{a.ID, b.ID} {
		ms, err := e.MessagesAfter(ctx, c, 0, 0)
		must(t, err)
		for i, m := range ms {
			eq(t, "gap-free seq", m.Seq, int64(i+1))
		}
		total += len(ms)
	}
	eq(t, "stored", total, e.workers*batches*per)
}
