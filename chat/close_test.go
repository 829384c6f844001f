package chat_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// recorder is a raw connection whose frames a goroutine reads and keeps.
type recorder struct {
	nc   net.Conn
	mu   sync.Mutex
	got  []chat.Message
	done chan struct{}
}

func record(t *testing.T, addr string, hello *chat.Hello) (*recorder, *chat.Welcome) {
	t.Helper()
	r, w := dialRaw(t, addr, hello)
	rec := &recorder{nc: r.nc, done: make(chan struct{})}
	go func() {
		defer close(rec.done)
		for {
			r.nc.SetReadDeadline(time.Now().Add(time.Minute))
			f, err := r.fr.Read()
			if err != nil {
				return
			}
			if m, err := chat.Decode(f); err == nil {
				rec.mu.Lock()
				rec.got = append(rec.got, m)
				rec.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { r.nc.Close(); <-rec.done })
	return rec, w
}

func (r *recorder) frames() []chat.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Message(nil), r.got...)
}

func (r *recorder) waitFor(t *testing.T, what string, match func(chat.Message) bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, m := range r.frames() {
			if match(m) {
				return true
			}
		}
		return false
	}, 10*time.Second, 2*time.Millisecond, "no %s", what)
}

// A close is fenced against messages in flight: a customer pipelines 40
// SENDs while the operator closes, round after round. No message is
// taken after the closing message, and every message the customer was
// acknowledged for reached the operator before EVENT closed (before,
// with group commit, messages committed just before the close were
// acknowledged and never reached the operator).
func TestCloseIsFencedAgainstSendsInFlight(t *testing.T) {
	run := func(t *testing.T, st store.ChatStore, rounds int) {
		srv := chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"alice": "pw-alice"},
			Configure: func(s *chat.Server) { s.MessageRate = -1; s.MaxConversations = rounds }})
		defer srv.Close()
		op, _ := record(t, srv.Addr, &chat.Hello{Role: chat.RoleOperator, Login: "alice", Password: "pw-alice"})
		for r := range rounds {
			cust, w := record(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: fmt.Sprint("C", r), CustomerID: fmt.Sprint(r)})
			conv := w.ConversationID
			op.waitFor(t, "assignment", isAssigned(conv))
			var b []byte
			for i := range 40 {
				b = chat.AppendMessage(b, &chat.Send{ClientMsgID: fmt.Sprint("m", i), Text: fmt.Sprint("msg ", i)})
			}
			go cust.nc.Write(b)
			time.Sleep(time.Duration(r%7) * 50 * time.Microsecond)
			op.nc.Write(chat.AppendMessage(nil, &chat.Close{ConversationID: conv}))
			op.waitFor(t, "EVENT closed", isEvent(conv, chat.EventClosed))
			cust.waitFor(t, "EVENT closed", isEvent(conv, chat.EventClosed))
			time.Sleep(20 * time.Millisecond) // answers to the last SENDs
			got := map[int64]bool{}
			var closing int64
			closed := false
			for _, m := range op.frames() {
				switch m := m.(type) {
				case *chat.Event:
					closed = closed || (m.ConversationID == conv && m.Kind == chat.EventClosed)
				case *chat.Post:
					if m.ConversationID != conv {
						continue
					}
					require.False(t, closed, "round %d: POST %d after EVENT closed", r, m.Seq)
					got[m.Seq] = true
					if m.Kind == chat.PostSystem && m.Text == "alice closed the conversation" {
						closing = m.Seq
					}
				}
			}
			require.NotZero(t, closing, "round %d: no closing message", r)
			for _, m := range cust.frames() {
				if a, ok := m.(*chat.Ack); ok {
					require.Less(t, a.Seq, closing, "round %d: %s taken after the closing message", r, a.ClientMsgID)
					require.True(t, got[a.Seq], "round %d: %s (seq %d) acknowledged, never delivered", r, a.ClientMsgID, a.Seq)
				}
			}
			cust.nc.Close()
		}
	}
	t.Run("memory", func(t *testing.T) { run(t, chattest.NewMemStore(), 150) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), nil)
		require.NoError(t, err)
		defer st.Close()
		run(t, st, 150)
	})
}

