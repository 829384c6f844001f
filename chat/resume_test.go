package chat_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// TestResumeDeliversEveryAckedMessageOnceInOrder cuts the connections of
// customers and of their operator every few milliseconds while both
// sides send at full speed: every message reaches every participant
// exactly once, in sequence order, on the in-memory store and on SQLite
// (chattest.Torture; bench/chat -resume runs it at full size).
func TestResumeDeliversEveryAckedMessageOnceInOrder(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		rep, err := chattest.Torture(context.Background(), chattest.TortureConfig{Customers: 4, PerSender: 4000})
		t.Log(rep)
		require.NoError(t, err)
		assert.Greater(t, rep.Drops, 10)
		assert.GreaterOrEqual(t, rep.Messages, 4*2*4000)
	})
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), nil)
		require.NoError(t, err)
		defer st.Close()
		rep, err := chattest.Torture(context.Background(), chattest.TortureConfig{Store: st, Customers: 4, PerSender: 500})
		t.Log(rep)
		require.NoError(t, err)
		assert.Greater(t, rep.Drops, 10)
	})
}

func firstDisorder(seqs []int64) string {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			return fmt.Sprintf("at %d: ... %v ...", i, seqs[max(0, i-3):min(len(seqs), i+3)])
		}
	}
	return "none"
}

// rawConn is a connection speaking the protocol by hand, with no client
// logic (no gap filling) between the server and the test.
type rawConn struct {
	t    *testing.T
	nc   net.Conn
	fr   *chat.FrameReader
	conv int64 // for tests that keep it here
}

func dialRaw(t *testing.T, addr string, hello *chat.Hello) (*rawConn, *chat.Welcome) {
	t.Helper()
	return dialRawBytes(t, addr, chat.AppendMessage(nil, hello))
}

// dialRawBytes sends hello as it is and expects a WELCOME.
func dialRawBytes(t *testing.T, addr string, hello []byte) (*rawConn, *chat.Welcome) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	r := &rawConn{t: t, nc: nc, fr: chat.NewFrameReader(nc, 0)}
	_, err = nc.Write(hello)
	require.NoError(t, err)
	m := r.next()
	w, ok := m.(*chat.Welcome)
	require.True(t, ok, "HELLO answered with %v, not WELCOME", m)
	return r, w
}

func (r *rawConn) next() chat.Message {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := r.fr.Read()
	require.NoError(r.t, err)
	m, err := chat.Decode(f)
	require.NoError(r.t, err)
	return m
}

// postsUntil reads POSTs of conv until seq last has come, and returns
// their sequence numbers in wire order.
func (r *rawConn) postsUntil(conv, last int64) []int64 {
	r.t.Helper()
	var seqs []int64
	for len(seqs) == 0 || seqs[len(seqs)-1] < last {
		if p, ok := r.next().(*chat.Post); ok && p.ConversationID == conv {
			seqs = append(seqs, p.Seq)
		}
	}
	return seqs
}

// consecutive asserts seqs are exactly from, from+1, ..., in order.
func consecutive(t *testing.T, what string, seqs []int64, from int64) {
	t.Helper()
	for i, s := range seqs {
		if s != from+int64(i) {
			t.Fatalf("%s: at %d got seq %d, want %d (%s)", what, i, s, from+int64(i), firstDisorder(seqs))
		}
	}
}

