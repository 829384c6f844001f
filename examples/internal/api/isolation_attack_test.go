package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/store"
)

// rawDo makes a request with full control of its headers and returns the
// status, the headers and the body.
func rawDo(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAttackStatusByNumberLeaksOtherClient: GET /status/{number} answers
// the last message sent to the number by anybody, then hides it from a
// client's token when it is another client's. A client that sent to a
// number sees its own message turn into "not found" once another client
// writes to the same number: it learns that someone else messaged the
// number (the existence leak the API promises not to make), and it loses
// the status of its own message.
func TestAttackStatusByNumberLeaksOtherClient(t *testing.T) {
	a := newTestAPI(t)
	acme, other := a.token("acme-app", "acme"), a.token("other-app", "other")
	code, body := a.post("/api/v1/sms", acme, map[string]string{"to": "04141234567", "text": "hola de acme"})
	require.Equal(t, 202, code, body)
	acmeID := body["id"]

	code, st := a.get("/api/v1/status/04141234567", acme)
	require.Equal(t, 200, code, st)
	require.Equal(t, acmeID, st["id"])

	// Another client writes to the same number.
	code, body = a.post("/api/v1/sms", other, map[string]string{"to": "04141234567", "text": "hola de other"})
	require.Equal(t, 202, code, body)

	code, st = a.get("/api/v1/status/04141234567", acme)
	assert.Equal(t, 200, code, "acme's own last message to the number must stay visible (a 404 now tells acme that another client wrote to it): %v", st)
	assert.Equal(t, acmeID, st["id"], "acme's status must be acme's message")
}

// TestAttackClientProbesOtherIDs: another client's sms, batch and MO are
// answered exactly like ids that do not exist.
func TestAttackClientProbesOtherIDs(t *testing.T) {
	a := newTestAPI(t)
	acme, other := a.token("acme-app", "acme"), a.token("other-app", "other")
	code, body := a.post("/api/v1/sms", acme, map[string]string{"to": "04141234567", "text": "hola", "external_id": "x-1"})
	require.Equal(t, 202, code, body)
	id, batch := int64(body["id"].(float64)), int64(body["batch_id"].(float64))

	get := func(path, tok string) (int, string) {
		code, _, b := rawDo(t, authGet(t, a.url+path, tok))
		return code, b
	}
	for _, c := range []struct{ theirs, none string }{
		{fmt.Sprintf("/api/v1/sms/%d", id), "/api/v1/sms/987654"},
		{fmt.Sprintf("/api/v1/batches/%d", batch), "/api/v1/batches/987654"},
	} {
		c1, b1 := get(c.theirs, other)
		c2, b2 := get(c.none, other)
		assert.Equal(t, 404, c1, c.theirs)
		assert.Equal(t, c2, c1, c.theirs)
		assert.Equal(t, b2, b1, "another client's record must look like a missing one: %s", c.theirs)
	}
	// A client that never sent anything (no sms_clients row) is not "every client".
	ghost := a.token("ghost-app", "ghost")
	code, _ = a.get(fmt.Sprintf("/api/v1/sms/%d", id), ghost)
	assert.Equal(t, 404, code)

	// external_ids and batch names are per client: no 409 tells other that acme used x-1.
	code, body = a.post("/api/v1/sms", other, map[string]string{"to": "04141234567", "text": "hola", "external_id": "x-1"})
	assert.Equal(t, 202, code, body)
	code, b1 := a.do("POST", "/api/v1/batches?name=same.csv", acme, "text/csv", strings.NewReader("04141234567,uno\n"))
	require.Equal(t, 200, code, b1)
	code, b2 := a.do("POST", "/api/v1/batches?name=same.csv", other, "text/csv", strings.NewReader("04141234567,uno\n"))
	require.Equal(t, 200, code, b2)
	assert.NotEqual(t, b1["batch_id"], b2["batch_id"])
	assert.Equal(t, float64(0), b2["already_loaded"])

	// Odd client names are other clients, not prefixes or case variants.
	for _, name := range []string{"ACME", "acme ", " acme", "acme\u200b", "acme%"} {
		tok := a.token("odd-"+name, name)
		code, _ := a.get(fmt.Sprintf("/api/v1/sms/%d", id), tok)
		assert.Equal(t, 404, code, "client %q", name)
		code, _ = a.get(fmt.Sprintf("/api/v1/batches/%d", batch), tok)
		assert.Equal(t, 404, code, "client %q", name)
	}

	// MO: a reply to acme's message is not listed to other.
	ops, err := a.st.Operators(context.Background())
	require.NoError(t, err)
	require.NoError(t, a.st.InsertMO(context.Background(), &store.MO{OperatorID: ops[0].ID, From: "584141234567", To: "1", Text: "secreto de acme", TransmissionID: id}))
	code, mo := a.get("/api/v1/mo?limit=1000", other)
	require.Equal(t, 200, code)
	assert.NotContains(t, fmt.Sprint(mo["items"]), "secreto de acme")
}

// TestAttackLimitedTokenScope: a client's token reaches none of the routes
// for every client, whatever the path's spelling.
func TestAttackLimitedTokenScope(t *testing.T) {
	a := newTestAPIWith(t, func(s *Server) {
		s.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("secret_metric 1\n")) })
	})
	acme := a.token("acme-app", "acme")
	for _, c := range []struct{ method, path string }{
		{"GET", "/metrics"}, {"GET", "/api/v1/tickets"}, {"GET", "/api/v1/tickets/1"}, {"PATCH", "/api/v1/tickets/1"},
		{"POST", "/api/v1/tickets/1/reply"}, {"GET", "/api/v1/chat/conversations"}, {"GET", "/api/v1/chat/conversations/1/transcript"},
		{"HEAD", "/metrics"}, {"GET", "/metrics/"}, {"GET", "/METRICS"}, {"GET", "/api/v1/../../metrics"}, {"GET", "//metrics"},
	} {
		req, err := http.NewRequest(c.method, a.url+c.path, strings.NewReader("{}"))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+acme)
		req.Header.Set("X-HTTP-Method-Override", "GET")
		code, _, body := rawDo(t, req)
		assert.NotEqual(t, 200, code, "%s %s", c.method, c.path)
		assert.NotContains(t, body, "secret_metric", "%s %s", c.method, c.path)
	}
}