// Two closes at once close once: one closing message, one EVENT closed
// per connection, one OnClose, one closed event; a message left is handed
// to OnLeftMessage once.
func TestCloseTwiceClosesOnce(t *testing.T) {
	ev := &events{}
	var mu sync.Mutex
	closes, left := map[int64]int{}, map[int64]int{}
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"alice": "pw-alice"}, Configure: func(s *chat.Server) {
		s.MessageRate, s.MaxConversations, s.OnEvent = -1, 100, ev.hook
		s.OnClose = func(ctx context.Context, tr store.Transcript) {
			mu.Lock()
			closes[tr.Conversation.ID]++
			mu.Unlock()
		}
		s.LeaveMessages = true
		s.OnLeftMessage = func(ctx context.Context, tr store.Transcript) (string, error) {
			mu.Lock()
			left[tr.Conversation.ID]++
			mu.Unlock()
			return "ticket 1", nil
		}
	}})
	defer srv.Close()
	ctx := testCtx(t)
	// Messages left (nobody online yet): two devices of one customer close at once.
	var leftConvs []int64
	for i := range 20 {
		one, w := record(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: fmt.Sprint("l", i)})
		one.nc.Write(chat.AppendMessage(nil, &chat.Send{ClientMsgID: "x", Text: "call me"}))
		one.waitFor(t, "ACK", func(m chat.Message) bool { _, ok := m.(*chat.Ack); return ok })
		two, _ := record(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: w.Resume})
		go one.nc.Write(chat.AppendMessage(nil, &chat.Close{}))
		two.nc.Write(chat.AppendMessage(nil, &chat.Close{}))
		two.waitFor(t, "EVENT closed", isEvent(w.ConversationID, chat.EventClosed))
		leftConvs = append(leftConvs, w.ConversationID)
	}
	// Served conversations: operator and customer close at once.
	op, _ := record(t, srv.Addr, &chat.Hello{Role: chat.RoleOperator, Login: "alice", Password: "pw-alice"})
	var served []int64 // (the operator is online from here: no more messages left)
	for i := range 30 {
		cust, w := record(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Bo", CustomerID: fmt.Sprint("s", i)})
		op.waitFor(t, "assignment", isAssigned(w.ConversationID))
		go cust.nc.Write(chat.AppendMessage(nil, &chat.Close{}))
		op.nc.Write(chat.AppendMessage(nil, &chat.Close{ConversationID: w.ConversationID}))
		cust.waitFor(t, "EVENT closed", isEvent(w.ConversationID, chat.EventClosed))
		served = append(served, w.ConversationID)
	}
	time.Sleep(200 * time.Millisecond) // the hooks run on their own goroutines
	for _, id := range append(leftConvs, served...) {
		tr, err := srv.Store.Transcript(ctx, id)
		require.NoError(t, err)
		closing := 0
		for _, m := range tr.Messages {
			if m.Kind == store.KindSystem && (m.Text == "the customer closed the conversation" || m.Text == "alice closed the conversation") {
				closing++
			}
		}
		assert.Equal(t, 1, closing, "conversation %d: closing messages", id)
		kinds := ev.kinds(id)
		assert.Equal(t, chat.ConversationClosed, kinds[len(kinds)-1], "conversation %d: events %v", id, kinds)
		n := 0
		for _, k := range kinds {
			if k == chat.ConversationClosed {
				n++
			}
		}
		assert.Equal(t, 1, n, "conversation %d: closed events %v", id, kinds)
		mu.Lock()
		assert.Equal(t, 1, closes[id], "conversation %d: OnClose calls", id)
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range leftConvs {
		assert.Equal(t, 1, left[id], "conversation %d: OnLeftMessage calls", id)
	}
}

// Assignment and close of one conversation do not interleave: an
// operator accepting a customer who closes at that moment never makes
// OnEvent say assigned after closed.
func TestEventsInOrderWhenAcceptRacesClose(t *testing.T) {
	ev := &events{}
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"alice": "pw-alice"}, Configure: func(s *chat.Server) {
		s.MessageRate, s.MaxConversations, s.OnEvent = -1, 1000, ev.hook
	}})
	defer srv.Close()
	op, _ := record(t, srv.Addr, &chat.Hello{Role: chat.RoleOperator, Login: "alice", Password: "pw-alice"})
	op.nc.Write(chat.AppendMessage(nil, &chat.PresenceUpdate{State: chat.Away}))
	op.waitFor(t, "away", func(m chat.Message) bool { p, ok := m.(*chat.PresenceUpdate); return ok && p.State == chat.Away })
	var convs []int64
	for i := range 150 {
		cust, w := record(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Bo", CustomerID: fmt.Sprint(i)})
		go cust.nc.Write(chat.AppendMessage(nil, &chat.Close{}))
		op.nc.Write(chat.AppendMessage(nil, &chat.Accept{ConversationID: w.ConversationID}))
		cust.waitFor(t, "EVENT closed", isEvent(w.ConversationID, chat.EventClosed))
		convs = append(convs, w.ConversationID)
	}
	time.Sleep(200 * time.Millisecond)
	for _, id := range convs {
		kinds := ev.kinds(id)
		require.NotEmpty(t, kinds)
		assert.Equal(t, chat.ConversationClosed, kinds[len(kinds)-1], "conversation %d: events %v", id, kinds)
	}
}