// A connection that resumes from seq 0 into a long conversation while
// the operator floods it gets every message once, in order, on the wire:
// the history first, then live traffic, never interleaved. The same for
// an operator that logs in again with a cursor.
func TestResumeReplayNeverInterleavesWithLiveTraffic(t *testing.T) {
	const history, flood = 20000, 5000
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"op": "pw"},
		Configure: func(s *chat.Server) { s.MessageRate = -1; s.OutboundLimit = 512 << 10 }})
	defer srv.Close()
	ctx := testCtx(t)

	cust, w := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	conv := w.ConversationID
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "op", Password: "pw"})
	require.NoError(t, err)
	defer op.Close()
	require.Eventually(t, func() bool {
		rec, err := srv.Store.Conversation(ctx, conv)
		return err == nil && rec.State == store.ConversationActive
	}, 10*time.Second, 5*time.Millisecond)
	for i := range history {
		_, err := op.SendTo(ctx, conv, "", fmt.Sprint("h", i))
		require.NoError(t, err)
	}
	cust.nc.Close()

	// The flood runs while the customer resumes from the start.
	floodDone := make(chan error, 1)
	go func() {
		for i := range flood {
			if _, err := op.SendTo(ctx, conv, "", fmt.Sprint("f", i)); err != nil {
				floodDone <- err
				return
			}
		}
		floodDone <- nil
	}()
	again, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: w.Resume, LastSeq: 0})
	require.NoError(t, <-floodDone)
	rec, err := srv.Store.Conversation(ctx, conv)
	require.NoError(t, err)
	consecutive(t, "customer resuming from 0", again.postsUntil(conv, rec.LastSeq), 1)

	// An operator logging in again, 100 messages behind, under a flood
	// from the customer.
	op.Close()
	custFlood := make(chan error, 1)
	go func() {
		for i := range flood {
			if _, err := again.nc.Write(chat.AppendMessage(nil, &chat.Send{ClientMsgID: fmt.Sprint("c", i), Text: "c"})); err != nil {
				custFlood <- err
				return
			}
		}
		custFlood <- nil
	}()
	behind := rec.LastSeq - 100
	opRaw, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleOperator, Login: "op", Password: "pw",
		Cursors: []chat.Cursor{{ConversationID: conv, LastSeq: behind}}})
	require.NoError(t, <-custFlood)
	require.Eventually(t, func() bool {
		r, err := srv.Store.Conversation(ctx, conv)
		return err == nil && r.LastSeq >= rec.LastSeq+flood
	}, 20*time.Second, 5*time.Millisecond)
	rec, err = srv.Store.Conversation(ctx, conv)
	require.NoError(t, err)
	consecutive(t, "operator resuming with a cursor", opRaw.postsUntil(conv, rec.LastSeq), behind+1)
}

// An ACK comes after every earlier POST of its conversation, also while
// the connection catches up (the protocol says an ACK means the
// connection has been sent everything before it), and the sender gets
// its own message as the ACK, never as a POST.
func TestAckComesAfterTheCatchUp(t *testing.T) {
	const n = 3000
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.MessageRate = -1 }})
	defer srv.Close()
	first, w := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	var frames []byte
	for i := range n {
		frames = chat.AppendMessage(frames, &chat.Send{ClientMsgID: fmt.Sprint("c", i), Text: fmt.Sprint("message ", i)})
	}
	first.nc.Write(frames)
	for {
		if a, ok := first.next().(*chat.Ack); ok && a.ClientMsgID == fmt.Sprint("c", n-1) {
			break
		}
	}
	first.nc.Close()
	// Resume from the start with a SEND in the same write as the HELLO.
	again, w2 := dialRawBytes(t, srv.Addr, chat.AppendMessage(chat.AppendMessage(nil,
		&chat.Hello{Role: chat.RoleCustomer, Resume: w.Resume}), &chat.Send{ClientMsgID: "new", Text: "one more"}))
	require.Equal(t, w.ConversationID, w2.ConversationID)
	var posts []int64
	var ack *chat.Ack
	for _, m := range again.framesFor(time.Second) {
		switch m := m.(type) {
		case *chat.Post:
			require.NotEqual(t, "new", m.ClientMsgID, "the sender got its own message as a POST")
			require.Nil(t, ack, "POST %d after the ACK of a later message", m.Seq)
			posts = append(posts, m.Seq)
		case *chat.Ack:
			ack = m
		}
	}
	require.NotNil(t, ack, "no ACK")
	consecutive(t, "POSTs before the ACK", posts, 1)
	assert.Equal(t, ack.Seq, posts[len(posts)-1]+1, "the ACK follows the POST before it")
}
