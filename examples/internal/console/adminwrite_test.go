package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/examples/internal/api"
	"github.com/switchboard-go/switchboard/store"
)

var shownSecret = regexp.MustCompile(`<code id="new-(?:token|secret)" class="secret">([^<]+)</code>`)

// An administrator makes and revokes API tokens and endpoints from the
// console: each secret is shown once, only its hash (tokens) is kept,
// and no other role and no forged form can do it.
func TestAdminMakesTokensAndEndpoints(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	admin, agent := s.client(t), s.client(t)
	s.login(t, admin, "ana")
	s.login(t, agent, "luis")
	_, page := s.get(t, admin, "/console/tokens")
	tok := csrfField.FindStringSubmatch(page)[1]
	_, agentPage := s.get(t, agent, "/console/")
	agentTok := csrfField.FindStringSubmatch(agentPage)[1]

	resp, _ := s.post(t, agent, "/console/tokens", s.host, url.Values{"csrf": {agentTok}, "name": {"mine"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an agent makes no token")
	resp, _ = s.post(t, admin, "/console/tokens", s.host, url.Values{"csrf": {"forged"}, "name": {"x"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	resp, page = s.post(t, admin, "/console/tokens", s.host, url.Values{"csrf": {tok}, "name": {"crm-app"}, "client": {"acme"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	m := shownSecret.FindStringSubmatch(page)
	require.NotNil(t, m, "the new token on the page")
	rec, err := s.st.APITokenByHash(ctx, api.HashToken(m[1]))
	require.NoError(t, err, "the store keeps the token's hash")
	assert.Equal(t, "acme", rec.Client)
	_, again := s.get(t, admin, "/console/tokens")
	assert.NotContains(t, again, m[1], "shown once")
	resp, page = s.post(t, admin, "/console/tokens", s.host, url.Values{"csrf": {tok}, "name": {"crm-app"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "is in use")
	resp, _ = s.post(t, admin, "/console/tokens/revoke", s.host, url.Values{"csrf": {tok}, "name": {"crm-app"}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, err = s.st.APITokenByHash(ctx, api.HashToken(m[1]))
	assert.ErrorIs(t, err, store.ErrNotFound, "revoked: no longer found")

	// Endpoints.
	resp, _ = s.post(t, agent, "/console/webhooks", s.host, url.Values{"csrf": {agentTok}, "name": {"x"}, "url": {"https://x.example"}, "events": {"sms"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, page = s.post(t, admin, "/console/webhooks", s.host, url.Values{"csrf": {tok}, "name": {"erp"}, "url": {"https://erp.example/h"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "no events")
	assert.Contains(t, page, "needs a URL and its events")
	resp, page = s.post(t, admin, "/console/webhooks", s.host, url.Values{"csrf": {tok}, "name": {"erp"}, "url": {"javascript:alert(1)"}, "events": {"sms"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "not http: %s", page)
	resp, page = s.post(t, admin, "/console/webhooks", s.host, url.Values{"csrf": {tok}, "name": {"erp"}, "url": {"https://erp.example/h"},
		"events": {"sms", "ticket"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	secret := shownSecret.FindStringSubmatch(page)
	require.NotNil(t, secret)
	resp, page = s.post(t, admin, "/console/webhooks", s.host, url.Values{"csrf": {tok}, "name": {"erp"}, "url": {"https://erp.example/v2"}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Nil(t, shownSecret.FindStringSubmatch(page), "a change shows no secret")
	eps, err := s.st.WebhookEndpoints(ctx)
	require.NoError(t, err)
	var erp store.WebhookEndpoint
	for _, e := range eps {
		if e.Name == "erp" {
			erp = e
		}
	}
	assert.Equal(t, secret[1], erp.Secret, "kept")
	assert.Equal(t, "https://erp.example/v2", erp.URL)
	assert.Len(t, erp.Topics, 2, "kept")
	resp, _ = s.post(t, admin, "/console/webhooks/delete", s.host, url.Values{"csrf": {tok}, "name": {"erp"}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = s.post(t, admin, "/console/webhooks/delete", s.host, url.Values{"csrf": {tok}, "name": {"erp"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