// A participant away while the conversation ends still gets what it
// missed: a customer whose connection dropped resumes after the operator
// wrote and closed, and gets the message, then the close; an operator
// who comes back after the customer wrote and closed gets the same.
func TestWhatWasMissedArrivesAfterTheClose(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"alice": "pw-alice"}})
	defer srv.Close()
	ctx := testCtx(t)
	// The customer is away.
	cnet, cin := &chattest.Cutter{}, newInbox()
	cust, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", CustomerID: "a", Reconnect: true,
		MaxReconnectDelay: time.Second, Dialer: cnet.Dial, Handler: cin.handle})
	require.NoError(t, err)
	defer cust.Close()
	onet, oin := &chattest.Cutter{}, newInbox()
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "alice", Password: "pw-alice",
		Reconnect: true, MaxReconnectDelay: time.Second, Dialer: onet.Dial, Handler: oin.handle})
	require.NoError(t, err)
	defer op.Close()
	conv := cust.ConversationID()
	oin.wait(t, "assignment", isAssigned(conv))
	cnet.Cut()
	oin.wait(t, "customer away", isEvent(conv, chat.EventAway))
	_, err = op.SendTo(ctx, conv, "", "your refund code is 12345")
	require.NoError(t, err)
	require.NoError(t, op.CloseConversation(ctx, conv))
	cin.wait(t, "the message sent while away", isPost(conv, "your refund code is 12345"))
	cin.wait(t, "the close", isEvent(conv, chat.EventClosed))
	assert.Nil(t, cust.Err(), "the customer's client ended: %v", cust.Err())

	// The operator is away.
	bo, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Bo", CustomerID: "b"})
	require.NoError(t, err)
	defer bo.Close()
	conv2 := bo.ConversationID()
	oin.wait(t, "assignment", isAssigned(conv2))
	onet.Cut()
	require.Eventually(t, func() bool { return srv.Chat.Stats().Operators == 0 }, 5*time.Second, 5*time.Millisecond)
	_, err = bo.Send(ctx, "thanks, bye")
	require.NoError(t, err)
	require.NoError(t, bo.CloseConversation(ctx, 0))
	oin.wait(t, "the message sent while away", isPost(conv2, "thanks, bye"))
	oin.wait(t, "the close", isEvent(conv2, chat.EventClosed))
}
