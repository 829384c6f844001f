package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// sentMail keeps what a Sender was given.
type sentMail struct {
	mu   sync.Mutex
	msgs [][]byte
	fail error
}

func (s *sentMail) Send(_ context.Context, _ string, _ []string, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.msgs = append(s.msgs, msg)
	return nil
}

// ticketFixture stores a ticket from ana in queue Inbox (and a queue
// Ventas) and returns its number.
func ticketFixture(t *testing.T, st store.Store) string {
	ctx := context.Background()
	for _, name := range []string{"Inbox", "Ventas"} {
		require.NoError(t, st.CreateQueue(ctx, &store.Queue{Name: name}))
	}
	q, err := st.QueueByName(ctx, "Inbox")
	require.NoError(t, err)
	ana, err := st.UpsertCustomer(ctx, store.Customer{Email: "ana@example.com", Name: "Ana"})
	require.NoError(t, err)
	res, err := st.IngestMail(ctx, store.MailIngest{Receipt: store.MailReceipt{SourceKey: "k1"},
		NewTicket: &store.Ticket{Title: "Falla", QueueID: q.ID, CustomerID: ana.ID},
		Article: store.Article{Direction: store.Inbound, MessageID: "m1@example.com", From: "Ana <ana@example.com>",
			To: "support@example.net", Subject: "Falla", TextBody: "no hay luz"}})
	require.NoError(t, err)
	return res.Ticket.Number
}

func TestTicketReply(t *testing.T) {
	sent := &sentMail{}
	a := newTestAPIWith(t, func(s *Server) {
		s.Tickets = &mailticket.Processor{Store: s.Store, Domain: "support.example.net", Secret: []byte("0123456789abcdef0123"),
			Addresses: []string{"support@example.net"}}
		s.Mail = sent
	})
	tok, acme := a.token("ops", ""), a.token("acme", "acme")
	number := ticketFixture(t, a.st)
	path := "/api/v1/tickets/" + number + "/reply"

	code, body := a.post(path, tok, map[string]string{"text": "Ya está resuelto.", "agent": "luis@example.net"})
	require.Equal(t, http.StatusCreated, code, body)
	require.Len(t, sent.msgs, 1)
	assert.Contains(t, string(sent.msgs[0]), "To: \"Ana\" <ana@example.com>")
	code, tk := a.get("/api/v1/tickets/"+number, tok)
	require.Equal(t, 200, code)
	arts := tk["articles"].([]any)
	require.Len(t, arts, 2)
	assert.Equal(t, "out", arts[1].(map[string]any)["direction"])
	assert.Equal(t, "open", tk["state"])
	assert.NotNil(t, tk["first_response_at"])

	for _, c := range []struct {
		body  map[string]string
		field string
	}{
		{map[string]string{"text": " ", "agent": "luis@example.net"}, "text"},
		{map[string]string{"text": "hola"}, "agent"},
		{map[string]string{"text": "hola", "agent": "luis"}, "agent"},
	} {
		code, body := a.post(path, tok, c.body)
		assert.Equal(t, 400, code, c.body)
		assert.Equal(t, c.field, body["field"], c.body)
	}
	code, _ = a.post("/api/v1/tickets/2020010100001/reply", tok, map[string]string{"text": "x", "agent": "luis@example.net"})
	assert.Equal(t, 404, code)
	code, _ = a.post(path, acme, map[string]string{"text": "x", "agent": "luis@example.net"})
	assert.Equal(t, 403, code)

	// The mail server refuses: nothing stored, an error answered.
	sent.fail = fmt.Errorf("connection refused")
	code, _ = a.post(path, tok, map[string]string{"text": "otra", "agent": "luis@example.net"})
	assert.Equal(t, 500, code)
	_, tk = a.get("/api/v1/tickets/"+number, tok)
	assert.Len(t, tk["articles"], 2)
}

func TestTicketReplyWithoutMail(t *testing.T) {
	a := newTestAPI(t)
	number := ticketFixture(t, a.st)
	code, body := a.post("/api/v1/tickets/"+number+"/reply", a.token("ops", ""), map[string]string{"text": "x", "agent": "l@x.net"})
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
}

