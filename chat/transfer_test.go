package chat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
)

// framesFor reads r for a while and returns what it got.
func (r *rawConn) framesFor(d time.Duration) []chat.Message {
	var out []chat.Message
	fr := r.fr
	for {
		r.nc.SetReadDeadline(time.Now().Add(d))
		f, err := fr.Read()
		if err != nil {
			return out
		}
		m, err := chat.Decode(f)
		require.NoError(r.t, err)
		out = append(out, m)
	}
}

// A long conversation, an operator who logs in again (so its connection
// catches up from the first message, slowly: it does not read) and at
// once transfers it: after the transfer the former operator gets no more
// of it, not even from the catch-up under way; when it comes back to
// the operator, its history comes once, in order, not interleaved with
// the earlier catch-up.
func TestTransferStopsTheFormerOperatorsCatchUp(t *testing.T) {
	const n = 3000
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"alice": "pw-alice", "bob": "pw-bob"},
		Configure: func(s *chat.Server) { s.MessageRate = -1; s.OutboundLimit = 64 << 10 }})
	defer srv.Close()
	ctx := testCtx(t)
	alice, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleOperator, Login: "alice", Password: "pw-alice"})
	cust, w := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	conv := w.ConversationID
	require.Eventually(t, func() bool {
		rec, err := srv.Store.Conversation(ctx, conv)
		return err == nil && rec.State == store.ConversationActive
	}, 5*time.Second, 5*time.Millisecond)
	bin := newInbox()
	bob := operator(t, srv, "bob", bin)
	var frames []byte
	for i := range n {
		frames = chat.AppendMessage(frames, &chat.Send{ClientMsgID: fmt.Sprint("c", i), Text: fmt.Sprint("message ", i)})
	}
	cust.nc.Write(frames)
	for {
		if a, ok := cust.next().(*chat.Ack); ok && a.ClientMsgID == fmt.Sprint("c", n-1) {
			break
		}
	}
	alice.nc.Close()

	// alice again: catching up from seq 1, not reading, transfers at once.
	again, _ := dialRawBytes(t, srv.Addr, chat.AppendMessage(chat.AppendMessage(nil,
		&chat.Hello{Role: chat.RoleOperator, Login: "alice", Password: "pw-alice"}), &chat.Transfer{ConversationID: conv, To: "bob"}))
	bin.wait(t, "bob's assignment", isAssigned(conv))
	cust.nc.Write(chat.AppendMessage(nil, &chat.Send{ClientMsgID: "secret", Text: "my card number is 4111..."}))
	for {
		if a, ok := cust.next().(*chat.Ack); ok && a.ClientMsgID == "secret" {
			break
		}
	}
	// bob hands it back while alice still reads nothing.
	require.NoError(t, bob.Transfer(ctx, conv, "alice"))

	seen := again.framesFor(2 * time.Second)
	var before, after []int64 // POSTs of conv before the transfer event, and after the second ASSIGNED
	phase := 0
	for _, m := range seen {
		switch m := m.(type) {
		case *chat.Event:
			if m.ConversationID == conv && m.Kind == chat.EventTransferred && phase == 0 {
				phase = 1
			}
		case *chat.Assigned:
			if m.ConversationID == conv && phase == 1 {
				phase = 2
			}
		case *chat.Post:
			if m.ConversationID != conv {
				continue
			}
			switch phase {
			case 0:
				before = append(before, m.Seq)
			case 1:
				t.Fatalf("POST %d (%q) reached the former operator between the transfer and its return", m.Seq, m.Text)
			case 2:
				after = append(after, m.Seq)
			}
		}
	}
	require.Equal(t, 2, phase, "the transfer and the return were not both seen")
	if len(before) > 0 {
		consecutive(t, "alice's catch-up before the transfer", before, 1)
	}
	rec, err := srv.Store.Conversation(context.Background(), conv)
	require.NoError(t, err)
	require.NotEmpty(t, after)
	consecutive(t, "alice's history after the return", after, 1)
	assert.Equal(t, rec.LastSeq, after[len(after)-1], "the history after the return ends with the last message")
}
