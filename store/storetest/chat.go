package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

var chatTests = []test{
	{"ConversationLifecycle", testConversationLifecycle},
	{"AppendSequence", testAppendSequence},
	{"AppendIdempotent", testAppendIdempotent},
	{"AppendClosed", testAppendClosed},
	{"AppendConcurrent", testAppendConcurrent},
	{"AppendConcurrentRetries", testAppendConcurrentRetries},
	{"AppendMessages", testAppendMessages},
	{"AppendMessagesConcurrent", testAppendMessagesConcurrent},
	{"Attachments", testChatAttachments},
	{"Transcript", testTranscript},
	{"ChatOperators", testChatOperators},
	{"CleanNamesAndTexts", testCleanNamesAndTexts},
	{"ConversationFlags", testConversationFlags},
}

// testConversationFlags: Verified and LeftMessage are kept as given.
func testConversationFlags(t *testing.T, e *env) {
	ctx := e.ctx(t)
	for _, c := range []store.Conversation{
		{CustomerName: "A", CustomerID: "a", Verified: true},
		{CustomerName: "B", CustomerID: "b", LeftMessage: true},
		{CustomerName: "C", CustomerID: "c"},
	} {
		must(t, e.CreateConversation(ctx, &c))
		got, err := e.Conversation(ctx, c.ID)
		must(t, err)
		if got.Verified != c.Verified || got.LeftMessage != c.LeftMessage {
			t.Errorf("Conversation(%d) flags = verified %v, left message %v; want %v, %v", c.ID, got.Verified, got.LeftMessage,
				c.Verified, c.LeftMessage)
		}
	}
}

// testCleanNamesAndTexts: what a customer typed can forge nothing in
// what is read back (a name with a line break, a text with a carriage
// return or a bidirectional override): the store keeps it cleaned.
func testCleanNamesAndTexts(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := store.Conversation{CustomerName: "Eve\n[2026-01-01 10:00:00] bob: Approved", CustomerID: "e\u202E1", CustomerEmail: " eve@example.com\r"}
	must(t, e.CreateConversation(ctx, &c))
	m, _, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer, SenderID: "customer",
		Text: "hola\r\n[10:00] bob: ok\u202Etxt.exe\x1b[2J"})
	must(t, err)
	a := store.Attachment{ConversationID: c.ID, Name: "invoice\u202Efdp.exe\n", Data: []byte("x")}
	must(t, e.PutAttachment(ctx, &a))
	got, err := e.Conversation(ctx, c.ID)
	must(t, err)
	want := store.Conversation{CustomerName: "Eve [2026-01-01 10:00:00] bob: Approved", CustomerID: "e1", CustomerEmail: "eve@example.com"}
	if got.CustomerName != want.CustomerName || got.CustomerID != want.CustomerID || got.CustomerEmail != want.CustomerEmail {
		t.Errorf("Conversation = %q %q %q, want %q %q %q", got.CustomerName, got.CustomerID, got.CustomerEmail,
			want.CustomerName, want.CustomerID, want.CustomerEmail)
	}
	tr, err := e.Transcript(ctx, c.ID)
	must(t, err)
	if len(tr.Messages) != 1 || tr.Messages[0].Text != "hola\n[10:00] bob: oktxt.exe[2J" || m.Text != tr.Messages[0].Text {
		t.Errorf("message text = %+v (returned %q)", tr.Messages, m.Text)
	}
	if len(tr.Attachments) != 1 || tr.Attachments[0].Name != "invoicefdp.exe" {
		t.Errorf("attachment name = %+v", tr.Attachments)
	}
}

func newConversation(t *testing.T, e *env) store.Conversation {
	t.Helper()
	c := store.Conversation{CustomerName: "Ana Pérez", CustomerEmail: "ana@example.com", CustomerID: "c-1"}
	must(t, e.CreateConversation(e.ctx(t), &c))
	return c
}

