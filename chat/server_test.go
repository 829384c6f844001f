package chat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
)

func TestMain(m *testing.M) {
	if os.Getenv(fdChildEnv) != "" {
		fdLimitedServer() // a child process of TestServerOutlivesRunningOutOfFileDescriptors
	}
	goleak.VerifyTestMain(m)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// inbox collects what a client's handler gets.
type inbox struct {
	mu   sync.Mutex
	msgs []chat.Message
	ch   chan struct{}
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 1)} }

func (b *inbox) handle(m chat.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
	select {
	case b.ch <- struct{}{}:
	default:
	}
}

// wait returns the first message (in arrival order, after skipping the
// ones already taken) that match accepts.
func (b *inbox) wait(t *testing.T, what string, match func(chat.Message) bool) chat.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		for i, m := range b.msgs {
			if match(m) {
				b.msgs = append(b.msgs[:i], b.msgs[i+1:]...)
				b.mu.Unlock()
				return m
			}
		}
		b.mu.Unlock()
		select {
		case <-b.ch:
		case <-deadline:
			b.mu.Lock()
			defer b.mu.Unlock()
			require.Failf(t, "no "+what, "got %d other frames: %s", len(b.msgs), describe(b.msgs))
		}
	}
}

func describe(ms []chat.Message) string {
	var s []string
	for i, m := range ms {
		if i == 20 {
			s = append(s, fmt.Sprintf("... %d more", len(ms)-20))
			break
		}
		d := fmt.Sprintf("%s%+v", m.Type(), m)
		if len(d) > 200 {
			d = d[:200] + "..."
		}
		s = append(s, d)
	}
	return strings.Join(s, "; ")
}

func (b *inbox) posts(conv int64) []*chat.Post {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*chat.Post
	for _, m := range b.msgs {
		if p, ok := m.(*chat.Post); ok && p.ConversationID == conv {
			out = append(out, p)
		}
	}
	return out
}

func isPost(conv int64, text string) func(chat.Message) bool {
	return func(m chat.Message) bool {
		p, ok := m.(*chat.Post)
		return ok && p.ConversationID == conv && p.Text == text
	}
}

func isEvent(conv int64, kind chat.EventKind) func(chat.Message) bool {
	return func(m chat.Message) bool {
		e, ok := m.(*chat.Event)
		return ok && e.ConversationID == conv && e.Kind == kind
	}
}

func isAssigned(conv int64) func(chat.Message) bool {
	return func(m chat.Message) bool {
		a, ok := m.(*chat.Assigned)
		return ok && (conv == 0 || a.ConversationID == conv)
	}
}

func customer(t *testing.T, srv *chattest.Server, name string, in *inbox, reconnect bool) *chat.Client {
	t.Helper()
	c, err := chat.Dial(testCtx(t), srv.Addr, &chat.ClientOptions{Name: name, Email: strings.ToLower(name) + "@example.com",
		Handler: in.handle, Reconnect: reconnect})
	require.NoError(t, err, "Dial(customer %s)", name)
	t.Cleanup(func() { c.Close() })
	return c
}

