package chat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
)

// mailbox records the transcripts a server mails.
type mailbox struct {
	mu   sync.Mutex
	sent map[string][]store.Transcript
	fail bool
}

func (m *mailbox) send(_ context.Context, t store.Transcript, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("smtp: connection refused")
	}
	m.sent[to] = append(m.sent[to], t)
	return nil
}

func (m *mailbox) count(to string) int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.sent[to]) }

func refusedWith(t *testing.T, err error, code chat.ErrorCode) {
	t.Helper()
	var e *chat.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, code, e.Code, e.Text)
}

// A customer has the transcript mailed to the conversation's address, as
// the customer sees it; nobody can use it to mail anyone often: one a
// minute and three an hour per conversation, three an hour per address
// across conversations; operators, customers without an address and
// servers that do not offer it are refused.
func TestTranscriptByMail(t *testing.T) {
	ctx := testCtx(t)
	box := &mailbox{sent: map[string][]store.Transcript{}}
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw"},
		Configure: func(s *chat.Server) { s.MailTranscript = box.send }})
	defer srv.Close()

	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw"})
	require.NoError(t, err)
	defer op.Close()
	ana, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", Email: "Ana@Example.com"})
	require.NoError(t, err)
	defer ana.Close()
	assert.True(t, ana.Offers(chat.CapMail))
	require.Eventually(t, func() bool { // luis is available: the server gives her to him
		_, err := op.SendTo(ctx, ana.ConversationID(), "m1", "hola, soy Luis")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	_, err = ana.Send(ctx, "¿dónde está mi pedido?")
	require.NoError(t, err)

	masked, err := ana.MailTranscript(ctx)
	require.NoError(t, err)
	assert.Equal(t, "A***@example.com", masked)
	require.Equal(t, 1, box.count("Ana@example.com"), "the address as given, the domain in lower case")
	tr := box.sent["Ana@example.com"][0]
	assert.Equal(t, ana.ConversationID(), tr.Conversation.ID)
	var texts []string
	for _, m := range tr.Messages {
		texts = append(texts, m.Text)
	}
	assert.NotEqual(t, "luis", tr.Conversation.OperatorID, "the customer's view: the operator's public id, not the login")
	assert.Contains(t, texts, "¿dónde está mi pedido?")
	assert.Contains(t, texts, "hola, soy Luis")

	_, err = ana.MailTranscript(ctx)
	refusedWith(t, err, chat.CodeRateLimited)
	assert.Equal(t, 1, box.count("Ana@example.com"), "one a minute")

	// Other conversations to the same address: two more, then no more.
	for i := range 3 {
		c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com"})
		require.NoError(t, err)
		_, err = c.MailTranscript(ctx)
		if i < 2 {
			assert.NoError(t, err)
		} else {
			refusedWith(t, err, chat.CodeRateLimited)
		}
		c.Close()
	}
	assert.Equal(t, chat.TranscriptMailsPerHour, box.count("Ana@example.com")+box.count("ana@example.com"), "three an hour to one mailbox")

	_, err = op.Transcript(ctx, ana.ConversationID(), chat.FormatMail, nil)
	refusedWith(t, err, chat.CodeForbidden)
	noMail, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Bea", CustomerID: "bea-1"})
	require.NoError(t, err)
	defer noMail.Close()
	_, err = noMail.MailTranscript(ctx)
	refusedWith(t, err, chat.CodeConflict)

	box.mu.Lock()
	box.fail = true
	box.mu.Unlock()
	eva, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Eva", Email: "eva@example.com"})
	require.NoError(t, err)
	defer eva.Close()
	_, err = eva.MailTranscript(ctx)
	refusedWith(t, err, chat.CodeInternal)
}

func TestTranscriptByMailNotOffered(t *testing.T) {
	ctx := testCtx(t)
	srv := chattest.NewServer(&chattest.Config{})
	defer srv.Close()
	c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com"})
	require.NoError(t, err)
	defer c.Close()
	assert.False(t, c.Offers(chat.CapMail))
	_, err = c.MailTranscript(ctx)
	refusedWith(t, err, chat.CodeUnsupported)
}
