package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/chat"
)

// scrape reads /metrics with a token and parses the exposition.
func scrape(t *testing.T, base, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value is the value of the series of family name with these labels
// (a counter, gauge or histogram's count); -1 when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for k, v := range labels {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsCountWhatHappened runs the server with the simulated SMSC,
// the chat and a Maildir, causes known counts (SMS sent through the API
// and delivered, mails of each outcome, a waiting chat customer, API
// calls), and checks them in the parsed exposition.
func TestMetricsCountWhatHappened(t *testing.T) {
	dir, md := t.TempDir(), t.TempDir()
	for _, d := range []string{"new", "cur", "tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(md, d), 0o755))
	}
	for i, m := range testMails() { // 2 new tickets, 1 follow-up, 1 quarantined
		require.NoError(t, os.WriteFile(filepath.Join(md, "new", fmt.Sprintf("%d.test", i)), m, 0o644))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"api-token", "-data", dir, "-name", "prometheus"}, &out, &errOut), errOut.String())
	token := strings.Fields(out.String())[len(strings.Fields(out.String()))-1]
	out.Reset()
	require.NoError(t, run(ctx, []string{"api-token", "-data", dir, "-name", "acme", "-client", "acme"}, &out, &errOut))
	acme := strings.Fields(out.String())[len(strings.Fields(out.String()))-1]
	require.NoError(t, run(ctx, []string{"chat-operator", "-data", dir, "-login", "luis", "-password", "secreto"}, &out, &errOut))

	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer hooks.Close()
	require.NoError(t, run(ctx, []string{"webhook", "-data", dir, "-name", "crm", "-url", hooks.URL, "-events", "chat"}, &out, &errOut))

	_, smtpAddr := startSink(t)
	logs := &syncBuffer{}
	_, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-smsc-sim-receipt-delay", "10ms",
		"-chat-addr", "127.0.0.1:0", "-maildir", md, "-smtp", "smtp://" + smtpAddr}, logs)
	defer stop()
	waitFor(t, logs, "http api listening")
	base := regexp.MustCompile(`msg="http api listening" url=(\S+)/api/v1/`).FindStringSubmatch(logs.String())[1]
	chatAddr := regexp.MustCompile(`msg="chat listening" addr=(\S+)`).FindStringSubmatch(logs.String())[1]

	const sms = 7
	for i := range sms {
		req, err := http.NewRequest("POST", base+"/api/v1/sms", strings.NewReader(fmt.Sprintf(`{"to":"0414123456%d","text":"hola %d"}`, i, i)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 202, resp.StatusCode)
	}
	op, err := chat.Dial(ctx, chatAddr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "secreto"})
	require.NoError(t, err)
	defer op.Close()
	cust, err := chat.Dial(ctx, chatAddr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com"})
	require.NoError(t, err)
	defer cust.Close()
	_, err = cust.Send(ctx, "hola")
	require.NoError(t, err)

	// A client's token may not read the metrics; nor may nobody.
	for _, tok := range []string{acme, ""} {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Contains(t, []int{401, 403}, resp.StatusCode)
	}

	sim := map[string]string{"event": "receipt"}
	deadline := time.Now().Add(30 * time.Second)
	var fams map[string]*dto.MetricFamily
	for {
		fams = scrape(t, base, token)
		if value(fams, "switchboard_sms_events_total", sim) == sms &&
			value(fams, "switchboard_mail_results_total", map[string]string{"outcome": "created"}) == 2 &&
			value(fams, "switchboard_chat_conversations", map[string]string{"state": "active"}) == 1 &&
			value(fams, "switchboard_webhook_attempts_total", map[string]string{"outcome": "delivered"}) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts not reached; last scrape: receipts %v, mail created %v, chat active %v",
				value(fams, "switchboard_sms_events_total", sim),
				value(fams, "switchboard_mail_results_total", map[string]string{"outcome": "created"}),
				value(fams, "switchboard_chat_conversations", map[string]string{"state": "active"}))
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, float64(sms), value(fams, "switchboard_sms_events_total", map[string]string{"event": "accepted"}))
	assert.Equal(t, float64(0), value(fams, "switchboard_sms_events_total", map[string]string{"event": "failed"}))
	assert.Equal(t, float64(sms), value(fams, "switchboard_sms_transmissions_last_day", map[string]string{"state": "delivered"}))
	assert.Equal(t, float64(1), value(fams, "switchboard_sms_binds_up", nil))
	assert.Equal(t, float64(0), value(fams, "switchboard_sms_scrape_error", nil))
	assert.Equal(t, float64(1), value(fams, "switchboard_mail_results_total", map[string]string{"outcome": "followup"}))
	assert.Equal(t, float64(1), value(fams, "switchboard_mail_results_total", map[string]string{"outcome": "quarantined"}))
	assert.Equal(t, float64(2), value(fams, "switchboard_mail_autoreplies_queued_total", nil))
	assert.Equal(t, float64(2), value(fams, "switchboard_chat_connections", nil))
	assert.Equal(t, float64(1), value(fams, "switchboard_chat_operators_online", nil))
	assert.Equal(t, float64(0), value(fams, "switchboard_chat_queue_length", nil))
	assert.Equal(t, float64(0), value(fams, "switchboard_chat_conversations", map[string]string{"state": "waiting"}))
	assert.Equal(t, float64(1), value(fams, "switchboard_chat_messages_total", map[string]string{"sender": "customer"}))
	assert.Equal(t, float64(0), value(fams, "switchboard_chat_messages_total", map[string]string{"sender": "operator"}))
	assert.Greater(t, value(fams, "switchboard_chat_messages_total", map[string]string{"sender": "system"}), 0.0)
	assert.Equal(t, float64(0), value(fams, "switchboard_webhook_attempts_total", map[string]string{"outcome": "retried"}))
	assert.Equal(t, float64(sms), value(fams, "switchboard_http_request_duration_seconds",
		map[string]string{"route": "POST /api/v1/sms", "code": "202"}))
	assert.GreaterOrEqual(t, value(fams, "switchboard_http_request_duration_seconds",
		map[string]string{"route": "GET /metrics", "code": "403"}), 1.0)
	assert.Greater(t, value(fams, "go_goroutines", nil), 0.0)
	// The store's calls, timed: the token lookups of the API calls above
	// at least, and the gateway's transactions.
	assert.GreaterOrEqual(t, value(fams, "switchboard_store_call_duration_seconds", map[string]string{"op": "APITokenByHash"}), float64(sms))
	assert.Greater(t, value(fams, "switchboard_store_call_duration_seconds", map[string]string{"op": "InTx"}), 0.0)
	assert.Greater(t, value(fams, "switchboard_store_call_duration_seconds", map[string]string{"op": "ClaimTransmissions"}), 0.0)
}