// TestAttackMOReplyGoesToTheLastSender: a reply is linked (store InsertMO)
// to the last message sent to its number by any client, whatever short
// code it was sent to. acme writes from 1234, other from 5678, both to
// the same customer; the customer answers acme's 1234, and the answer is
// listed to other's token (and hidden from acme's).
func TestAttackMOReplyGoesToTheLastSender(t *testing.T) {
	a := newTestAPI(t)
	acme, other := a.token("acme-app", "acme"), a.token("other-app", "other")
	ctx := context.Background()
	for _, c := range []struct{ tok, from string }{{acme, "1234"}, {other, "5678"}} {
		code, body := a.post("/api/v1/sms", c.tok, map[string]string{"to": "04141234567", "text": "hola", "from": c.from})
		require.Equal(t, 202, code, body)
		id := int64(body["id"].(float64))
		require.NoError(t, a.st.EndTransmission(ctx, id, store.TxDelivered, 0, "", time.Time{}))
	}
	ops, err := a.st.Operators(ctx)
	require.NoError(t, err)
	mo := store.MO{OperatorID: ops[0].ID, From: "584141234567", To: "1234", Text: "mi clave es 4321 (para acme)"}
	require.NoError(t, a.st.InsertMO(ctx, &mo))

	_, mine := a.get("/api/v1/mo", acme)
	_, theirs := a.get("/api/v1/mo", other)
	assert.NotContains(t, fmt.Sprint(theirs["items"]), "para acme", "other reads a reply sent to acme's short code")
	assert.Contains(t, fmt.Sprint(mine["items"]), "para acme", "acme does not see the reply to its own short code")
}
