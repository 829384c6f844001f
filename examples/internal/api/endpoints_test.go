package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

func (a *testAPI) put(path, token, body string) (int, map[string]any) {
	return a.do(http.MethodPut, path, token, "application/json", strings.NewReader(body))
}

// Endpoints are made and changed by name over the API: the secret is
// shown once, when made; a client's token manages only its own client's
// delivery-report endpoints and cannot take or touch anyone else's.
func TestWebhookEndpointsManaged(t *testing.T) {
	a := newTestAPI(t)
	hookSetup(t, a, "http://127.0.0.1:9")
	admin, acme := a.token("admin", ""), a.token("acme-app", "acme")
	a.account("luis", store.RoleAgent, "", false)

	code, body := a.put("/api/v1/webhooks/crm", admin, `{"url":"https://crm.example/hook","events":["ticket"]}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	secret, _ := body["secret"].(string)
	assert.True(t, strings.HasPrefix(secret, "whsec_"), "the new secret, once: %v", body)
	code, body = a.put("/api/v1/webhooks/crm", admin, `{"events":["ticket","chat"]}`)
	require.Equal(t, http.StatusOK, code, "%v", body)
	assert.Nil(t, body["secret"], "a change does not show the secret")
	eps, err := a.st.WebhookEndpoints(context.Background())
	require.NoError(t, err)
	for _, e := range eps {
		if e.Name == "crm" {
			assert.Equal(t, secret, e.Secret, "kept")
			assert.Equal(t, "https://crm.example/hook", e.URL, "kept")
			assert.Len(t, e.Topics, 2)
		}
	}
	code, body = a.put("/api/v1/webhooks/crm", admin, `{"new_secret":true}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	assert.NotEqual(t, secret, body["secret"])

	code, _ = a.put("/api/v1/webhooks/new", admin, `{"url":"https://x.example"}`)
	assert.Equal(t, http.StatusBadRequest, code, "a new endpoint without events")
	code, _ = a.put("/api/v1/webhooks/bad", admin, `{"url":"ftp://x.example","events":["sms"]}`)
	assert.Equal(t, http.StatusBadRequest, code, "not http")
	code, _ = a.put("/api/v1/webhooks/bad", admin, `{"url":"https://x.example","events":["everything"]}`)
	assert.Equal(t, http.StatusBadRequest, code, "an unknown event")

	// A client's token.
	code, body = a.put("/api/v1/webhooks/acme-2", acme, `{"url":"https://acme.example/dlr"}`)
	assert.Equal(t, http.StatusBadRequest, code, "a new one needs events: %v", body)
	code, body = a.put("/api/v1/webhooks/acme-2", acme, `{"url":"https://acme.example/dlr","events":["sms"]}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	code, _ = a.put("/api/v1/webhooks/acme-3", acme, `{"url":"https://acme.example/dlr","events":["ticket"]}`)
	assert.Equal(t, http.StatusBadRequest, code, "a client's endpoint carries sms only")
	code, _ = a.put("/api/v1/webhooks/acme-3", acme, `{"url":"https://acme.example/dlr","events":["sms"],"client":"other"}`)
	assert.Equal(t, http.StatusForbidden, code, "another client's")
	code, _ = a.put("/api/v1/webhooks/acme-3", acme, `{"url":"https://acme.example/dlr","events":["sms"],"client":""}`)
	assert.Equal(t, http.StatusForbidden, code, "every client's")
	for _, name := range []string{"crm", "other-dlr", "events"} {
		code, _ = a.put("/api/v1/webhooks/"+name, acme, `{"url":"https://acme.example/steal","events":["sms"]}`)
		assert.Equal(t, http.StatusConflict, code, "taking %s", name)
		code, _ = a.do(http.MethodDelete, "/api/v1/webhooks/"+name, acme, "", nil)
		assert.Equal(t, http.StatusConflict, code, "deleting %s", name)
	}
	eps, err = a.st.WebhookEndpoints(context.Background())
	require.NoError(t, err)
	for _, e := range eps {
		assert.NotContains(t, e.URL, "steal", e.Name)
	}
	code, _ = a.do(http.MethodDelete, "/api/v1/webhooks/acme-2", acme, "", nil)
	assert.Equal(t, http.StatusOK, code)
	code, _ = a.do(http.MethodDelete, "/api/v1/webhooks/acme-2", admin, "", nil)
	assert.Equal(t, http.StatusNotFound, code)

	code, _ = a.as("luis", "clave de luis", http.MethodPut, "/api/v1/webhooks/x", `{"url":"https://x.example","events":["ticket"]}`)
	assert.Equal(t, http.StatusForbidden, code, "an agent")
}
