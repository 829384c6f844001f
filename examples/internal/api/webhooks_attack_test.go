package api

// Attacks on the webhook routes from outside: what a client's token can
// learn, and how bad parameters are answered.

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// An endpoint URL may carry credentials (https://user:password@host/,
// as receivers behind basic authentication need). The listing shows the
// URL as stored, password included, to every caller who sees the
// endpoint: the API hides the signing secret but hands out the URL's.
func TestAttackWebhookURLPasswordListed(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	c := store.Client{Name: "acme"}
	require.NoError(t, a.st.CreateClient(ctx, &c))
	require.NoError(t, a.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "acme-dlr",
		URL: "https://dlr:s3cr3t-basic-pass@acme.example.com/dlr", Secret: hookSecret,
		Topics: []store.WebhookTopic{store.TopicSMS}, ClientID: c.ID}))
	for _, tok := range []string{a.token("admin", ""), a.token("acme-app", "acme")} {
		code, body := a.get("/api/v1/webhooks", tok)
		require.Equal(t, http.StatusOK, code, "%v", body)
		assert.NotContains(t, fmt.Sprint(body), "s3cr3t-basic-pass", "the URL's password is shown")
	}
}

// A client-limited endpoint may be given the ticket and chat topics (the
// store and the command line accept it); ClientID limits only sms, so
// every ticket and conversation of the platform goes to it, and the
// client's token reads their bodies (titles, customers' names and
// addresses) through the API.
func TestAttackClientTokenReadsPlatformEvents(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	c := store.Client{Name: "acme"}
	require.NoError(t, a.st.CreateClient(ctx, &c))
	err := a.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "acme-dlr",
		URL: "https://acme.example.com/dlr", Secret: hookSecret,
		Topics: []store.WebhookTopic{store.TopicSMS, store.TopicChat}, ClientID: c.ID})
	require.ErrorIs(t, err, store.ErrInvalid, "an endpoint of one client with the platform's chat events")
	require.NoError(t, a.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "acme-dlr",
		URL: "https://acme.example.com/dlr", Secret: hookSecret, Topics: []store.WebhookTopic{store.TopicSMS}, ClientID: c.ID}))
	conv := store.Conversation{CustomerName: "Ana", CustomerEmail: "ana@another-company.example"}
	require.NoError(t, a.st.CreateConversation(ctx, &conv))
	code, body := a.get("/api/v1/webhooks/deliveries", a.token("acme-app", "acme"))
	require.Equal(t, http.StatusOK, code)
	for _, d := range items(t, body) {
		assert.NotContains(t, d["event"], "chat.", "a client's token sees the platform's chat event %v", d)
	}
}

// An endpoint whose client does not exist broke the webhook routes for
// everyone, administrators included: the store refuses it now.
func TestAttackEndpointOfMissingClientBreaksListing(t *testing.T) {
	a := newTestAPI(t)
	ctx := context.Background()
	require.ErrorIs(t, a.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "ghost",
		URL: "https://ghost.example.com/", Secret: hookSecret, Topics: []store.WebhookTopic{store.TopicSMS}, ClientID: 4242}),
		store.ErrInvalid)
	require.NoError(t, a.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "crm",
		URL: "https://crm.example.com/", Secret: hookSecret, Topics: []store.WebhookTopic{store.TopicChat}}))
	admin := a.token("admin", "")
	code, body := a.get("/api/v1/webhooks", admin)
	assert.Equal(t, http.StatusOK, code, "%v", body)
	code, body = a.get("/api/v1/webhooks/deliveries", admin)
	assert.Equal(t, http.StatusOK, code, "%v", body)
}

// Bad parameters answer 400 naming the field; a path id out of range
// too; agents get 403 on every route, the replay included.
func TestAttackWebhookBadParameters(t *testing.T) {
	a := newTestAPI(t)
	hookSetup(t, a, "http://127.0.0.1:9")
	admin := a.token("admin", "")
	for q, field := range map[string]string{
		"before=-1": "before", "before=1e3": "before", "before=99999999999999999999": "before",
		"limit=abc": "limit", "limit=-5": "limit", "limit=1.5": "limit",
		"state=PENDING": "state", "state=%00": "state",
		"endpoint=nobody": "endpoint", "endpoint=%2e%2e": "endpoint",
	} {
		code, body := a.get("/api/v1/webhooks/deliveries?"+q, admin)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", q, body)
		assert.Equal(t, field, body["field"], q)
	}
	for _, p := range []string{"abc", "0", "-1", "99999999999999999999", "1.0"} {
		code, body := a.get("/api/v1/webhooks/deliveries/"+p, admin)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", p, body)
		assert.Equal(t, "id", body["field"], p)
		code, body = a.post("/api/v1/webhooks/deliveries/"+p+"/replay", admin, nil)
		assert.Equal(t, http.StatusBadRequest, code, "replay %s: %v", p, body)
	}
	code, _ := a.post("/api/v1/webhooks/deliveries/99999/replay", admin, nil)
	assert.Equal(t, http.StatusNotFound, code)
	a.account("luis", store.RoleAgent, "", false)
	a.account("marta", store.RoleChatOperator, "", false)
	for _, who := range []string{"luis", "marta"} {
		for _, r := range [][2]string{{http.MethodGet, "/api/v1/webhooks"}, {http.MethodGet, "/api/v1/webhooks/deliveries/1"},
			{http.MethodPost, "/api/v1/webhooks/deliveries/1/replay"}} {
			code, _ := a.as(who, "clave de "+who, r[0], r[1], "")
			assert.Equal(t, http.StatusForbidden, code, "%s %s %s", who, r[0], r[1])
		}
	}
	// A client with no endpoint sees nothing, and learns nothing of others'.
	none := a.token("nobody-app", "nobody")
	code, body := a.get("/api/v1/webhooks/deliveries", none)
	if code == http.StatusOK {
		assert.Empty(t, items(t, body))
	}
	code, _ = a.get("/api/v1/webhooks/deliveries/1", none)
	assert.NotEqual(t, http.StatusOK, code)
	code, _ = a.post("/api/v1/webhooks/deliveries/1/replay", none, nil)
	assert.NotEqual(t, http.StatusAccepted, code)
}
