package chat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
)

// events records what Server.OnEvent gets.
type events struct {
	mu  sync.Mutex
	got []chat.ConversationEvent
}

func (e *events) hook(ev chat.ConversationEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
}

func (e *events) kinds(conv int64) []chat.ConversationEventKind {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []chat.ConversationEventKind
	for _, ev := range e.got {
		if ev.ConversationID == conv {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// closedHours is open only on a day that is not today.
func closedHours(t *testing.T) *chat.BusinessHours {
	loc, err := time.LoadLocation("Europe/Madrid")
	require.NoError(t, err)
	h := &chat.BusinessHours{Location: loc}
	other := (time.Now().In(loc).Weekday() + 3) % 7
	h.Week[other] = []chat.Span{{From: 9 * time.Hour, To: 18 * time.Hour}}
	return h
}

// Out of hours a customer is told at once, with the hours, and leaves a
// message: not routed to the operator who is online, handed to
// OnLeftMessage when the customer closes, whose reference the customer
// reads before the conversation ends. The events come in order.
func TestOutOfHoursCustomerLeavesAMessage(t *testing.T) {
	ev := &events{}
	var left []store.Transcript
	var mu sync.Mutex
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}, Configure: func(s *chat.Server) {
		s.Hours, s.LeaveMessages, s.OnEvent = closedHours(t), true, ev.hook
		s.OnLeftMessage = func(ctx context.Context, tr store.Transcript) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			left = append(left, tr)
			return "ticket 2026120410000017", nil
		}
	}})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	operator(t, srv, "luis", oin)
	cin := newInbox()
	c := customer(t, srv, "Ana", cin, false)
	conv := c.ConversationID()
	off := cin.wait(t, "offline event", isEvent(conv, chat.EventOffline)).(*chat.Event)
	assert.Contains(t, off.Text, "we are closed now; our hours are")
	assert.Contains(t, off.Text, "9:00-18:00 (Europe/Madrid)")
	assert.Contains(t, off.Text, "we open again")
	_, err := c.Send(ctx, "my router blinks red")
	require.NoError(t, err)
	require.NoError(t, c.CloseConversation(ctx, 0))
	ref := cin.wait(t, "the reference", isPost(conv, "Your message was recorded: ticket 2026120410000017"))
	closed := cin.wait(t, "closed", isEvent(conv, chat.EventClosed))
	_, _ = ref, closed
	assert.False(t, oin.has(isAssigned(conv)), "a message left out of hours was routed")
	mu.Lock()
	require.Len(t, left, 1)
	assert.True(t, left[0].Conversation.LeftMessage)
	var texts []string
	for _, m := range left[0].Messages {
		texts = append(texts, m.Text)
	}
	mu.Unlock()
	assert.Contains(t, texts, "my router blinks red")
	rec, err := srv.Store.Conversation(ctx, conv)
	require.NoError(t, err)
	assert.True(t, rec.LeftMessage)
	assert.Equal(t, store.ConversationClosed, rec.State)
	require.Eventually(t, func() bool { return len(ev.kinds(conv)) == 3 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []chat.ConversationEventKind{chat.ConversationOpened, chat.ConversationLeftMessage, chat.ConversationClosed},
		ev.kinds(conv))
}

// With nobody online, a customer who writes and goes away leaves a
// message all the same: it ends after LeftMessageGrace (also across a
// server restart) and reaches OnLeftMessage once; one who wrote nothing
// does not.
func TestCustomerWhoLeavesStillLeavesAMessage(t *testing.T) {
	got := make(chan store.Transcript, 4)
	configure := func(s *chat.Server) {
		s.LeaveMessages, s.LeftMessageGrace = true, 300*time.Millisecond
		s.OnLeftMessage = func(ctx context.Context, tr store.Transcript) (string, error) {
			got <- tr
			return "", nil
		}
	}
	st := chattest.NewMemStore()
	srv := chattest.NewServer(&chattest.Config{Store: st, Configure: configure})
	ctx := testCtx(t)
	writer, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", CustomerID: "a"})
	require.NoError(t, err)
	_, err = writer.Send(ctx, "please call me back")
	require.NoError(t, err)
	silent, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Bo", CustomerID: "b"})
	require.NoError(t, err)
	writer.Close()
	silent.Close()
	// The server restarts before the grace is over.
	srv.Close()
	srv = chattest.NewServer(&chattest.Config{Store: st, Configure: configure})
	defer srv.Close()
	select {
	case tr := <-got:
		assert.Equal(t, writer.ConversationID(), tr.Conversation.ID)
	case <-time.After(10 * time.Second):
		t.Fatal("the message left was never handed over")
	}
	require.Eventually(t, func() bool {
		a, _ := st.Conversation(ctx, writer.ConversationID())
		b, _ := st.Conversation(ctx, silent.ConversationID())
		return a.State == store.ConversationClosed && b.State == store.ConversationClosed
	}, 10*time.Second, 20*time.Millisecond)
	select {
	case tr := <-got:
		t.Fatalf("a conversation with nothing written was handed over: %d", tr.Conversation.ID)
	case <-time.After(100 * time.Millisecond):
	}
}