func operator(t *testing.T, srv *chattest.Server, login string, in *inbox) *chat.Client {
	t.Helper()
	c, err := chat.Dial(testCtx(t), srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: login, Password: "pw-" + login,
		Handler: in.handle})
	require.NoError(t, err, "Dial(operator %s)", login)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConversation(t *testing.T) {
	closed := make(chan store.Transcript, 1)
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.OnClose = func(ctx context.Context, t store.Transcript) { closed <- t } }})
	defer srv.Close()
	ctx := testCtx(t)

	cin := newInbox()
	cust := customer(t, srv, "Ana", cin, false)
	conv := cust.ConversationID()
	e := cin.wait(t, "queued event", isEvent(conv, chat.EventQueued)).(*chat.Event)
	assert.Equal(t, 1, e.Position, "queued position")
	oin := newInbox()
	op := operator(t, srv, "luis", oin)
	a := oin.wait(t, "assignment", isAssigned(conv)).(*chat.Assigned)
	assert.Equal(t, "Ana", a.CustomerName, "assigned %+v", a)
	assert.Equal(t, "ana@example.com", a.Email, "assigned %+v", a)
	cin.wait(t, "assigned event", isEvent(conv, chat.EventAssigned))

	ack, err := cust.SendTo(ctx, 0, "c-1", "hola, el pedido no llegó")
	require.NoError(t, err)
	oin.wait(t, "customer's message", isPost(conv, "hola, el pedido no llegó"))
	again, err := cust.SendTo(ctx, 0, "c-1", "hola, el pedido no llegó")
	require.NoError(t, err, "the retry")
	assert.Equal(t, ack.Seq, again.Seq, "the retry's seq")
	_, err = op.SendTo(ctx, conv, "", "Lo reviso, un momento")
	require.NoError(t, err)
	cin.wait(t, "operator's answer", isPost(conv, "Lo reviso, un momento"))
	require.NoError(t, op.Typing(conv, true))
	cin.wait(t, "typing", func(m chat.Message) bool {
		ty, ok := m.(*chat.Typing)
		return ok && ty.On && ty.Role == chat.RoleOperator
	})
	require.NoError(t, cust.MarkRead(0, ack.Seq+1))
	oin.wait(t, "read receipt", func(m chat.Message) bool { r, ok := m.(*chat.Read); return ok && r.Role == chat.RoleCustomer })

	// A conversation that is not the operator's is refused.
	_, err = op.SendTo(ctx, conv+100, "", "x")
	assert.True(t, isCode(err, chat.CodeForbidden), "SendTo(a foreign conversation) = %v, want %s", err, chat.CodeForbidden)

	require.NoError(t, op.CloseConversation(ctx, conv))
	cin.wait(t, "closed event", isEvent(conv, chat.EventClosed))
	tr := <-closed
	var texts []string
	for _, m := range tr.Messages {
		texts = append(texts, m.Text)
	}
	want := []string{"Ana is waiting for an operator",
		"Sorry, no operator is online now. You keep your place in line until an operator can answer.",
		"luis joined the conversation", "hola, el pedido no llegó",
		"Lo reviso, un momento", "luis closed the conversation"}
	assert.Equal(t, want, texts, "the stored transcript")
	st := srv.Chat.Stats()
	assert.Equal(t, [3]int64{1, 1, 4}, [3]int64{st.CustomerMessages, st.OperatorMessages, st.SystemMessages},
		"messages counted by sender; the retry is not a message")
	var txt bytes.Buffer
	_, err = op.Transcript(ctx, conv, chat.FormatText, &txt)
	require.NoError(t, err)
	assert.Contains(t, txt.String(), "Ana: hola, el pedido no llegó", "the text transcript")
	assert.Contains(t, txt.String(), "luis: Lo reviso", "the text transcript")
	_, err = cust.Send(ctx, "¿sigue ahí?")
	assert.True(t, isCode(err, chat.CodeConflict), "Send(after the close) = %v, want %s", err, chat.CodeConflict)
}

func isCode(err error, code chat.ErrorCode) bool {
	var e *chat.Error
	return errors.As(err, &e) && e.Code == code
}

// Five customers at once, an operator with room for two: exactly two are
// served, the others wait in order and move up when a place frees.
func TestCapacity(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.MaxConversations = 2 }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "luis", oin)

	var wg sync.WaitGroup
	custs := make([]*chat.Client, 5)
	ins := make([]*inbox, 5)
	for i := range custs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ins[i] = newInbox()
			c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: fmt.Sprintf("C%d", i), CustomerID: fmt.Sprint(i), Handler: ins[i].handle})
			if !assert.NoError(t, err, "Dial(customer C%d)", i) { // assert, not require: this is not the test's goroutine
				return
			}
			custs[i] = c
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range custs {
			if c != nil {
				c.Close()
			}
		}
	}()
	first := oin.wait(t, "first", isAssigned(0)).(*chat.Assigned)
	oin.wait(t, "second", isAssigned(0))
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, oin.posts(-1), "posts of conversation -1")
	oin.mu.Lock()
	extra := 0
	for _, m := range oin.msgs {
		if _, ok := m.(*chat.Assigned); ok {
			extra++
		}
	}
	oin.mu.Unlock()
	assert.Zero(t, extra, "assignments beyond capacity")
	q := oin.wait(t, "queue of 3", func(m chat.Message) bool { q, ok := m.(*chat.Queue); return ok && q.Total == 3 }).(*chat.Queue)
	require.Len(t, q.Entries, 3, "queue %+v", q)
	require.NoError(t, op.CloseConversation(ctx, first.ConversationID))
	third := oin.wait(t, "third after a close", isAssigned(0)).(*chat.Assigned)
	assert.Equal(t, q.Entries[0].ConversationID, third.ConversationID, "the assignment after a close is not the line's head")
	_, err := op.Accept(ctx, 0)
	assert.True(t, isCode(err, chat.CodeConflict), "Accept(beyond capacity) = %v, want %s", err, chat.CodeConflict)
}

