package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/store"
)

// account makes a person's account with a password.
func (a *testAPI) account(login string, role store.AccountRole, client string, disabled bool) {
	a.t.Helper()
	h, err := chat.HashPassword("clave de " + login)
	require.NoError(a.t, err)
	require.NoError(a.t, a.st.PutAccount(context.Background(),
		&store.Account{Login: login, Role: role, Client: client, PasswordHash: h, Disabled: disabled}))
}

// as makes a request with a login and password.
func (a *testAPI) as(login, password, method, path, body string) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	require.NoError(a.t, err)
	req.SetBasicAuth(login, password)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = jsonDecode(resp, &out)
	return resp.StatusCode, out
}

// TestPeopleByRole: people log in with their account's login and
// password; each role reaches its part of the API and no other.
func TestPeopleByRole(t *testing.T) {
	a := newTestAPI(t)
	a.account("ana", store.RoleAdmin, "", false)
	a.account("luis", store.RoleAgent, "", false)
	a.account("marta", store.RoleChatOperator, "", false)
	a.account("acme.user", store.RoleSMSClient, "acme", false)
	a.account("ex", store.RoleAdmin, "", true)
	send := `{"to":"04141234567","text":"hola"}`
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/tickets", ""},
		{"GET", "/api/v1/chat/conversations", ""},
		{"POST", "/api/v1/sms", send},
		{"GET", "/api/v1/mo", ""},
	}
	want := map[string][]int{ // by route above
		"ana":       {200, 200, 202, 200},
		"luis":      {200, 403, 403, 403},
		"marta":     {403, 200, 403, 403},
		"acme.user": {403, 403, 202, 200},
	}
	for login, codes := range want {
		for i, r := range routes {
			code, body := a.as(login, "clave de "+login, r.method, r.path, r.body)
			assert.Equal(t, codes[i], code, "%s %s %s: %v", login, r.method, r.path, body)
		}
	}
	// An sms account acts for its client: what it sends is its client's,
	// and another client's token does not see it.
	code, body := a.as("acme.user", "clave de acme.user", "POST", "/api/v1/sms", send)
	require.Equal(t, 202, code, body)
	id := int64(body["id"].(float64))
	code, _ = a.get(fmt.Sprintf("/api/v1/sms/%d", id), a.token("acme-app", "acme"))
	assert.Equal(t, 200, code)
	code, _ = a.get(fmt.Sprintf("/api/v1/sms/%d", id), a.token("other-app", "other"))
	assert.Equal(t, 404, code)
	code, _ = a.as("acme.user", "clave de acme.user", "POST", "/api/v1/sms", `{"to":"04141234567","text":"x","client":"other"}`)
	assert.Equal(t, 403, code)

	for _, c := range []struct{ login, password string }{
		{"ana", "wrong"}, {"nobody", "clave de nobody"}, {"ex", "clave de ex"}, {"ana ", "clave de ana"},
		{strings.Repeat("a", 65), "x"}, {"ana", strings.Repeat("x", 2000)},
	} {
		code, _ := a.as(c.login, c.password, "GET", "/api/v1/tickets", "")
		assert.Equal(t, 401, code, "%q", c.login)
	}
}

// TestPasswordGuessingIsThrottled: five wrong passwords for a login from
// one address in a minute, and the next attempts from there are refused
// unread (429), the right password too; other logins are not affected.
func TestPasswordGuessingIsThrottled(t *testing.T) {
	a := newTestAPI(t)
	a.account("ana", store.RoleAdmin, "", false)
	a.account("luis", store.RoleAgent, "", false)
	for i := range 5 {
		code, _ := a.as("ana", fmt.Sprint("guess", i), "GET", "/api/v1/tickets", "")
		require.Equal(t, 401, code)
	}
	code, body := a.as("ana", "guess5", "GET", "/api/v1/tickets", "")
	assert.Equal(t, http.StatusTooManyRequests, code, body)
	code, _ = a.as("ana", "clave de ana", "GET", "/api/v1/tickets", "")
	assert.Equal(t, http.StatusTooManyRequests, code, "refused unread, the right password too")
	code, _ = a.as("luis", "clave de luis", "GET", "/api/v1/tickets", "")
	assert.Equal(t, 200, code, "another login from the same address")
}

// TestCheckedCredentialsEndWithTheAccount: a login checked once is taken
// again without the guard, until its password changes or the account is
// disabled; a password longer than bcrypt reads is never right.
func TestCheckedCredentialsEndWithTheAccount(t *testing.T) {
	a := newTestAPI(t)
	a.account("ana", store.RoleAdmin, "", false)
	code, _ := a.as("ana", "clave de ana", "GET", "/api/v1/tickets", "")
	require.Equal(t, 200, code)
	for range 6 { // guesses from the same address exhaust the pair's count
		a.as("ana", "guess", "GET", "/api/v1/tickets", "")
	}
	code, _ = a.as("ana", "clave de ana", "GET", "/api/v1/tickets", "")
	assert.Equal(t, 200, code, "checked before: not throttled by the guesses")

	ctx := context.Background()
	acct, err := a.st.Account(ctx, "ana")
	require.NoError(t, err)
	acct.Disabled = true
	require.NoError(t, a.st.PutAccount(ctx, &acct))
	code, _ = a.as("ana", "clave de ana", "GET", "/api/v1/tickets", "")
	assert.NotEqual(t, 200, code, "disabled")

	a.account("luis", store.RoleAgent, "", false)
	code, _ = a.as("luis", "clave de luis", "GET", "/api/v1/tickets", "")
	require.Equal(t, 200, code)
	h, err := chat.HashPassword("otra clave")
	require.NoError(t, err)
	require.NoError(t, a.st.PutAccount(ctx, &store.Account{Login: "luis", Role: store.RoleAgent, PasswordHash: h}))
	code, _ = a.as("luis", "clave de luis", "GET", "/api/v1/tickets", "")
	assert.Equal(t, 401, code, "the old password after a change")
	code, _ = a.as("luis", "otra clave", "GET", "/api/v1/tickets", "")
	assert.Equal(t, 200, code)

	long := strings.Repeat("x", 72)
	h, err = chat.HashPassword(long)
	require.NoError(t, err)
	require.NoError(t, a.st.PutAccount(ctx, &store.Account{Login: "marta", Role: store.RoleAgent, PasswordHash: h}))
	code, _ = a.as("marta", long, "GET", "/api/v1/tickets", "")
	assert.Equal(t, 200, code)
	code, _ = a.as("marta", long+"más", "GET", "/api/v1/tickets", "")
	assert.Equal(t, 401, code, "bcrypt reads 72 bytes: a longer password is not the stored one")
}