// Without LeaveMessages a customer who comes when nobody is online is
// told so and waits in line; the first operator to log in gets them.
func TestNobodyOnlineCustomerWaitsInLine(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	cin := newInbox()
	c := customer(t, srv, "Ana", cin, false)
	off := cin.wait(t, "offline event", isEvent(c.ConversationID(), chat.EventOffline)).(*chat.Event)
	assert.Contains(t, off.Text, "no operator is online now")
	oin := newInbox()
	operator(t, srv, "luis", oin)
	oin.wait(t, "assignment", isAssigned(c.ConversationID()))
}

// A customer in line hears the expected wait once the line has moved a
// few times, and hears its place change.
func TestQueuedCustomersHearTheExpectedWait(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.MaxConversations = 1 }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "luis", oin)
	var custs []*chat.Client
	var inboxes []*inbox
	for i := range 6 {
		in := newInbox()
		custs = append(custs, customer(t, srv, fmt.Sprint("C", i), in, false))
		inboxes = append(inboxes, in)
	}
	for i := range 4 {
		oin.wait(t, "assignment", isAssigned(custs[i].ConversationID()))
		time.Sleep(50 * time.Millisecond)
		require.NoError(t, op.CloseConversation(ctx, custs[i].ConversationID()))
	}
	last := custs[5].ConversationID()
	e := inboxes[5].wait(t, "a place with a wait", func(m chat.Message) bool {
		e, ok := m.(*chat.Event)
		return ok && e.ConversationID == last && e.Kind == chat.EventQueued && e.Wait > 0
	}).(*chat.Event)
	assert.LessOrEqual(t, e.Position, 2)
	assert.Less(t, e.Wait, 10*time.Second)
}

func TestBusinessHours(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Madrid")
	require.NoError(t, err)
	h := &chat.BusinessHours{Location: loc, Holidays: []string{"2026-12-08"}}
	for d := time.Monday; d <= time.Friday; d++ {
		h.Week[d] = []chat.Span{{From: 9 * time.Hour, To: 14 * time.Hour}, {From: 15 * time.Hour, To: 18 * time.Hour}}
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		require.NoError(t, err)
		return tm
	}
	for when, open := range map[string]bool{
		"2026-12-07 08:59": false, "2026-12-07 09:00": true, "2026-12-07 14:30": false, "2026-12-07 17:59": true,
		"2026-12-07 18:00": false, "2026-12-08 10:00": false, "2026-12-12 10:00": false,
		// The clock changes on 2026-03-29 (Sunday) and 2026-10-25.
		"2026-03-30 09:00": true, "2026-10-26 08:30": false,
	} {
		assert.Equal(t, open, h.Open(at(when)), "open at %s", when)
	}
	assert.Equal(t, at("2026-12-09 09:00"), h.NextOpen(at("2026-12-07 18:30")), "over the holiday")
	assert.Equal(t, at("2026-12-07 15:00"), h.NextOpen(at("2026-12-07 14:10")), "after lunch")
	assert.Equal(t, at("2026-03-30 09:00"), h.NextOpen(at("2026-03-28 12:00")), "across the clock change")
	assert.Equal(t, "Mon 9:00-14:00, 15:00-18:00; Tue 9:00-14:00, 15:00-18:00; Wed 9:00-14:00, 15:00-18:00; "+
		"Thu 9:00-14:00, 15:00-18:00; Fri 9:00-14:00, 15:00-18:00 (Europe/Madrid)", h.Describe())
	var never chat.BusinessHours
	assert.False(t, never.Open(time.Now()))
	assert.True(t, never.NextOpen(time.Now()).IsZero())
	var always *chat.BusinessHours
	assert.True(t, always.Open(time.Now()))
}
