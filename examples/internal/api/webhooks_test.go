package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/webhook"
)

const hookSecret = "whsec_test_0123456789"

// hookSetup makes endpoints for two clients' delivery reports and one for
// chat events, and events for each: acme 2 SMS events, other 2, chat 3.
func hookSetup(t *testing.T, a *testAPI, url string) {
	ctx := context.Background()
	ops, err := a.st.Operators(ctx)
	require.NoError(t, err)
	op := ops[0].ID
	for _, name := range []string{"acme", "other"} {
		c := store.Client{Name: name}
		require.NoError(t, a.st.CreateClient(ctx, &c))
		require.NoError(t, a.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: name + "-dlr", URL: url + "/" + name,
			Secret: hookSecret, Topics: []store.WebhookTopic{store.TopicSMS}, ClientID: c.ID}))
		_, _, err := a.st.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, []store.Transmission{
			{ExternalID: name + "-1", OperatorID: op, Destination: "584141234567", Text: "hola"}})
		require.NoError(t, err)
		ts, err := a.st.ClaimTransmissions(ctx, op, 1, time.Time{})
		require.NoError(t, err)
		require.NoError(t, a.st.RecordSubmit(ctx, ts[0].ID, store.SubmitResult{MessageIDs: []string{name + "-m"}}))
		_, _, err = a.st.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op, MessageID: name + "-m", State: store.TxDelivered})
		require.NoError(t, err)
	}
	require.NoError(t, a.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "events", URL: url + "/events",
		Secret: hookSecret, Topics: []store.WebhookTopic{store.TopicChat, store.TopicTicket}}))
	c := store.Conversation{CustomerName: "Ana"}
	require.NoError(t, a.st.CreateConversation(ctx, &c))
	require.NoError(t, a.st.AssignConversation(ctx, c.ID, "luis", time.Time{}))
	require.NoError(t, a.st.CloseConversation(ctx, c.ID, time.Time{}))
}

