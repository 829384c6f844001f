package console

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// consoleSite is the console on a fresh store with an admin (ana) and an
// agent (luis), and one failed webhook delivery.
type consoleSite struct {
	st   store.Store
	url  string // the console's root, ending in /
	host string
}

func newSite(t *testing.T) *consoleSite {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for login, role := range map[string]store.AccountRole{"ana": store.RoleAdmin, "luis": store.RoleAgent} {
		h, err := bcrypt.GenerateFromPassword([]byte("clave de "+login), bcrypt.MinCost)
		require.NoError(t, err)
		require.NoError(t, st.PutAccount(ctx, &store.Account{Login: login, Role: role, PasswordHash: string(h)}))
	}
	require.NoError(t, st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "crm", URL: "https://user:secret@crm.example.com/hook",
		Secret: "whsec_0123456789abcdef", Topics: []store.WebhookTopic{store.TopicChat}}))
	require.NoError(t, st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}))
	ds, err := st.ClaimWebhookDeliveries(ctx, 1, time.Now(), time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, st.FinishWebhookDelivery(ctx, store.WebhookAttempt{ID: ds[0].ID, Attempt: 1, Status: 500, Error: "HTTP 500"}))

	c := &Server{Store: st, Prefix: "/console"}
	h, err := c.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &consoleSite{st: st, url: srv.URL + "/console/", host: srv.URL}
}

