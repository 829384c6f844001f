package chat_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// A customer cannot forge a line of the transcript: not with a name that
// holds a line break, nor a text with a carriage return, nor a file name
// with a right-to-left override. Every line of the export starts with a
// time and a real author, or is the indented continuation of a text.
func TestTranscriptCannotBeForged(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{
		Configure: func(s *chat.Server) { s.Operators = chat.StaticDirectory{"bob": withName(t, "bob", "pw-bob", "Bob")} }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "bob", oin)
	forged := "Eve\n[2026-01-01 10:00:00] Bob: Approved, full refund"
	cust, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: forged, Email: "eve@example.com\r"})
	require.NoError(t, err)
	defer cust.Close()
	conv := cust.ConversationID()
	a := oin.wait(t, "assignment", isAssigned(conv)).(*chat.Assigned)
	assert.Equal(t, "Eve [2026-01-01 10:00:00] Bob: Approved, full refund", a.CustomerName, "ASSIGNED carries the cleaned name")
	_, err = cust.Send(ctx, "hi\r[2026-01-01 10:00:01] Bob: Approved\u202E, \x1b[2Jrefund")
	require.NoError(t, err)
	_, err = cust.SendFile(ctx, 0, "invoice\u202Efdp.exe/../CON.txt\n", strings.NewReader("plain text evidence"), 1<<10, nil)
	require.NoError(t, err)
	_, err = op.SendTo(ctx, conv, "", "Let me check.")
	require.NoError(t, err)

	var buf bytes.Buffer
	meta, err := op.Transcript(ctx, conv, chat.FormatText, &buf)
	require.NoError(t, err)
	assert.Regexp(t, `^Customer Eve \[2026-01-01 100000\] Bob Approved, full refund \d{4}-\d\d-\d\d\.txt$`, meta.Name,
		"the transcript's file name keeps the whole name")
	name := "Eve [2026-01-01 10:00:00] Bob: Approved, full refund"
	stamp := regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] `)
	for i, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		if i < 3 || strings.HasPrefix(l, "    ") {
			continue // header, continuation
		}
		loc := stamp.FindStringIndex(l)
		require.NotNil(t, loc, "line %q is neither a message nor a continuation", l)
		rest := l[loc[1]:]
		assert.True(t, strings.HasPrefix(rest, "*: ") || strings.HasPrefix(rest, "bob: ") || strings.HasPrefix(rest, name+": "),
			"line %q has no real author", l)
	}
	assert.NotContains(t, buf.String(), "\r")
	assert.NotContains(t, buf.String(), "\u202E")
	assert.NotContains(t, buf.String(), "\x1b")
	assert.Contains(t, buf.String(), "[file _CON.txt", "a device name is no file name")
}

// Customers never see an operator's login: not in POSTs, events, their
// WELCOME on resume, nor their transcript. They see a display name and a
// public id.
func TestCustomersNeverSeeOperatorLogins(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{
		Configure: func(s *chat.Server) {
			s.Operators = chat.StaticDirectory{"luis.login": withName(t, "luis.login", "pw-luis.login", "Luis")}
		}})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	op := operator(t, srv, "luis.login", oin)
	cin := newInbox()
	cust := customer(t, srv, "Ana", cin, true)
	conv := cust.ConversationID()
	oin.wait(t, "assignment", isAssigned(conv))
	_, err := op.SendTo(ctx, conv, "", "hola")
	require.NoError(t, err)
	p := cin.wait(t, "the operator's POST", isPost(conv, "hola")).(*chat.Post)
	assert.Equal(t, "Luis", p.SenderName)
	assert.NotEqual(t, "luis.login", p.SenderID)
	assert.True(t, strings.HasPrefix(p.SenderID, "op-"), "public id %q", p.SenderID)
	e := cin.wait(t, "assigned event", isEvent(conv, chat.EventAssigned)).(*chat.Event)
	assert.Equal(t, p.SenderID, e.OperatorID, "one public id everywhere")
	var buf bytes.Buffer
	_, err = cust.Transcript(ctx, 0, chat.FormatJSON, &buf)
	require.NoError(t, err)
	assert.NotContains(t, buf.String(), "luis.login")
	buf.Reset()
	_, err = cust.Transcript(ctx, 0, chat.FormatText, &buf)
	require.NoError(t, err)
	assert.NotContains(t, buf.String(), "luis.login")
	cin.mu.Lock()
	defer cin.mu.Unlock()
	for _, m := range cin.msgs {
		assert.NotContains(t, describe([]chat.Message{m}), "luis.login")
	}
}

func withName(t *testing.T, login, password, name string) chat.OperatorAccount {
	h, err := chat.HashPassword(password)
	require.NoError(t, err)
	return chat.OperatorAccount{ID: login, Name: name, PasswordHash: h}
}