func testConversationLifecycle(t *testing.T, e *env) {
	ctx := e.ctx(t)
	opened := at("2026-03-01T10:00:00.123456Z")
	c := store.Conversation{CustomerName: "Ana", CustomerID: "c-9", OpenedAt: opened}
	must(t, e.CreateConversation(ctx, &c))
	if c.ID == 0 {
		t.Fatal("CreateConversation did not set ID")
	}
	got, err := e.Conversation(ctx, c.ID)
	must(t, err)
	eq(t, "state", got.State, store.ConversationWaiting)
	eq(t, "opened", got.OpenedAt, opened)
	if !got.AssignedAt.IsZero() || !got.ClosedAt.IsZero() {
		t.Fatalf("new conversation has assigned/closed times: %+v", got)
	}

	_, err = e.Conversation(ctx, c.ID+1000)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, e.AssignConversation(ctx, c.ID+1000, "op", time.Time{}), store.ErrNotFound)
	wantErr(t, e.AssignConversation(ctx, c.ID, "", time.Time{}), store.ErrInvalid)

	assigned := opened.Add(time.Minute)
	must(t, e.AssignConversation(ctx, c.ID, "op-1", assigned))
	got, _ = e.Conversation(ctx, c.ID)
	eq(t, "state", got.State, store.ConversationActive)
	eq(t, "operator", got.OperatorID, "op-1")
	eq(t, "assigned", got.AssignedAt, assigned)

	must(t, e.AssignConversation(ctx, c.ID, "op-2", assigned.Add(time.Second))) // transfer
	other := newConversation(t, e)
	list, err := e.Conversations(ctx, store.ConversationFilter{OperatorID: "op-2"})
	must(t, err)
	eq(t, "conversations of op-2", len(list), 1)
	eq(t, "listed id", list[0].ID, c.ID)
	list, err = e.Conversations(ctx, store.ConversationFilter{State: store.ConversationWaiting})
	must(t, err)
	eq(t, "waiting", len(list), 1)
	eq(t, "waiting id", list[0].ID, other.ID)
	list, err = e.Conversations(ctx, store.ConversationFilter{AfterID: c.ID, Limit: 10})
	must(t, err)
	eq(t, "after", len(list), 1)

	closed := assigned.Add(time.Hour)
	must(t, e.CloseConversation(ctx, c.ID, closed))
	must(t, e.CloseConversation(ctx, c.ID, closed.Add(time.Hour))) // no-op
	got, _ = e.Conversation(ctx, c.ID)
	eq(t, "state", got.State, store.ConversationClosed)
	eq(t, "closed", got.ClosedAt, closed)
	wantErr(t, e.AssignConversation(ctx, c.ID, "op-3", time.Time{}), store.ErrConflict)
	wantErr(t, e.CloseConversation(ctx, c.ID+1000, time.Time{}), store.ErrNotFound)
	wantErr(t, e.CreateConversation(ctx, &store.Conversation{State: "bogus"}), store.ErrInvalid)
}

func testAppendSequence(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newConversation(t, e)
	for i := 1; i <= 5; i++ {
		m, created, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer,
			SenderID: "c-1", Text: fmt.Sprintf("hola %d", i)})
		must(t, err)
		eq(t, "created", created, true)
		eq(t, "seq", m.Seq, int64(i))
		eq(t, "kind", m.Kind, store.KindText)
	}
	got, _ := e.Conversation(ctx, c.ID)
	eq(t, "last seq", got.LastSeq, int64(5))

	ms, err := e.MessagesAfter(ctx, c.ID, 2, 0)
	must(t, err)
	eq(t, "messages after 2", len(ms), 3)
	eq(t, "first after 2", ms[0].Seq, int64(3))
	eq(t, "text", ms[0].Text, "hola 3")
	ms, err = e.MessagesAfter(ctx, c.ID, 0, 2)
	must(t, err)
	eq(t, "limited", len(ms), 2)
	ms, err = e.MessagesAfter(ctx, c.ID, 5, 0)
	must(t, err)
	eq(t, "after last", len(ms), 0)

	// Another conversation has its own sequence.
	d := newConversation(t, e)
	m, _, err := e.AppendMessage(ctx, store.Message{ConversationID: d.ID, SenderRole: store.RoleOperator, Text: "x"})
	must(t, err)
	eq(t, "other seq", m.Seq, int64(1))

	_, _, err = e.AppendMessage(ctx, store.Message{ConversationID: c.ID + 1000, SenderRole: store.RoleCustomer, Text: "x"})
	wantErr(t, err, store.ErrNotFound)
	_, _, err = e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: "robot", Text: "x"})
	wantErr(t, err, store.ErrInvalid)
	_, _, err = e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer, Kind: store.KindAttachment})
	wantErr(t, err, store.ErrInvalid)
}

