package chat_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// png is the smallest header net/http sniffs as image/png.
var png = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100_000)...)

func TestAttachments(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.Files.MaxFile = 200_000; s.Files.MaxPerConversation = 150_000 }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "luis", oin)
	cin := newInbox()
	cust := customer(t, srv, "Ana", cin, false)
	conv := cust.ConversationID()
	oin.wait(t, "assignment", isAssigned(conv))

	var progress []int64
	ack, err := cust.SendFile(ctx, 0, "../../etc/evidencia\x00.png", bytes.NewReader(png), 1<<20,
		func(sent, total int64) { progress = append(progress, sent) })
	require.NoError(t, err)
	require.Len(t, progress, 4, "progress %v", progress)
	assert.Equal(t, int64(len(png)), progress[3], "progress %v", progress)
	p := oin.wait(t, "attachment post", func(m chat.Message) bool { p, ok := m.(*chat.Post); return ok && p.Kind == chat.PostAttachment }).(*chat.Post)
	assert.Equal(t, ack.Seq, p.Seq, "post %+v", p)
	assert.Equal(t, "evidencia.png", p.FileName, "post %+v", p)
	assert.Equal(t, "image/png", p.MediaType, "post %+v", p)
	assert.Equal(t, int64(len(png)), p.Size, "post %+v", p)
	var got bytes.Buffer
	meta, err := op.Fetch(ctx, p.AttachmentID, &got)
	require.NoError(t, err, "Fetch")
	assert.True(t, bytes.Equal(got.Bytes(), png), "Fetch = %d bytes, want the %d sent", got.Len(), len(png))
	assert.Equal(t, "evidencia.png", meta.Name, "Fetch's FILE_START %+v", meta)

	// Refusals: a type not allowed, too large, over the conversation's
	// total, and bytes that do not match the declared checksum.
	exe := append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 1000)...)
	_, err = cust.SendFile(ctx, 0, "setup.exe", bytes.NewReader(exe), 1<<20, nil)
	assert.True(t, isCode(err, chat.CodeMediaType), "SendFile(setup.exe) = %v, want %s", err, chat.CodeMediaType)
	_, err = cust.SendFile(ctx, 0, "big.png", bytes.NewReader(make([]byte, 300_000)), 1<<20, nil)
	assert.True(t, isCode(err, chat.CodeTooLarge), "SendFile(too large) = %v, want %s", err, chat.CodeTooLarge)
	_, err = cust.SendFile(ctx, 0, "second.png", bytes.NewReader(png), 1<<20, nil)
	assert.True(t, isCode(err, chat.CodeTooLarge), "SendFile(over the conversation's total) = %v, want %s", err, chat.CodeTooLarge)
	// Raw frames: a checksum that does not match.
	nc := rawCustomer(t, srv)
	sum := sha256.Sum256([]byte("other"))
	nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: 1, Name: "x.txt", Size: 5, SHA256: sum[:], ClientMsgID: "f"}))
	nc.Write(chat.AppendMessage(nil, &chat.FileChunk{TransferID: 1, Data: []byte("hello")}))
	nc.Write(chat.AppendMessage(nil, &chat.FileEnd{TransferID: 1}))
	e := readUntil(t, nc, func(m chat.Message) bool { _, ok := m.(*chat.Error); return ok }).(*chat.Error)
	assert.Equal(t, chat.CodeChecksum, e.Code, "checksum: %v", e)
	assert.Equal(t, "f", e.ClientMsgID, "checksum: %v", e)
	// Another conversation's attachment is not the customer's to fetch.
	_, err = chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Eve", CustomerID: "e"})
	require.NoError(t, err)
}

func rawCustomer(t *testing.T, srv *chattest.Server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Raw", CustomerID: "raw"}))
	readUntil(t, nc, func(m chat.Message) bool { _, ok := m.(*chat.Welcome); return ok })
	return nc
}

var readers = map[net.Conn]*chat.FrameReader{}