// A customer who reconnects with the resume token gets what it missed,
// once, and its unacknowledged message is stored once.
func TestResume(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "luis", oin)
	cin := newInbox()
	var mu sync.Mutex
	var current net.Conn
	cust, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com", Handler: cin.handle, Reconnect: true,
		Dialer: func(ctx context.Context, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			mu.Lock()
			current = nc
			mu.Unlock()
			return nc, err
		}})
	require.NoError(t, err)
	defer cust.Close()
	conv := cust.ConversationID()
	oin.wait(t, "assignment", isAssigned(conv))
	_, err = cust.Send(ctx, "uno")
	require.NoError(t, err)
	// Drop the customer's connection under it (as a network would).
	mu.Lock()
	current.Close()
	mu.Unlock()
	oin.wait(t, "away", isEvent(conv, chat.EventAway))
	for _, text := range []string{"dos", "tres"} {
		_, err := op.SendTo(ctx, conv, "", text)
		require.NoError(t, err, "SendTo(%q)", text)
	}
	cin.wait(t, "missed dos", isPost(conv, "dos"))
	cin.wait(t, "missed tres", isPost(conv, "tres"))
	oin.wait(t, "back", isEvent(conv, chat.EventBack))
	_, err = cust.Send(ctx, "cuatro")
	require.NoError(t, err)
	oin.wait(t, "after resume", isPost(conv, "cuatro"))
	tr, _ := srv.Store.Transcript(ctx, conv)
	count := map[string]int{}
	for _, m := range tr.Messages {
		count[m.Text]++
	}
	for _, text := range []string{"uno", "dos", "tres", "cuatro"} {
		assert.Equal(t, 1, count[text], "times %q is stored", text)
	}
	// The customer saw each POST once.
	seen := map[int64]int{}
	cin.mu.Lock()
	for _, m := range cin.msgs {
		if p, ok := m.(*chat.Post); ok {
			seen[p.Seq]++
		}
	}
	cin.mu.Unlock()
	for seq, n := range seen {
		assert.LessOrEqual(t, n, 1, "times seq %d is delivered", seq)
	}
}

func TestProtocolErrors(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	// read takes the subtest's t: require must stop the goroutine it runs on.
	read := func(t *testing.T, nc net.Conn) *chat.Error {
		t.Helper()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		fr := chat.NewFrameReader(nc, 0)
		for {
			f, err := fr.Read()
			require.NoError(t, err, "reading")
			m, _ := chat.Decode(f)
			if e, ok := m.(*chat.Error); ok {
				require.NotZero(t, f.Flags&chat.FlagFinal, "error without the final flag: %v", e)
				return e
			}
		}
	}
	cases := map[string]struct {
		send []byte
		code chat.ErrorCode
	}{
		"garbage":        {[]byte("GET / HTTP/1.1\r\n\r\n"), chat.CodeBadVersion},
		"too large":      {[]byte{chat.Version, byte(chat.TypeHello), 0, 0, 0x10, 0, 0, 0}, chat.CodeBadFrame},
		"not hello":      {chat.AppendMessage(nil, &chat.Send{Text: "x"}), chat.CodeUnexpected},
		"bad payload":    {chat.AppendFrame(nil, chat.TypeHello, 0, []byte{1, 0xff}), chat.CodeBadFrame},
		"anonymous":      {chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer}), chat.CodeAuthFailed},
		"bad token":      {chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Token: "x.y"}), chat.CodeAuthFailed},
		"unknown resume": {chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Resume: "1.99999999999.x"}), chat.CodeResumeExpired},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			nc, err := net.Dial("tcp", srv.Addr)
			require.NoError(t, err)
			defer nc.Close()
			nc.Write(tc.send)
			e := read(t, nc)
			assert.Equal(t, tc.code, e.Code, "the error: %v", e)
		})
	}
	// The server goes on serving.
	c, err := chat.Dial(testCtx(t), srv.Addr, &chat.ClientOptions{Name: "X", CustomerID: "1"})
	require.NoError(t, err, "Dial after the protocol errors")
	c.Close()
}