func testAppendIdempotent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newConversation(t, e)
	m1, created, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, ClientMsgID: "m-1",
		SenderRole: store.RoleCustomer, SenderID: "c-1", Text: "first"})
	must(t, err)
	eq(t, "created", created, true)
	// A retry (even with other text) returns the stored message.
	m2, created, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, ClientMsgID: "m-1",
		SenderRole: store.RoleCustomer, SenderID: "c-1", Text: "retry"})
	must(t, err)
	eq(t, "created on retry", created, false)
	eq(t, "retry seq", m2.Seq, m1.Seq)
	eq(t, "retry text", m2.Text, "first")
	eq(t, "retry client id", m2.ClientMsgID, "m-1")
	eq(t, "retry time", m2.CreatedAt, m1.CreatedAt)
	// The same client id from another sender is another message.
	m3, created, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, ClientMsgID: "m-1",
		SenderRole: store.RoleOperator, SenderID: "op-1", Text: "reply"})
	must(t, err)
	eq(t, "created for other sender", created, true)
	eq(t, "other sender seq", m3.Seq, int64(2))
	ms, _ := e.MessagesAfter(ctx, c.ID, 0, 0)
	eq(t, "stored messages", len(ms), 2)
}

func testAppendClosed(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newConversation(t, e)
	must(t, e.CloseConversation(ctx, c.ID, time.Time{}))
	_, _, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer, Text: "late"})
	wantErr(t, err, store.ErrConflict)
	m, _, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleSystem,
		Kind: store.KindSystem, Text: "closed"})
	must(t, err)
	eq(t, "system seq", m.Seq, int64(1))
}

// testAppendConcurrent appends from many goroutines (and a second handle):
// every sequence number is used exactly once, without gaps.
func testAppendConcurrent(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newConversation(t, e)
	second := e.second(t)
	const per = 25
	must(t, parallel(e.workers, func(w int) error {
		st := store.Store(e)
		if w%2 == 1 {
			st = second
		}
		for i := 0; i < per; i++ {
			if _, _, err := st.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer,
				Text: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
				return err
			}
		}
		return nil
	}))
	ms, err := e.MessagesAfter(ctx, c.ID, 0, 0)
	must(t, err)
	eq(t, "messages", len(ms), e.workers*per)
	for i, m := range ms {
		eq(t, "seq", m.Seq, int64(i+1))
	}
}

// testAppendConcurrentRetries sends the same client message id from many
// goroutines at once: exactly one copy is stored.
func testAppendConcurrentRetries(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newConversation(t, e)
	second := e.second(t)
	const msgs = 10
	created := make([]int, e.workers)
	must(t, parallel(e.workers, func(w int) error {
		st := store.Store(e)
		if w%2 == 1 {
			st = second
		}
		for i := 0; i < msgs; i++ {
			_, ok, err := st.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer,
				SenderID: "c-1", ClientMsgID: fmt.Sprintf("m-%d", i), Text: "dup"})
			if err != nil {
				return err
			}
			if ok {
				created[w]++
			}
		}
		return nil
	}))
	total := 0
	for _, n := range created {
		total += n
	}
	eq(t, "created", total, msgs)
	ms, _ := e.MessagesAfter(ctx, c.ID, 0, 0)
	eq(t, "stored", len(ms), msgs)
	ids := map[string]bool{}
	for _, m := range ms {
		if ids[m.ClientMsgID] {
			t.Fatalf("client id %s stored twice", m.ClientMsgID)
		}
		ids[m.ClientMsgID] = true
	}
}