func items(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["items"].([]any)
	require.True(t, ok, "items in %v", body)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

func TestWebhookRoutes(t *testing.T) {
	a := newTestAPI(t)
	hookSetup(t, a, "http://127.0.0.1:9")
	admin, acme := a.token("admin", ""), a.token("acme-app", "acme")
	a.account("luis", store.RoleAgent, "", false)
	a.account("acme.user", store.RoleSMSClient, "acme", false)

	code, body := a.get("/api/v1/webhooks", admin)
	require.Equal(t, http.StatusOK, code, "%v", body)
	eps := items(t, body)
	require.Len(t, eps, 3)
	assert.Equal(t, "acme-dlr", eps[0]["name"])
	assert.Equal(t, "acme", eps[0]["client"])
	assert.Equal(t, []any{"sms"}, eps[0]["events"])
	assert.Equal(t, []any{"ticket", "chat"}, eps[1]["events"])
	assert.NotContains(t, fmt.Sprint(body), hookSecret, "secrets are never shown")

	code, body = a.get("/api/v1/webhooks/deliveries", admin)
	require.Equal(t, http.StatusOK, code, "%v", body)
	all := items(t, body)
	require.Len(t, all, 7)
	assert.Equal(t, "chat.closed", all[0]["event"], "newest first")
	assert.Equal(t, "pending", all[0]["state"])
	assert.Nil(t, all[0]["payload"], "lists leave the payload out")

	// Pages back with before/next.
	var ids []float64
	next := ""
	for page := 0; page < 10; page++ {
		code, body = a.get("/api/v1/webhooks/deliveries?limit=3"+next, admin)
		require.Equal(t, http.StatusOK, code, "%v", body)
		for _, d := range items(t, body) {
			ids = append(ids, d["id"].(float64))
		}
		n := body["next"].(float64)
		if n == 0 {
			break
		}
		next = fmt.Sprintf("&before=%d", int64(n))
	}
	require.Len(t, ids, 7)
	for i := 1; i < len(ids); i++ {
		assert.Greater(t, ids[i-1], ids[i])
	}

	// A client's token sees its own delivery reports, nothing else.
	code, body = a.get("/api/v1/webhooks", acme)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, items(t, body), 1)
	code, body = a.get("/api/v1/webhooks/deliveries", acme)
	require.Equal(t, http.StatusOK, code)
	mine := items(t, body)
	require.Len(t, mine, 2)
	for _, d := range mine {
		assert.Equal(t, "acme-dlr", d["endpoint"])
	}
	code, _ = a.as("acme.user", "clave de acme.user", http.MethodGet, "/api/v1/webhooks/deliveries", "")
	assert.Equal(t, http.StatusOK, code, "an sms account too")
	for _, d := range all {
		id := int64(d["id"].(float64))
		code, _ := a.get(fmt.Sprintf("/api/v1/webhooks/deliveries/%d", id), acme)
		rc, _ := a.post(fmt.Sprintf("/api/v1/webhooks/deliveries/%d/replay", id), acme, nil)
		if d["endpoint"] == "acme-dlr" {
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, http.StatusAccepted, rc)
		} else {
			assert.Equal(t, http.StatusNotFound, code, "another's delivery %d", id)
			assert.Equal(t, http.StatusNotFound, rc, "replay of another's delivery %d", id)
		}
	}
	code, body = a.get("/api/v1/webhooks/deliveries?endpoint=other-dlr", acme)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "endpoint", body["field"])
	code, _ = a.as("luis", "clave de luis", http.MethodGet, "/api/v1/webhooks/deliveries", "")
	assert.Equal(t, http.StatusForbidden, code, "an agent")

	for q, field := range map[string]string{"state=lost": "state", "limit=0": "limit", "limit=1001": "limit", "before=x": "before"} {
		code, body = a.get("/api/v1/webhooks/deliveries?"+q, admin)
		assert.Equal(t, http.StatusBadRequest, code, q)
		assert.Equal(t, field, body["field"], q)
	}
	code, body = a.get("/api/v1/webhooks/deliveries?state=pending&endpoint=events", admin)
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, items(t, body), 3)
	code, _ = a.get("/api/v1/webhooks/deliveries/99999", admin)
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = a.get("/api/v1/webhooks/deliveries", "")
	assert.Equal(t, http.StatusUnauthorized, code)
}

// A delivery is sent, replayed through the API, and sent again with the
// same body and a valid signature.
func TestWebhookReplay(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.ReadRequest(r, hookSecret, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		if strings.HasSuffix(r.URL.Path, "/events") {
			bodies = append(bodies, string(body))
		}
		mu.Unlock()
	}))
	defer recv.Close()
	a := newTestAPI(t)
	hookSetup(t, a, recv.URL)
	d := &webhook.Dispatcher{Store: a.st}
	n, err := d.Flush(context.Background())
	require.NoError(t, err)
	require.Equal(t, 7, n)
	require.Len(t, bodies, 3)

	admin := a.token("admin", "")
	code, body := a.get("/api/v1/webhooks/deliveries?endpoint=events&state=delivered&limit=1", admin)
	require.Equal(t, http.StatusOK, code)
	last := items(t, body)[0]
	id := int64(last["id"].(float64))
	code, one := a.get(fmt.Sprintf("/api/v1/webhooks/deliveries/%d", id), admin)
	require.Equal(t, http.StatusOK, code)
	payload := one["payload"].(map[string]any)
	assert.Equal(t, "chat.closed", payload["type"])
	assert.Equal(t, last["event_id"], payload["id"])

	code, body = a.post(fmt.Sprintf("/api/v1/webhooks/deliveries/%d/replay", id), admin, nil)
	require.Equal(t, http.StatusAccepted, code, "%v", body)
	assert.Equal(t, "pending", body["state"])
	n, err = d.Flush(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, bodies, 4)
	assert.Contains(t, bodies[:3], bodies[3], "the same body again")
	assert.Contains(t, bodies[3], `"type":"chat.closed"`)
}
