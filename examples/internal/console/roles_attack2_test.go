package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// attack2Do sends a request with an optional body, origin and method.
func attack2Do(t *testing.T, c *http.Client, method, rawURL, origin string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, rawURL, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	return resp, readAll(resp)
}

// Another client's batch, under every spelling of its id an sms account
// can think of, stays hidden; and no spelling gives a 500.
func TestAttack2BatchIDTricks(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	pedro, olga := s.client(t), s.client(t)
	s.login(t, pedro, "pedro")
	s.login(t, olga, "olga")
	resp, body := s.upload(t, olga, s.host, s.csrf(t, olga), "secreto-de-otra", "04141112222,texto de otra\n04161112222,sin operador\n")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = s.upload(t, pedro, s.host, s.csrf(t, pedro), "de-pedro", "04141113333,texto de pedro\n")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	bs, err := s.st.Batches(context.Background(), store.BatchFilter{})
	require.NoError(t, err)
	require.Len(t, bs, 2)
	olgas := bs[1]
	if bs[0].Name == "secreto-de-otra" {
		olgas = bs[0]
	}
	id := fmt.Sprint(olgas.ID)
	for _, spelled := range []string{id, "0" + id, "00" + id, "+" + id, "%2B" + id, "%3" + id, id + "%00", id + "%20", "%20" + id,
		"-" + id, "0x" + id, id + ".0", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999999",
		"%2e%2e", "..%2F" + id, id + "%2F", "%EF%BC%91"} {
		for _, sub := range []string{"", "/progress", "/failed.csv"} {
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				resp, body := attack2Do(t, pedro, m, s.host+"/console/sms/batches/"+spelled+sub, "", nil)
				assert.NotEqual(t, http.StatusOK, resp.StatusCode, "%s %s%s: %s", m, spelled, sub, body)
				assert.Less(t, resp.StatusCode, 500, "%s %s%s: %s", m, spelled, sub, body)
				assert.NotContains(t, body, "secreto-de-otra")
				assert.NotContains(t, body, "texto de otra")
				assert.NotContains(t, body, "1112222")
			}
		}
	}
	// Query parameters do not widen the scope.
	for _, q := range []string{"?client=otra", "?all=1", "?before=" + fmt.Sprint(olgas.ID+1), "?client_id=" + fmt.Sprint(olgas.ClientID), "?before=-1", "?before=99999999999999999999"} {
		resp, body := s.get(t, pedro, "/console/sms"+q)
		assert.Equal(t, http.StatusOK, resp.StatusCode, q)
		assert.NotContains(t, body, "secreto-de-otra", q)
	}
	for _, n := range []string{"04141112222", "584141112222", "+584141112222", "584141112222%00", "58414111222%25", "%", "'", strings.Repeat("5", 33)} {
		resp, body := s.get(t, pedro, "/console/sms/number?number="+n)
		assert.Less(t, resp.StatusCode, 500, n)
		assert.NotContains(t, body, "texto de otra", n)
	}
}

// The SMS replies (MO) of another client's messages are not shown to an
// sms account, on the SMS page or by number.
func TestAttack2MOScope(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	ctx := context.Background()
	pedro, olga := s.client(t), s.client(t)
	s.login(t, pedro, "pedro")
	s.login(t, olga, "olga")
	// both clients write to the same number; olga last.
	resp, body := s.upload(t, pedro, s.host, s.csrf(t, pedro), "p", "04141112222,de pedro\n")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = s.upload(t, olga, s.host, s.csrf(t, olga), "o", "04141112222,de otra\n")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	tr := lastTo(t, s.st, "584141112222")
	require.Equal(t, "de otra", tr.Text)
	mo := store.MO{OperatorID: s.op.ID, From: "584141112222", To: "1234", Text: "respuesta privada para otra", TransmissionID: tr.ID}
	require.NoError(t, s.st.InsertMO(ctx, &mo))
	_, page := s.get(t, pedro, "/console/sms")
	assert.NotContains(t, page, "respuesta privada para otra")
	_, page = s.get(t, pedro, "/console/sms/number?number=584141112222")
	assert.NotContains(t, page, "respuesta privada para otra")
	_, page = s.get(t, olga, "/console/sms")
	assert.Contains(t, page, "respuesta privada para otra", "the owner sees it")
}

