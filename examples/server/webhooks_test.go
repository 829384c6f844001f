package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/webhook"
)

// hookReceiver is a client's delivery-report endpoint: it checks each
// request's signature and keeps the events, or answers 503 while down.
type hookReceiver struct {
	secret string
	down   atomic.Bool
	mu     sync.Mutex
	events map[string]webhook.Event
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := webhook.ReadRequest(r, h.secret, 0)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if h.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		h.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.events[ev.ID] = ev
}

func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// lastWord is the last word of a command's output (a secret or token).
func lastWord(s string) string {
	f := strings.Fields(s)
	return f[len(f)-1]
}

// TestWebhooksSurviveKillAndReceiverOutage: a client's delivery reports
// pile up while its endpoint is down, the server is killed (SIGKILL)
// while it retries, and once both are back every report arrives, signed.
func TestWebhooksSurviveKillAndReceiverOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "server")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "build: %s", out)

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recv := &hookReceiver{events: map[string]webhook.Event{}}
	recv.down.Store(true)
	srv := httptest.NewServer(recv)
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	require.NoError(t, run(ctx, []string{"webhook", "-data", dir, "-name", "acme-dlr", "-url", srv.URL + "/dlr",
		"-events", "sms", "-client", "acme"}, &stdout, &stderr), stderr.String())
	recv.secret = lastWord(stdout.String())
	require.True(t, strings.HasPrefix(recv.secret, "whsec_"), stdout.String())
	stdout.Reset()
	require.NoError(t, run(ctx, []string{"webhook", "-data", dir, "-list"}, &stdout, &stderr))
	assert.Regexp(t, `acme-dlr\s+sms\s+acme\s+http://`, stdout.String())
	assert.NotContains(t, stdout.String(), recv.secret)
	stdout.Reset()
	require.NoError(t, run(ctx, []string{"api-token", "-data", dir, "-name", "acme", "-client", "acme"}, &stdout, &stderr))
	token := lastWord(stdout.String())

	start := func() (*exec.Cmd, *syncBuffer, string) {
		logs := &syncBuffer{}
		cmd := exec.Command(bin, "-data", dir, "-smsc-sim", "127.0.0.1:0", "-smsc-sim-receipt-delay", "10ms",
			"-chat-addr", "", "-http", "127.0.0.1:0", "-webhook-min-backoff", "20ms")
		cmd.Stderr = logs
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitFor(t, logs, "http api listening")
		base := regexp.MustCompile(`msg="http api listening" url=(\S+)/api/v1/`).FindStringSubmatch(logs.String())[1]
		return cmd, logs, base
	}
	cmd, logs, base := start()

	const n = 15
	var ids []int64
	for i := range n {
		req, err := http.NewRequest("POST", base+"/api/v1/sms", strings.NewReader(fmt.Sprintf(`{"to":"0414123456%02d","text":"hola %d"}`, i, i)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct{ ID int64 }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Equal(t, 202, resp.StatusCode)
		ids = append(ids, body.ID)
	}
	// Every report written (sent and delivered for each), none delivered:
	// the endpoint answers 503 and the server keeps retrying.
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/api/v1/webhooks/deliveries?state=pending&limit=1000", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct{ Items []map[string]any }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		if len(body.Items) == 2*n {
			break
		}
		require.True(t, time.Now().Before(deadline), "pending deliveries: %d\n%s", len(body.Items), logs.String())
		time.Sleep(50 * time.Millisecond)
	}
	require.Zero(t, recv.count())

	// Killed in the middle of its retries; the endpoint comes back; a new
	// process delivers everything.
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	recv.down.Store(false)
	_, logs, _ = start()
	deadline = time.Now().Add(60 * time.Second)
	for recv.count() < 2*n {
		require.True(t, time.Now().Before(deadline), "reports received: %d of %d\n%s", recv.count(), 2*n, logs.String())
		time.Sleep(50 * time.Millisecond)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	assert.Zero(t, recv.bad, "requests with a bad signature or body")
	assert.Len(t, recv.events, 2*n)
	for i, id := range ids {
		for _, state := range []string{"sent", "delivered"} {
			ev, ok := recv.events[fmt.Sprintf("sms:%d:%s", id, state)]
			if assert.True(t, ok, "report %s of message %d", state, id) {
				assert.Equal(t, "sms."+state, ev.Type)
				assert.Equal(t, "acme", ev.SMS.Client)
				assert.Equal(t, fmt.Sprintf("58414123456%02d", i), ev.SMS.To)
			}
		}
	}
}