func readUntil(t *testing.T, nc net.Conn, match func(chat.Message) bool) chat.Message {
	t.Helper()
	m, err := readUntilErr(nc, match)
	require.NoError(t, err)
	return m
}

// readUntilErr is readUntil for a goroutine other than the test's (as in
// an Eventually condition): it returns what failed.
func readUntilErr(nc net.Conn, match func(chat.Message) bool) (chat.Message, error) {
	fr := readers[nc]
	if fr == nil {
		fr = chat.NewFrameReader(nc, 0)
		readers[nc] = fr
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.Read()
		if err != nil {
			return nil, fmt.Errorf("reading: %w", err)
		}
		m, err := chat.Decode(f)
		if err != nil {
			return nil, err
		}
		if match(m) {
			return m, nil
		}
	}
}

// A client that does not read is cut off with a reason; the others are
// served meanwhile.
func TestSlowConsumer(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.OutboundLimit = 64 << 10; s.MessageRate = -1 }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "luis", oin)
	// The slow customer: a raw connection that stops reading.
	slow, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	defer slow.Close()
	slow.(*net.TCPConn).SetReadBuffer(4096)
	slow.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Slow", CustomerID: "s"}))
	a := oin.wait(t, "slow customer assigned", isAssigned(0)).(*chat.Assigned)
	cin := newInbox()
	fast := customer(t, srv, "Fast", cin, false)
	b := oin.wait(t, "fast customer assigned", isAssigned(fast.ConversationID())).(*chat.Assigned)

	text := strings.Repeat("x", chat.MaxText)
	start := time.Now()
	var refused error
	for i := 0; i < 2000 && refused == nil && !oin.has(isEvent(a.ConversationID, chat.EventAway)); i++ {
		_, refused = op.SendTo(ctx, a.ConversationID, "", text)
		if i%50 == 0 { // the fast customer is served throughout
			_, err := op.SendTo(ctx, b.ConversationID, "", "ping")
			require.NoError(t, err, "SendTo(the fast customer)")
		}
	}
	// The slow customer was dropped: its conversation stays, the
	// operator is told it is away.
	oin.wait(t, "slow customer away", isEvent(a.ConversationID, chat.EventAway))
	took := time.Since(start)
	assert.LessOrEqual(t, took, 30*time.Second, "cutting off the slow customer took %s", took)
	_, err = fast.Send(ctx, "sigo aquí")
	assert.NoError(t, err, "Send(the fast customer)")
}

func TestLimits(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) {
			s.Heartbeat = 100 * time.Millisecond
			s.MessageRate, s.MessageBurst = 1, 3
			s.MaxConnections = 3
		}})
	defer srv.Close()
	ctx := testCtx(t)

	// Connections: the fourth is refused.
	cin := newInbox()
	c := customer(t, srv, "Ana", cin, false)
	bo, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Bo", CustomerID: "b"})
	require.NoError(t, err)
	operator(t, srv, "luis", newInbox())
	_, err = chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Cy", CustomerID: "c"})
	require.True(t, isCode(err, chat.CodeTooManyConns), "Dial(a fourth connection) = %v, want %s", err, chat.CodeTooManyConns)
	bo.Close()

	// Rate: the burst passes, the rest is refused without closing.
	var limited int
	for i := range 6 {
		if _, err := c.SendTo(ctx, 0, "", "m"+string(rune('a'+i))); isCode(err, chat.CodeRateLimited) {
			limited++
		} else {
			require.NoError(t, err, "SendTo(message %d)", i)
		}
	}
	assert.GreaterOrEqual(t, limited, 2, "messages of 6 rate limited (burst 3, 1/s)")

	// Heartbeat: a client that goes silent is closed with a reason (Bo's
	// place frees once the server has seen it go).
	// The condition runs on a goroutine of its own: a failure to dial or
	// read ends the wait and is reported on the test's goroutine.
	var silent net.Conn
	var failed error
	require.Eventually(t, func() bool {
		nc, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			failed = err
			return true
		}
		nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Raw", CustomerID: "raw"}))
		m, err := readUntilErr(nc, func(m chat.Message) bool {
			_, w := m.(*chat.Welcome)
			_, e := m.(*chat.Error)
			return w || e
		})
		if err != nil {
			nc.Close()
			failed = err
			return true
		}
		if _, ok := m.(*chat.Welcome); ok {
			silent = nc
			return true
		}
		nc.Close()
		return false
	}, 5*time.Second, 10*time.Millisecond, "Bo's connection never freed its place")
	require.NoError(t, failed)
	defer silent.Close()
	start := time.Now()
	e := readUntil(t, silent, func(m chat.Message) bool { _, ok := m.(*chat.Error); return ok }).(*chat.Error)
	took := time.Since(start)
	assert.Equal(t, chat.CodeHeartbeatLost, e.Code, "silent client: %v", e)
	assert.LessOrEqual(t, took, 2*time.Second, "the silent client was closed after %s", took)
}