// client is a browser-like HTTP client: cookies, no redirects followed.
func (s *consoleSite) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (s *consoleSite) post(t *testing.T, c *http.Client, path, origin string, form url.Values) (*http.Response, string) {
	req, err := http.NewRequest(http.MethodPost, s.host+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (s *consoleSite) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	resp, err := c.Get(s.host + path)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (s *consoleSite) login(t *testing.T, c *http.Client, login string) {
	resp, _ := s.post(t, c, "/console/login", s.host, url.Values{"login": {login}, "password": {"clave de " + login}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// as logs login in with a client of its own and returns it with the
// session's CSRF token (every page's logout form carries it).
func (s *consoleSite) as(t *testing.T, login string) (*http.Client, string) {
	t.Helper()
	c := s.client(t)
	s.login(t, c, login)
	_, page := s.get(t, c, "/console/")
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(t, m, "a CSRF token on the home page")
	return c, m[1]
}

func TestSessionsAndRoles(t *testing.T) {
	s := newSite(t)
	c := s.client(t)
	resp, _ := s.get(t, c, "/console/webhooks")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/login?next=%2Fwebhooks", resp.Header.Get("Location"))

	resp, body := s.post(t, c, "/console/login", s.host, url.Values{"login": {"ana"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "Wrong login or password.")
	resp, _ = s.post(t, c, "/console/login", "", url.Values{"login": {"ana"}, "password": {"clave de ana"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a login form from nowhere")
	resp, _ = s.post(t, c, "/console/login", "https://evil.example", url.Values{"login": {"ana"}, "password": {"clave de ana"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a login form from another site")

	resp, _ = s.post(t, c, "/console/login", s.host, url.Values{"login": {"ana"}, "password": {"clave de ana"}, "next": {"//evil.example/x"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/", resp.Header.Get("Location"), "no redirect out of the console")
	cookie := resp.Header.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/console/"} {
		assert.Contains(t, cookie, attr)
	}
	resp, body = s.get(t, c, "/console/webhooks")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Contains(t, body, "https://user:xxxxx@crm.example.com/hook", "the URL's password is hidden")
	assert.NotContains(t, body, "secret@")

	// The replay needs the session's token and this site's origin.
	ds, err := s.st.WebhookDeliveries(context.Background(), store.WebhookDeliveryFilter{State: store.DeliveryFailed})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	path := "/console/webhooks/deliveries/" + strconv.FormatInt(ds[0].ID, 10) + "/replay"
	token := csrfField.FindStringSubmatch(body)[1]
	resp, _ = s.post(t, c, path, s.host, url.Values{"csrf": {"forged"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a forged token")
	resp, _ = s.post(t, c, path, "https://evil.example", url.Values{"csrf": {token}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "another site's form")
	resp, _ = s.post(t, s.client(t), path, s.host, url.Values{"csrf": {token}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no session")
	resp, _ = s.post(t, c, path, s.host, url.Values{"csrf": {token}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	d, err := s.st.WebhookDelivery(context.Background(), ds[0].ID)
	require.NoError(t, err)
	assert.Equal(t, store.DeliveryPending, d.State)

	// An agent has no admin pages; after logging out, nothing.
	agent := s.client(t)
	s.login(t, agent, "luis")
	resp, _ = s.get(t, agent, "/console/webhooks")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, body = s.get(t, agent, "/console/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = s.post(t, agent, "/console/logout", s.host, url.Values{"csrf": {csrfField.FindStringSubmatch(body)[1]}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = s.get(t, agent, "/console/")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "logged out")
}

// An administrator logs in with the browser, finds the failed delivery in
// the log and replays it.
func TestReplayInABrowser(t *testing.T) {
	s := newSite(t)
	b := browsertest.NewPage(t, "administrator")
	login(b, s.url+"webhooks", "ana", "clave de ana")
	b.Do("the log", chromedp.WaitVisible(`table.deliveries`))
	browsertest.Tour(t, b.Ctx, "console-webhooks")
	b.Do("replay the failed delivery",
		chromedp.Click(`tr[data-state=failed] button`),
		chromedp.WaitVisible(`p.notice`),
	)
	assert.Equal(t, "pending", browsertest.Eval[string](b, `document.querySelector("table.deliveries tbody tr").dataset.state`))
}

// An administrator adds and changes accounts from the People page;
// nobody else can, and she cannot lock herself out.
func TestPeopleEdits(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	admin := s.client(t)
	s.login(t, admin, "ana")
	_, body := s.get(t, admin, "/console/users")
	token := csrfField.FindStringSubmatch(body)[1]
	save := func(c *http.Client, form url.Values) (int, string) {
		form.Set("csrf", token)
		resp, body := s.post(t, c, "/console/users", s.host, form)
		return resp.StatusCode, body
	}

	code, _ := save(admin, url.Values{"login": {"eva"}, "name": {"Eva"}, "role": {"agent"}, "password": {"una clave larga"}})
	require.Equal(t, http.StatusSeeOther, code)
	resp, _ := s.post(t, s.client(t), "/console/login", s.host, url.Values{"login": {"eva"}, "password": {"una clave larga"}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "she logs in")
	a, err := s.st.Account(ctx, "eva")
	require.NoError(t, err)
	assert.Equal(t, store.RoleAgent, a.Role)
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte("una clave larga")))

	code, _ = save(admin, url.Values{"login": {"eva"}, "name": {"Eva"}, "role": {"operator"}})
	require.Equal(t, http.StatusSeeOther, code, "a change without a password keeps it")
	b, err := s.st.Account(ctx, "eva")
	require.NoError(t, err)
	assert.Equal(t, store.RoleChatOperator, b.Role)
	assert.Equal(t, a.PasswordHash, b.PasswordHash)
	assert.Equal(t, a.CreatedAt, b.CreatedAt)

	for what, form := range map[string]url.Values{
		"a new account without a password": {"login": {"nuevo"}, "role": {"agent"}},
		"a short password":                 {"login": {"nuevo"}, "role": {"agent"}, "password": {"corta"}},
		"an sms account without client":    {"login": {"nuevo"}, "role": {"sms"}, "password": {"una clave larga"}},
		"a bad login":                      {"login": {"no vale"}, "role": {"agent"}, "password": {"una clave larga"}},
		"disabling herself":                {"login": {"ana"}, "role": {"admin"}, "disabled": {"on"}},
		"taking her own admin role":        {"login": {"ana"}, "role": {"agent"}},
	} {
		code, _ := save(admin, form)
		assert.Equal(t, http.StatusBadRequest, code, what)
	}
	_, err = s.st.Account(ctx, "nuevo")
	assert.ErrorIs(t, err, store.ErrNotFound)

	agent := s.client(t)
	s.login(t, agent, "luis")
	code, _ = save(agent, url.Values{"login": {"luis"}, "role": {"admin"}})
	assert.Equal(t, http.StatusForbidden, code, "an agent makes himself admin")
	resp, _ = s.post(t, admin, "/console/users", s.host, url.Values{"login": {"x"}, "role": {"agent"}, "password": {"una clave larga"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "without the CSRF token")
}

// Behind a proxy that ends TLS, the console is told its public origin:
// forms from it are taken, and the session cookie is Secure.
func TestPublicOriginBehindProxy(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	h, err := bcrypt.GenerateFromPassword([]byte("clave de ana"), bcrypt.MinCost)
	require.NoError(t, err)
	require.NoError(t, st.PutAccount(ctx, &store.Account{Login: "ana", Role: store.RoleAdmin, PasswordHash: string(h)}))
	c := &Server{Store: st, Prefix: "/console", PublicOrigin: "https://support.example.com"}
	handler, err := c.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", handler))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := &consoleSite{st: st, url: srv.URL + "/console/", host: srv.URL}
	cl := s.client(t)
	resp, _ := s.post(t, cl, "/console/login", "https://support.example.com", url.Values{"login": {"ana"}, "password": {"clave de ana"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Set-Cookie"), "Secure")
	resp, _ = s.post(t, cl, "/console/login", "https://evil.example.com", url.Values{"login": {"ana"}, "password": {"clave de ana"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = s.post(t, cl, "/console/login", "http://support.example.com", url.Values{"login": {"ana"}, "password": {"clave de ana"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the public origin's scheme counts")
}