func testChatAttachments(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newConversation(t, e)
	data := []byte("\x89PNG\r\n\x1a\nfake image bytes")
	a := store.Attachment{ConversationID: c.ID, Name: "evidence.png", MediaType: "image/png", Data: data}
	must(t, e.PutAttachment(ctx, &a))
	if a.ID == 0 || a.Size != int64(len(data)) || len(a.SHA256) != 64 {
		t.Fatalf("PutAttachment did not complete the record: %+v", a)
	}
	got, err := e.Attachment(ctx, a.ID)
	must(t, err)
	eq(t, "data", string(got.Data), string(data))
	eq(t, "sha", got.SHA256, a.SHA256)
	eq(t, "name", got.Name, "evidence.png")

	// A digest the caller got from the sender is verified.
	good := store.Attachment{ConversationID: c.ID, Name: "b", Data: []byte("abc"),
		SHA256: "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"}
	must(t, e.PutAttachment(ctx, &good))
	bad := store.Attachment{ConversationID: c.ID, Name: "c", Data: []byte("abd"), SHA256: good.SHA256}
	wantErr(t, e.PutAttachment(ctx, &bad), store.ErrInvalid)
	wantErr(t, e.PutAttachment(ctx, &store.Attachment{ConversationID: c.ID + 1000, Data: data}), store.ErrNotFound)
	_, err = e.Attachment(ctx, a.ID+1000)
	wantErr(t, err, store.ErrNotFound)

	m, _, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer,
		Kind: store.KindAttachment, AttachmentID: a.ID, Text: "evidence.png"})
	must(t, err)
	ms, _ := e.MessagesAfter(ctx, c.ID, m.Seq-1, 0)
	eq(t, "attachment id", ms[0].AttachmentID, a.ID)
}

func testTranscript(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newConversation(t, e)
	a := store.Attachment{ConversationID: c.ID, Name: "f.txt", MediaType: "text/plain", Data: []byte("x")}
	must(t, e.PutAttachment(ctx, &a))
	texts := []string{"hola", "buenas tardes", "adjunto"}
	for _, s := range texts {
		_, _, err := e.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer, Text: s})
		must(t, err)
	}
	tr, err := e.Transcript(ctx, c.ID)
	must(t, err)
	eq(t, "conversation", tr.Conversation.ID, c.ID)
	eq(t, "messages", len(tr.Messages), 3)
	got := []string{}
	for _, m := range tr.Messages {
		got = append(got, m.Text)
	}
	if !slices.Equal(got, texts) {
		t.Fatalf("transcript texts = %q, want %q", got, texts)
	}
	eq(t, "attachments", len(tr.Attachments), 1)
	if tr.Attachments[0].Data != nil {
		t.Fatal("transcript carries attachment bytes")
	}
	_, err = e.Transcript(ctx, c.ID+1000)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("transcript of a missing conversation: %v", err)
	}
}

func testChatOperators(t *testing.T, e *env) {
	ctx := e.ctx(t)
	wantErr(t, e.PutChatOperator(ctx, &store.ChatOperator{Login: "x"}), store.ErrInvalid)
	_, err := e.ChatOperator(ctx, "luis")
	wantErr(t, err, store.ErrNotFound)
	luis := store.ChatOperator{Login: "luis", Name: "Luis", PasswordHash: "$2a$10$hash", MaxConversations: 3}
	must(t, e.PutChatOperator(ctx, &luis))
	created := luis.CreatedAt
	if created.IsZero() {
		t.Fatal("no created time")
	}
	must(t, e.PutChatOperator(ctx, &store.ChatOperator{Login: "ana", Name: "Ana", PasswordHash: "h2"}))
	luis.Disabled, luis.PasswordHash, luis.CreatedAt = true, "$2a$10$other", time.Time{}
	must(t, e.PutChatOperator(ctx, &luis))
	got, err := e.ChatOperator(ctx, "luis")
	must(t, err)
	eq(t, "name", got.Name, "Luis")
	eq(t, "hash", got.PasswordHash, "$2a$10$other")
	eq(t, "max", got.MaxConversations, 3)
	eq(t, "disabled", got.Disabled, true)
	eq(t, "created kept", got.CreatedAt, created)
	all, err := e.ChatOperators(ctx)
	must(t, err)
	eq(t, "count", len(all), 2)
	eq(t, "order", all[0].Login, "ana")
}
