package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// get makes an API request and returns its status.
func get(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAPIWithTokens: the server prints the API's URL; a token made with
// `server api-token` (its last word) opens it, and once revoked, while the
// server runs, no longer does. Accounts are made with `server user`.
func TestAPIWithTokens(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"api-token", "-data", dir, "-name", "ops"}, &out, &errOut), errOut.String())
	words := strings.Fields(out.String())
	token := words[len(words)-1]
	assert.True(t, strings.HasPrefix(token, "sbt_"), out.String())
	assert.Error(t, run(ctx, []string{"api-token", "-data", dir, "-name", "ops"}, &out, &errOut), "a name in use")

	out.Reset()
	require.NoError(t, runUser(ctx, []string{"-data", dir, "-login", "ana", "-role", "admin", "-password-stdin"},
		strings.NewReader("una clave larga\n"), &out, &errOut))
	assert.Error(t, runUser(ctx, []string{"-data", dir, "-login", "bob", "-role", "agent", "-password-stdin"},
		strings.NewReader("corta\n"), &out, &errOut), "a short password")
	assert.Error(t, runUser(ctx, []string{"-data", dir, "-login", "carl", "-role", "sms", "-password-stdin"},
		strings.NewReader("una clave larga\n"), &out, &errOut), "an sms account without client")
	require.NoError(t, runUser(ctx, []string{"-data", dir, "-login", "ana", "-name", "Ana"}, strings.NewReader(""), &out, &errOut),
		"a change keeps the password and role")
	out.Reset()
	require.NoError(t, runUser(ctx, []string{"-data", dir, "-list"}, nil, &out, &errOut))
	assert.Regexp(t, `ana\s+admin\s+-\s+Ana`, out.String())

	logs := &syncBuffer{}
	_, stop := startServer(t, []string{"-data", dir}, logs)
	defer stop()
	waitFor(t, logs, "http api listening")
	m := regexp.MustCompile(`msg="http api listening" url=(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, m, logs.String())
	url := m[1]
	assert.Equal(t, http.StatusOK, get(t, url+"tickets", token))
	assert.Equal(t, http.StatusUnauthorized, get(t, url+"tickets", ""))
	assert.Equal(t, http.StatusOK, get(t, strings.TrimSuffix(url, "api/v1/")+"healthz", ""))

	out.Reset()
	require.NoError(t, run(ctx, []string{"api-token", "-data", dir, "-revoke", "ops"}, &out, &errOut), errOut.String())
	assert.Equal(t, http.StatusUnauthorized, get(t, url+"tickets", token))
	out.Reset()
	require.NoError(t, run(ctx, []string{"api-token", "-data", dir, "-list"}, &out, &errOut))
	assert.Regexp(t, `ops\s+\(all\)\s+\S+ \S+\s+\S+ \S+`, out.String())
}

// The server serves the chat widget next to the API when the chat runs:
// its page, and the chat over WebSocket into the same chat server as TCP.
func TestChatWidgetServed(t *testing.T) {
	logs := &syncBuffer{}
	ctx, stop := startServer(t, []string{"-data", t.TempDir(), "-chat-addr", "127.0.0.1:0"}, logs)
	defer stop()
	waitFor(t, logs, "chat widget")
	base := regexp.MustCompile(`msg="chat widget" url=(\S+)`).FindStringSubmatch(logs.String())[1]
	resp, err := http.Get(base)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `<script src="widget.js">`)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'")
	for _, asset := range []string{"widget.js", "widget.css", "embed.js", "switchboard-chat.js"} {
		assert.Equal(t, http.StatusOK, get(t, base+asset, ""), asset)
	}
	assert.Equal(t, http.StatusNotFound, get(t, base+"nothing.js", ""))

	cust, err := chat.Dial(ctx, "ws", &chat.ClientOptions{Name: "Ana", Email: "ana@example.com",
		Dialer: chatws.Dialer("ws"+strings.TrimPrefix(base, "http")+"ws", nil)})
	require.NoError(t, err)
	defer cust.Close()
	assert.NotZero(t, cust.ConversationID(), "a conversation opened over WebSocket")

	// The web console is there too, behind its login.
	con := regexp.MustCompile(`msg="web console" url=(\S+)`).FindStringSubmatch(logs.String())[1]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(con)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/login?next=%2F", resp.Header.Get("Location"))
}

// Behind a proxy on this machine, the widget's customers are counted by
// the address in the proxy's header, and only the proxy is believed.
func TestClientAddrFromProxyHeader(t *testing.T) {
	h := &httpFlags{proxyHeader: "X-Forwarded-For"}
	req := func(remote string, values ...string) *http.Request {
		r, _ := http.NewRequest("GET", "/chat/ws", nil)
		r.RemoteAddr = remote
		for _, v := range values {
			r.Header.Add("X-Forwarded-For", v)
		}
		return r
	}
	assert.Equal(t, "198.51.100.7", h.clientAddr(req("127.0.0.1:5000", "198.51.100.7")))
	assert.Equal(t, "203.0.113.9", h.clientAddr(req("[::1]:5000", "10.0.0.1, 203.0.113.9")), "the address the proxy added")
	assert.Equal(t, "203.0.113.9", h.clientAddr(req("127.0.0.1:5000", "1.2.3.4", "203.0.113.9")), "the last header")
	assert.Equal(t, "", h.clientAddr(req("192.0.2.1:5000", "198.51.100.7")), "a request not from the proxy")
	assert.Equal(t, "", h.clientAddr(req("127.0.0.1:5000")), "no header: its own address")
	assert.Equal(t, "", (&httpFlags{}).clientAddr(req("127.0.0.1:5000", "198.51.100.7")), "no flag")
}
