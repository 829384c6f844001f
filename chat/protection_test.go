package chat_test

import (
	"bytes"
	"crypto/sha256"
	"net"
	"strings"
	"testing"
	"time"

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
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != 4 || progress[3] != int64(len(png)) {
		t.Fatalf("progress %v", progress)
	}
	p := oin.wait(t, "attachment post", func(m chat.Message) bool { p, ok := m.(*chat.Post); return ok && p.Kind == chat.PostAttachment }).(*chat.Post)
	if p.Seq != ack.Seq || p.FileName != "evidencia.png" || p.MediaType != "image/png" || p.Size != int64(len(png)) {
		t.Fatalf("post %+v", p)
	}
	var got bytes.Buffer
	meta, err := op.Fetch(ctx, p.AttachmentID, &got)
	if err != nil || !bytes.Equal(got.Bytes(), png) || meta.Name != "evidencia.png" {
		t.Fatalf("fetch: %v, %d bytes, %+v", err, got.Len(), meta)
	}

	// Refusals: a type not allowed, too large, over the conversation's
	// total, and bytes that do not match the declared checksum.
	exe := append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 1000)...)
	if _, err := cust.SendFile(ctx, 0, "setup.exe", bytes.NewReader(exe), 1<<20, nil); !isCode(err, chat.CodeMediaType) {
		t.Fatalf("exe: %v", err)
	}
	if _, err := cust.SendFile(ctx, 0, "big.png", bytes.NewReader(make([]byte, 300_000)), 1<<20, nil); !isCode(err, chat.CodeTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if _, err := cust.SendFile(ctx, 0, "second.png", bytes.NewReader(png), 1<<20, nil); !isCode(err, chat.CodeTooLarge) {
		t.Fatalf("over the conversation's total: %v", err)
	}
	// Raw frames: a checksum that does not match.
	nc := rawCustomer(t, srv)
	sum := sha256.Sum256([]byte("other"))
	nc.Write(chat.AppendMessage(nil, &chat.FileStart{TransferID: 1, Name: "x.txt", Size: 5, SHA256: sum[:], ClientMsgID: "f"}))
	nc.Write(chat.AppendMessage(nil, &chat.FileChunk{TransferID: 1, Data: []byte("hello")}))
	nc.Write(chat.AppendMessage(nil, &chat.FileEnd{TransferID: 1}))
	if e := readUntil(t, nc, func(m chat.Message) bool { _, ok := m.(*chat.Error); return ok }).(*chat.Error); e.Code != chat.CodeChecksum || e.ClientMsgID != "f" {
		t.Fatalf("checksum: %v", e)
	}
	// Another conversation's attachment is not the customer's to fetch.
	if _, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Eve", CustomerID: "e"}); err != nil {
		t.Fatal(err)
	}
}

func rawCustomer(t *testing.T, srv *chattest.Server) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Raw", CustomerID: "raw"}))
	readUntil(t, nc, func(m chat.Message) bool { _, ok := m.(*chat.Welcome); return ok })
	return nc
}

var readers = map[net.Conn]*chat.FrameReader{}

func readUntil(t *testing.T, nc net.Conn, match func(chat.Message) bool) chat.Message {
	t.Helper()
	fr := readers[nc]
	if fr == nil {
		fr = chat.NewFrameReader(nc, 0)
		readers[nc] = fr
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.Read()
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		m, err := chat.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		if match(m) {
			return m
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
	if err != nil {
		t.Fatal(err)
	}
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
			if _, err := op.SendTo(ctx, b.ConversationID, "", "ping"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The slow customer was dropped: its conversation stays, the
	// operator is told it is away.
	oin.wait(t, "slow customer away", isEvent(a.ConversationID, chat.EventAway))
	if time.Since(start) > 30*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	if _, err := fast.Send(ctx, "sigo aquí"); err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	operator(t, srv, "luis", newInbox())
	if _, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Cy", CustomerID: "c"}); !isCode(err, chat.CodeTooManyConns) {
		t.Fatalf("fourth connection: %v", err)
	}
	bo.Close()

	// Rate: the burst passes, the rest is refused without closing.
	var limited int
	for i := range 6 {
		if _, err := c.SendTo(ctx, 0, "", "m"+string(rune('a'+i))); isCode(err, chat.CodeRateLimited) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited < 2 {
		t.Fatalf("%d of 6 rate limited (burst 3, 1/s)", limited)
	}

	// Heartbeat: a client that goes silent is closed with a reason (Bo's
	// place frees once the server has seen it go).
	var silent net.Conn
	for deadline := time.Now().Add(5 * time.Second); ; {
		nc, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Raw", CustomerID: "raw"}))
		m := readUntil(t, nc, func(m chat.Message) bool {
			_, w := m.(*chat.Welcome)
			_, e := m.(*chat.Error)
			return w || e
		})
		if _, ok := m.(*chat.Welcome); ok {
			silent = nc
			break
		}
		nc.Close()
		if time.Now().After(deadline) {
			t.Fatal("Bo's connection never freed its place")
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer silent.Close()
	start := time.Now()
	e := readUntil(t, silent, func(m chat.Message) bool { _, ok := m.(*chat.Error); return ok }).(*chat.Error)
	if e.Code != chat.CodeHeartbeatLost || time.Since(start) > 2*time.Second {
		t.Fatalf("silent client: %v after %s", e, time.Since(start))
	}
}

func TestOperatorLogin(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	ctx := testCtx(t)
	for i := range 5 {
		_, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "wrong"})
		if !isCode(err, chat.CodeAuthFailed) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Locked out for a minute, even with the right password.
	if _, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis"}); !isCode(err, chat.CodeRateLimited) {
		t.Fatalf("after 5 failures: %v", err)
	}
	// Customers vouched for by the website.
	token := srv.Customer("c-9", "Ana", "ana@example.com")
	c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := srv.Store.Conversation(ctx, c.ConversationID())
	if rec.CustomerID != "c-9" || rec.CustomerName != "Ana" {
		t.Fatalf("conversation %+v", rec)
	}
	c.Close()
	expired := chat.SignCustomer(srv.Secret, chat.CustomerClaims{ID: "x", Expires: time.Now().Add(-time.Second)})
	if _, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Token: expired}); !isCode(err, chat.CodeAuthFailed) {
		t.Fatalf("expired token: %v", err)
	}
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
	if err := luis.Transfer(ctx, conv, "ana"); err != nil {
		t.Fatal(err)
	}
	ain.wait(t, "transferred to ana", isAssigned(conv))
	cin.wait(t, "transfer event", isEvent(conv, chat.EventTransferred))
	if _, err := ana.SendTo(ctx, conv, "", "soy Ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := luis.SendTo(ctx, conv, "", "x"); !isCode(err, chat.CodeForbidden) {
		t.Fatalf("old operator: %v", err)
	}
	if err := ana.History(conv, 0); err != nil {
		t.Fatal(err)
	}
	ain.wait(t, "history", isPost(conv, "Bea is waiting for an operator"))

	srv.Close()
	select {
	case <-cust.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("customer not told of the shutdown")
	}
	if !isCode(cust.Err(), chat.CodeShuttingDown) {
		t.Fatalf("customer: %v", cust.Err())
	}
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
