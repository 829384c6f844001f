package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/webhook"
)

// Secrets are shown once, on the answer to the form that made them, and
// on no other page; passwords in endpoint URLs never show, not even in
// the delivery log's errors.
func TestAttack2SecretsShownOnce(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	ana, tok := s.as(t, "ana")

	resp, page := s.post(t, ana, "/console/tokens", s.host, url.Values{"csrf": {tok}, "name": {"app"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "the page with the token is not cached")
	token := shownSecret.FindStringSubmatch(page)[1]
	resp, page = s.post(t, ana, "/console/webhooks", s.host, url.Values{"csrf": {tok}, "name": {"erp"}, "url": {"https://erp.example/h"}, "events": {"ticket"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	secret := shownSecret.FindStringSubmatch(page)[1]
	// a change without new_secret shows none; a failed new_secret shows none
	resp, page = s.post(t, ana, "/console/webhooks", s.host, url.Values{"csrf": {tok}, "name": {"erp"}, "events": {"chat"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotContains(t, page, "whsec_")
	resp, page = s.post(t, ana, "/console/webhooks", s.host, url.Values{"csrf": {tok}, "name": {"erp"}, "new_secret": {"on"}, "client": {"acme"}, "events": {"ticket"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.NotContains(t, page, "whsec_", "a secret shown for a change that was not saved")
	eps, err := s.st.WebhookEndpoints(ctx)
	require.NoError(t, err)
	for _, e := range eps {
		if e.Name == "erp" {
			assert.Equal(t, secret, e.Secret, "the failed change kept the secret")
		}
	}

	for _, p := range []string{"/console/", "/console/tokens", "/console/webhooks", "/console/users", "/console/webhooks?state=failed",
		"/console/tokens?revoked=app", "/console/webhooks?endpoint=erp"} {
		_, page := s.get(t, ana, p)
		assert.NotContains(t, page, token, p)
		assert.NotContains(t, page, secret, p)
		assert.NotContains(t, page, "whsec_0123456789abcdef", p)
	}
	// Problems on the token and webhook pages.
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/console/tokens", url.Values{"name": {"app"}}},
		{"/console/tokens/revoke", url.Values{"name": {"nope"}}},
		{"/console/webhooks/delete", url.Values{"name": {"nope"}}},
		{"/console/webhooks", url.Values{"name": {"erp"}, "url": {"ftp://x"}}},
	} {
		f.form.Set("csrf", tok)
		_, page := s.post(t, ana, f.path, s.host, f.form)
		assert.NotContains(t, page, secret, f.path)
		assert.NotContains(t, page, "whsec_", f.path)
	}
}

// Passwords of endpoint URLs, in every spelling, and in the errors of
// failed deliveries, are not shown.
func TestAttack2URLPasswordsRedacted(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	ana := s.client(t)
	s.login(t, ana, "ana")
	urls := map[string]string{
		"a": "https://user:pw-one@h.example/x",
		"b": "https://:pw-two@h.example/x",
		"c": "https://user:pw%40three@h.example/x",
		"d": "http://user:pw-four@127.0.0.1:1/x",
		"e": "HTTPS://user:pw-five@h.example/x",
		"f": "https://user:pw-six@h.example:443/x?y=1#z",
	}
	for name, u := range urls {
		require.NoError(t, s.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: name, URL: u, Secret: "whsec_0123456789abcdef",
			Topics: []store.WebhookTopic{store.TopicChat}}), u)
	}
	// deliveries fail against them
	require.NoError(t, s.st.CreateConversation(ctx, &store.Conversation{CustomerName: "Eva"}))
	d := &webhook.Dispatcher{Store: s.st, Timeout: 2 * time.Second}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := d.Flush(fctx)
	require.NoError(t, err)
	_, page := s.get(t, ana, "/console/webhooks")
	for _, pw := range []string{"pw-one", "pw-two", "pw%40three", "pw@three", "pw-four", "pw-five", "pw-six", "secret@"} {
		assert.NotContains(t, page, pw)
	}
	assert.True(t, strings.Contains(page, "xxxxx"))
	assert.Contains(t, page, "dial tcp", "the deliveries failed and their errors are shown")
}
