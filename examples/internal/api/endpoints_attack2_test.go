package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// Two clients creating the same endpoint name at once: the name is free
// when each checks it, so both are told they made it (201 with a
// secret), and the second upsert silently takes the first one's endpoint
// (its URL, client and secret). The same happens to an administrator
// racing a client.
func TestAttack2EndpointNameRace(t *testing.T) {
	a := newTestAPI(t)
	hookSetup(t, a, "http://127.0.0.1:9")
	acme, other, admin := a.token("acme-app", "acme"), a.token("other-app", "other"), a.token("root", "")
	ctx := context.Background()
	stolen, tries := 0, 40
	var example string
	for i := range tries {
		name := fmt.Sprintf("race-%d", i)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		bodies := make([]map[string]any, 2)
		start := make(chan struct{})
		for j, tok := range []string{acme, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[j], bodies[j] = a.put("/api/v1/webhooks/"+name, tok, fmt.Sprintf(`{"url":"https://c%d.example/dlr","events":["sms"]}`, j))
			}()
		}
		close(start)
		wg.Wait()
		if codes[0] == http.StatusCreated && codes[1] == http.StatusCreated {
			stolen++
			eps, err := a.st.WebhookEndpoints(ctx)
			require.NoError(t, err)
			for _, e := range eps {
				if e.Name == name {
					example = fmt.Sprintf("both got 201 for %s (secrets %v and %v); the store keeps url %s, client %d, secret %s",
						name, bodies[0]["secret"], bodies[1]["secret"], e.URL, e.ClientID, e.Secret)
				}
			}
		}
	}
	assert.Zero(t, stolen, "of %d races, %d told both clients they made the endpoint; e.g. %s", tries, stolen, example)

	// An administrator making a platform endpoint while a client races it.
	taken := 0
	for i := range tries {
		name := fmt.Sprintf("crm-%d", i)
		var wg sync.WaitGroup
		var adminCode, clientCode int
		var adminBody map[string]any
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			adminCode, adminBody = a.put("/api/v1/webhooks/"+name, admin, `{"url":"https://crm.example/h","events":["sms"]}`)
		}()
		go func() {
			defer wg.Done()
			<-start
			clientCode, _ = a.put("/api/v1/webhooks/"+name, acme, `{"url":"https://evil.example/h","events":["sms"]}`)
		}()
		close(start)
		wg.Wait()
		if adminCode == http.StatusCreated && clientCode == http.StatusCreated {
			eps, err := a.st.WebhookEndpoints(ctx)
			require.NoError(t, err)
			for _, e := range eps {
				if e.Name == name && e.URL == "https://evil.example/h" {
					taken++ // the administrator was told it made it; the client's token owns it
					_ = adminBody
				}
			}
		}
	}
	assert.Zero(t, taken, "of %d races, %d left the endpoint the administrator was told it made (201) in the client's hands (its URL, client and secret)", tries, taken)
}

// A client's token cannot reach other endpoints through path tricks,
// odd names or events, and gets no 500.
func TestAttack2EndpointNameTricks(t *testing.T) {
	a := newTestAPI(t)
	hookSetup(t, a, "http://127.0.0.1:9")
	admin, acme := a.token("root", ""), a.token("acme-app", "acme")
	code, body := a.put("/api/v1/webhooks/crm", admin, `{"url":"https://crm.example/h","events":["ticket","chat"]}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	code, body = a.put("/api/v1/webhooks/every", admin, `{"url":"https://crm.example/s","events":["sms"]}`)
	require.Equal(t, http.StatusCreated, code, "%v", body)
	for _, name := range []string{"other-dlr", "OTHER-DLR", "other-dlr%20", "%20other-dlr", "other-dlr%00", "other-dlr%2F", "crm", "every",
		"Crm", "crm.", "..%2Fother-dlr", "%2e%2e", "other-dlr%3F", "other%2Ddlr", strings.Repeat("a", 5000)} {
		for _, m := range []string{http.MethodPut, http.MethodDelete} {
			code, body := a.do(m, "/api/v1/webhooks/"+name, acme, "application/json", strings.NewReader(`{"url":"https://evil.example/x","events":["sms"]}`))
			assert.Less(t, code, 500, "%s %.50s: %v", m, name, body)
		}
	}
	for _, ev := range []string{`["sms","ticket"]`, `["ticket"]`, `[" sms"]`, `["SMS"]`, `["sms","sms"]`, `[]`, `["chat"]`, `"sms"`, `null`} {
		code, body := a.put("/api/v1/webhooks/acme-x", acme, `{"url":"https://acme.example/x","events":`+ev+`}`)
		assert.Less(t, code, 500, "%s: %v", ev, body)
	}
	for _, cl := range []string{`"other"`, `""`, `"acme "`, `"ACME"`, `null`} {
		code, body := a.put("/api/v1/webhooks/acme-y", acme, `{"url":"https://acme.example/y","events":["sms"],"client":`+cl+`}`)
		assert.Less(t, code, 500, "%s: %v", cl, body)
	}
	// Duplicate JSON keys: the last wins in Go; the check must see it.
	code, body = a.put("/api/v1/webhooks/acme-z", acme, `{"url":"https://acme.example/z","events":["sms"],"client":"acme","client":"other"}`)
	assert.Less(t, code, 500, "%v", body)
	eps, err := a.st.WebhookEndpoints(context.Background())
	require.NoError(t, err)
	clients := map[int64]string{}
	for _, name := range []string{"acme", "other"} {
		c, err := a.st.ClientByName(context.Background(), name)
		require.NoError(t, err)
		clients[c.ID] = name
	}
	for _, e := range eps {
		assert.NotContains(t, e.URL, "evil.example", e.Name)
		if strings.HasPrefix(e.URL, "https://acme.example/") {
			assert.Equal(t, "acme", clients[e.ClientID], "%s: an endpoint made by acme's token for client %d", e.Name, e.ClientID)
			assert.Equal(t, []store.WebhookTopic{store.TopicSMS}, e.Topics, e.Name)
		}
		if e.Name == "crm" {
			assert.Equal(t, []store.WebhookTopic{store.TopicTicket, store.TopicChat}, e.Topics)
		}
	}
}
