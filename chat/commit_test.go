package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// An ACK means the message's transaction committed: when the commit of
// a group fails, the messages that made it fail get an ERROR and no ACK,
// nobody gets their POST, the store has none of them, and the others of
// the same group are stored, acknowledged and delivered once, in order.
func TestNoAckNoPostWhenTheCommitFails(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	st := chattest.FailCommits(db, func(m store.Message) bool { return strings.HasPrefix(m.Text, "FAIL") })
	srv := chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.MessageRate = -1 }})
	defer srv.Close()
	ctx := testCtx(t)
	op, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis"})
	cust, w := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	conv := w.ConversationID
	require.Eventually(t, func() bool {
		rec, err := db.Conversation(ctx, conv)
		return err == nil && rec.State == store.ConversationActive
	}, 5*time.Second, 5*time.Millisecond)

	// 300 SENDs pipelined, every tenth one failing its commit.
	const n = 300
	var frames []byte
	for i := range n {
		text := fmt.Sprint("ok ", i)
		if i%10 == 3 {
			text = fmt.Sprint("FAIL ", i)
		}
		frames = chat.AppendMessage(frames, &chat.Send{ClientMsgID: fmt.Sprint("m", i), Text: text})
	}
	_, err = cust.nc.Write(frames)
	require.NoError(t, err)
	acks, refused := map[string]int64{}, map[string]chat.ErrorCode{}
	var ackSeqs []int64
	for len(acks)+len(refused) < n {
		switch m := cust.next().(type) {
		case *chat.Ack:
			_, dup := acks[m.ClientMsgID]
			require.False(t, dup, "ACK of %s twice", m.ClientMsgID)
			acks[m.ClientMsgID] = m.Seq
			ackSeqs = append(ackSeqs, m.Seq)
		case *chat.Error:
			refused[m.ClientMsgID] = m.Code
		}
	}
	for i := range n {
		id := fmt.Sprint("m", i)
		if i%10 == 3 {
			assert.Equal(t, chat.CodeInternal, refused[id], "%s failed its commit", id)
			assert.NotContains(t, acks, id, "%s acknowledged although its commit failed", id)
		} else {
			assert.Contains(t, acks, id)
		}
	}
	assert.True(t, isIncreasing(ackSeqs), "ACKs out of order")

	// The operator gets exactly the committed ones, in order.
	tr, err := db.Transcript(ctx, conv)
	require.NoError(t, err)
	last := tr.Conversation.LastSeq
	var posts []*chat.Post
	for len(posts) == 0 || posts[len(posts)-1].Seq < last {
		if p, ok := op.next().(*chat.Post); ok && p.ConversationID == conv {
			posts = append(posts, p)
		}
	}
	consecutive(t, "operator", seqsOf(posts), 1)
	for _, p := range posts {
		assert.False(t, strings.HasPrefix(p.Text, "FAIL"), "POST of a message whose commit failed: %q", p.Text)
	}
	for _, m := range tr.Messages {
		assert.False(t, strings.HasPrefix(m.Text, "FAIL"), "stored although its commit failed: %q", m.Text)
	}
	assert.Len(t, acks, n-n/10)
}

func isIncreasing(s []int64) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}

func seqsOf(posts []*chat.Post) []int64 {
	out := make([]int64, len(posts))
	for i, p := range posts {
		out[i] = p.Seq
	}
	return out
}
