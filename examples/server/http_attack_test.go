package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attackServer runs the server on a fresh data directory with a token for
// every client and one for client acme; it returns the base URL (no
// path) and the tokens.
func attackServer(t *testing.T) (dir, base, all, acme string) {
	t.Helper()
	dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newToken := func(args ...string) string {
		var out, errOut bytes.Buffer
		require.NoError(t, run(ctx, append([]string{"api-token", "-data", dir}, args...), &out, &errOut), errOut.String())
		w := strings.Fields(out.String())
		return w[len(w)-1]
	}
	all, acme = newToken("-name", "ops"), newToken("-name", "acme", "-client", "acme")
	logs := &syncBuffer{}
	_, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0"}, logs)
	t.Cleanup(stop)
	waitFor(t, logs, "http api listening")
	base = regexp.MustCompile(`msg="http api listening" url=(\S+)/api/v1/`).FindStringSubmatch(logs.String())[1]
	return dir, base, all, acme
}

// TestAttackSlowBodyWithoutToken: a request without credentials is
// refused before its body is read, yet net/http first discards up to
// 256 KB of the unread body, under ReadTimeout (5 minutes). A client
// without a token trickling a byte a second holds a connection and a
// goroutine for 5 minutes; the HTTP listener has no connection limit
// (the chat has one), so a few thousand such connections exhaust the
// process's file descriptors, which the chat, SMPP and the store share.
func TestAttackSlowBodyWithoutToken(t *testing.T) {
	_, base, _, _ := attackServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "POST /api/v1/sms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	require.NoError(t, err)
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		answered <- line
	}()
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < 15*time.Second {
		select {
		case line := <-answered:
			t.Logf("answered after %v: %q", time.Since(start).Round(time.Second), line)
			return
		case <-tick.C:
			c.Write([]byte(" ")) // one byte of the body a second
		}
	}
	t.Errorf("a request without a token trickling its body was held %v with no answer (ReadTimeout is 5 minutes)", time.Since(start).Round(time.Second))
}

// TestAttackSlowHeaders: headers sent a byte at a time are cut at
// ReadHeaderTimeout (10 s).
func TestAttackSlowHeaders(t *testing.T) {
	_, base, _, _ := attackServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		b := make([]byte, 512)
		for {
			if _, err := c.Read(b); err != nil {
				close(closed)
				return
			}
		}
	}()
	start := time.Now()
	msg := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100)
	for i := 0; i < len(msg); i++ {
		select {
		case <-closed:
			assert.Less(t, time.Since(start), 13*time.Second)
			t.Logf("closed after %v", time.Since(start).Round(time.Second))
			return
		case <-time.After(500 * time.Millisecond):
			c.Write([]byte{msg[i]})
		}
	}
	t.Errorf("slow headers not cut after %v", time.Since(start).Round(time.Second))
}

// TestAttackMethodLabelsOnServer: on the real server, requests with made
// up methods, without a token, each add a label value to
// switchboard_http_request_duration_seconds.
func TestAttackMethodLabelsOnServer(t *testing.T) {
	_, base, all, _ := attackServer(t)
	for i := range 30 {
		req, _ := http.NewRequest(fmt.Sprintf("M%03d", i), base+"/api/v1/sms", nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	fams := scrape(t, base, all)
	f := fams["switchboard_http_request_duration_seconds"]
	require.NotNil(t, f)
	methods := map[string]bool{}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == "method" {
				methods[l.GetValue()] = true
			}
		}
	}
	assert.Less(t, len(methods), 10, "%d method label values from unauthenticated requests", len(methods))
}

// TestAttackServerLimits: headers over MaxHeaderBytes, a JSON body over
// 64 KB sent chunked, and a revoked client token on a kept-alive
// connection.
func TestAttackServerLimits(t *testing.T) {
	dir, base, all, acme := attackServer(t)
	req, _ := http.NewRequest("GET", base+"/api/v1/mo", nil)
	req.Header.Set("Authorization", "Bearer "+all)
	req.Header.Set("X-Big", strings.Repeat("b", 100<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)

	// Chunked (no Content-Length) JSON over 64 KB.
	pr := strings.NewReader(`{"to":"04141234567","text":"` + strings.Repeat("x", 70<<10) + `"}`)
	req, _ = http.NewRequest("POST", base+"/api/v1/sms", struct{ *strings.Reader }{pr})
	req.Header.Set("Authorization", "Bearer "+acme)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	// Keep-alive: the same connection, revoked in between.
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	get := func() int {
		req, _ := http.NewRequest("GET", base+"/api/v1/mo", nil)
		req.Header.Set("Authorization", "Bearer "+acme)
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, get())
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"api-token", "-data", dir, "-revoke", "acme"}, &out, &errOut), errOut.String())
	assert.Equal(t, 401, get())
}