// Roles: an agent has no SMS or admin pages, an sms account no ticket or
// admin pages and no admin form; GET on POST routes and HEAD change
// nothing.
func TestAttack2RolesEveryRoute(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	pedro, luis := s.client(t), s.client(t)
	s.login(t, pedro, "pedro")
	s.login(t, luis, "luis")
	_, page := s.get(t, pedro, "/console/sms")
	ptok := csrfField.FindStringSubmatch(page)[1]
	_, page = s.get(t, luis, "/console/")
	ltok := csrfField.FindStringSubmatch(page)[1]
	adminPosts := []string{"/console/users", "/console/tokens", "/console/tokens/revoke", "/console/webhooks", "/console/webhooks/delete",
		"/console/webhooks/deliveries/1/replay", fmt.Sprintf("/console/sms/operators/%d", s.op.ID)}
	form := func(tok string) url.Values {
		return url.Values{"csrf": {tok}, "login": {"evil"}, "name": {"evil"}, "role": {"admin"}, "password": {"12345678901"},
			"url": {"https://evil.example/"}, "events": {"sms"}, "enabled": {"on"}, "priority": {"1"}, "weight": {"1"}, "tps": {"1"},
			"binds": {"1"}, "window": {"1"}, "prefixes": {"5"}}
	}
	for _, p := range adminPosts {
		for who, c := range map[string]*http.Client{"pedro": pedro, "luis": luis} {
			tok := map[string]string{"pedro": ptok, "luis": ltok}[who]
			for _, variant := range []string{p, strings.Replace(p, "/console/", "/console//", 1), p + "/", strings.ToUpper(p[:9]) + p[9:],
				strings.Replace(p, "/console/", "/console/./", 1), strings.Replace(p, "/console/", "/console/%2e/", 1)} {
				resp, body := attack2Do(t, c, http.MethodPost, s.host+variant, s.host, form(tok))
				assert.NotContains(t, []int{200, 303}, resp.StatusCode, "%s POST %s: %s", who, variant, body)
			}
			resp, _ := attack2Do(t, c, http.MethodGet, s.host+p, "", nil)
			assert.NotEqual(t, http.StatusOK, resp.StatusCode, "%s GET %s", who, p)
		}
	}
	_, err := s.st.Account(context.Background(), "evil")
	assert.ErrorIs(t, err, store.ErrNotFound)
	for _, p := range []string{"/console/sms", "/console/sms/operators", "/console/sms/number", "/console/sms/batches/1", "/console/webhooks", "/console/users", "/console/tokens"} {
		resp, _ := s.get(t, luis, p)
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, "agent %s", p)
	}
	for _, p := range []string{"/console/tickets", "/console/tickets/stats", "/console/tickets/1", "/console/tickets/attachments/1", "/console/webhooks", "/console/users", "/console/tokens"} {
		resp, _ := s.get(t, pedro, p)
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, "sms %s", p)
	}
}

// A session keeps the role, client and state of its account at login: an
// administrator who disables an account, moves an sms account to another
// client, or takes someone's admin role away expects that to hold at
// once, not when the session ends 12 hours later.
func TestAttack2SessionOutlivesAccountChanges(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	ctx := context.Background()
	ana, pedro, olga := s.client(t), s.client(t), s.client(t)
	s.login(t, ana, "ana")
	s.login(t, pedro, "pedro")
	s.login(t, olga, "olga")
	resp, body := s.upload(t, olga, s.host, s.csrf(t, olga), "nominas-de-otra", "04141112222,hola\n")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// A second administrator, logged in, then demoted to agent.
	acct, err := s.st.Account(ctx, "ana")
	require.NoError(t, err)
	require.NoError(t, s.st.PutAccount(ctx, &store.Account{Login: "root2", Role: store.RoleAdmin, PasswordHash: acct.PasswordHash}))
	root2 := s.client(t)
	resp, _ = s.post(t, root2, "/console/login", s.host, url.Values{"login": {"root2"}, "password": {"clave de ana"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page := s.get(t, root2, "/console/tokens")
	rtok := csrfField.FindStringSubmatch(page)[1]

	_, page = s.get(t, ana, "/console/users")
	atok := csrfField.FindStringSubmatch(page)[1]
	for _, f := range []url.Values{
		{"login": {"root2"}, "role": {"agent"}},
		{"login": {"pedro"}, "role": {"sms"}, "client": {"acme"}, "disabled": {"on"}},
		{"login": {"olga"}, "role": {"sms"}, "client": {"acme"}}, // moved from otra to acme
	} {
		f.Set("csrf", atok)
		resp, body := s.post(t, ana, "/console/users", s.host, f)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	}
	a, err := s.st.Account(ctx, "pedro")
	require.NoError(t, err)
	require.True(t, a.Disabled)

	resp, _ = s.get(t, pedro, "/console/sms")
	assert.NotEqual(t, http.StatusOK, resp.StatusCode, "a disabled account's session still works")
	_, page = s.get(t, olga, "/console/sms")
	assert.False(t, strings.Contains(page, "nominas-de-otra"), "an account moved from client otra to acme still sees otra's batches")
	resp, _ = s.post(t, root2, "/console/tokens", s.host, url.Values{"csrf": {rtok}, "name": {"backdoor"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a demoted administrator still makes API tokens")
	ts, err := s.st.APITokens(ctx)
	require.NoError(t, err)
	for _, tk := range ts {
		assert.NotEqual(t, "backdoor", tk.Name, "an all-powerful API token made by an account that is no longer admin")
	}
}