func TestTicketPatch(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	number := ticketFixture(t, a.st)
	path := "/api/v1/tickets/" + number
	patch := func(body string) (int, map[string]any) {
		return a.do("PATCH", path, tok, "application/json", strings.NewReader(body))
	}
	code, tk := patch(`{"agent":"luis@example.net","owner":"marta@example.net","queue":"Ventas","state":"open"}`)
	require.Equal(t, 200, code, tk)
	assert.Equal(t, "Ventas", tk["queue"])
	assert.Equal(t, "open", tk["state"])
	assert.NotZero(t, tk["owner_id"])

	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	code, tk = patch(fmt.Sprintf(`{"agent":"luis@example.net","state":"pending","pending_until":%q,"owner":""}`, until.Format(time.RFC3339)))
	require.Equal(t, 200, code, tk)
	assert.Equal(t, "pending", tk["state"])
	assert.Equal(t, until.Format(time.RFC3339), tk["pending_until"])
	assert.Nil(t, tk["owner_id"], "unassigned")

	for _, c := range []struct{ body, field string }{
		{`{"agent":"luis@example.net","state":"sleeping"}`, "state"},
		{`{"agent":"luis@example.net","state":"pending"}`, "pending_until"},
		{`{"agent":"luis@example.net","state":"pending","pending_until":"2020-01-01T00:00:00Z"}`, "pending_until"},
		{`{"agent":"luis@example.net","state":"open","pending_until":"2030-01-01T00:00:00Z"}`, "pending_until"},
		{`{"agent":"luis@example.net","queue":"Nope"}`, "queue"},
		{`{"agent":"luis@example.net","owner":"nobody"}`, "owner"},
		{`{"state":"closed"}`, "agent"},
		{`{"agent":"luis@example.net"}`, ""},
		{`{"agent":"luis@example.net","state":5}`, "state"},
	} {
		code, body := patch(c.body)
		assert.Equal(t, 400, code, c.body)
		assert.Equal(t, c.field, cmpField(body), c.body)
	}
	// A refused change changes nothing (the checks come first).
	_, tk = a.get(path, tok)
	assert.Equal(t, "pending", tk["state"])
	assert.Equal(t, "Ventas", tk["queue"])
}

func cmpField(body map[string]any) string {
	f, _ := body["field"].(string)
	return f
}

func TestChatRoutes(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	ctx := context.Background()
	var ids []int64
	for i := range 3 {
		c := store.Conversation{CustomerName: fmt.Sprint("Cliente ", i)}
		require.NoError(t, a.st.CreateConversation(ctx, &c))
		ids = append(ids, c.ID)
	}
	require.NoError(t, a.st.AssignConversation(ctx, ids[1], "luis", time.Time{}))
	_, _, err := a.st.AppendMessage(ctx, store.Message{ConversationID: ids[1], SenderRole: store.RoleCustomer, SenderID: "customer",
		Kind: store.KindText, Text: "hola, ¿hay alguien?"})
	require.NoError(t, err)
	_, _, err = a.st.AppendMessage(ctx, store.Message{ConversationID: ids[1], SenderRole: store.RoleOperator, SenderID: "luis",
		Kind: store.KindText, Text: "sí, dígame"})
	require.NoError(t, err)

	code, body := a.get("/api/v1/chat/conversations?state=active", tok)
	require.Equal(t, 200, code, body)
	items := body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, float64(ids[1]), items[0].(map[string]any)["id"])
	assert.Equal(t, float64(2), items[0].(map[string]any)["messages"])
	code, body = a.get("/api/v1/chat/conversations?limit=2", tok)
	require.Equal(t, 200, code)
	assert.Len(t, body["items"], 2)
	assert.Equal(t, float64(ids[1]), body["next"])
	code, body = a.get("/api/v1/chat/conversations?state=open", tok)
	assert.Equal(t, 400, code)
	assert.Equal(t, "state", body["field"])

	resp, err := http.DefaultClient.Do(authGet(t, a.url+fmt.Sprintf("/api/v1/chat/conversations/%d/transcript", ids[1]), tok))
	require.NoError(t, err)
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
	assert.Contains(t, string(text), "hola, ¿hay alguien?")
	assert.Contains(t, string(text), "sí, dígame")
	code, body = a.get(fmt.Sprintf("/api/v1/chat/conversations/%d/transcript?format=json", ids[1]), tok)
	require.Equal(t, 200, code, body)
	code, _ = a.get("/api/v1/chat/conversations/999/transcript", tok)
	assert.Equal(t, 404, code)
	code, _ = a.get(fmt.Sprintf("/api/v1/chat/conversations/%d/transcript?format=pdf", ids[1]), tok)
	assert.Equal(t, 400, code)
	code, _ = a.get("/api/v1/chat/conversations", a.token("acme", "acme"))
	assert.Equal(t, 403, code)
}

func authGet(t *testing.T, url, token string) *http.Request {
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