func TestOperatorLogin(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	ctx := testCtx(t)
	for i := range 5 {
		_, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "wrong"})
		require.True(t, isCode(err, chat.CodeAuthFailed), "Dial(wrong password, attempt %d) = %v, want %s", i, err, chat.CodeAuthFailed)
	}
	// Locked out for a minute, even with the right password.
	_, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis"})
	assert.True(t, isCode(err, chat.CodeRateLimited), "Dial(after 5 failures) = %v, want %s", err, chat.CodeRateLimited)
	// Customers vouched for by the website.
	token := srv.Customer("c-9", "Ana", "ana@example.com")
	c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Token: token})
	require.NoError(t, err)
	rec, _ := srv.Store.Conversation(ctx, c.ConversationID())
	assert.Equal(t, "c-9", rec.CustomerID, "conversation %+v", rec)
	assert.Equal(t, "Ana", rec.CustomerName, "conversation %+v", rec)
	c.Close()
	expired := chat.SignCustomer(srv.Secret, chat.CustomerClaims{ID: "x", Expires: time.Now().Add(-time.Second)})
	_, err = chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Token: expired})
	assert.True(t, isCode(err, chat.CodeAuthFailed), "Dial(expired token) = %v, want %s", err, chat.CodeAuthFailed)
}

func TestTransferAndShutdown(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis", "ana": "pw-ana"}})
	ctx := testCtx(t)
	lin := newInbox()
	luis := operator(t, srv, "luis", lin)
	cin := newInbox()
	cust := customer(t, srv, "Bea", cin, false)
	conv := cust.ConversationID()
	lin.wait(t, "assignment", isAssigned(conv))
	ain := newInbox()
	ana := operator(t, srv, "ana", ain)
	require.NoError(t, luis.Transfer(ctx, conv, "ana"))
	ain.wait(t, "transferred to ana", isAssigned(conv))
	cin.wait(t, "transfer event", isEvent(conv, chat.EventTransferred))
	_, err := ana.SendTo(ctx, conv, "", "soy Ana")
	require.NoError(t, err)
	_, err = luis.SendTo(ctx, conv, "", "x")
	assert.True(t, isCode(err, chat.CodeForbidden), "SendTo(by the old operator) = %v, want %s", err, chat.CodeForbidden)
	require.NoError(t, ana.History(conv, 0))
	ain.wait(t, "history", isPost(conv, "Bea is waiting for an operator"))

	srv.Close()
	select {
	case <-cust.Done():
	case <-time.After(5 * time.Second):
		require.FailNow(t, "customer not told of the shutdown")
	}
	assert.True(t, isCode(cust.Err(), chat.CodeShuttingDown), "customer's Err() = %v, want %s", cust.Err(), chat.CodeShuttingDown)
}

func (b *inbox) has(match func(chat.Message) bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if match(m) {
			return true
		}
	}
	return false
}
