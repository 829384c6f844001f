package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// testAPI is the API on a fresh SQLite store with one default operator
// (messages are queued, not sent: the gateway does not run).
type testAPI struct {
	t   *testing.T
	st  store.Store
	url string
}

func newTestAPI(t *testing.T) *testAPI { return newTestAPIWith(t, nil) }

func newTestAPIWith(t *testing.T, mod func(*Server)) *testAPI {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "api.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.CreateOperator(ctx, &store.Operator{Name: "movil", Host: "127.0.0.1", Port: 1, SystemID: "x",
		BindMode: store.BindTransceiver, Enabled: true, Default: true}))
	n := gateway.Numbering{CountryCode: "58", NationalPrefix: "0"}
	gw, err := gateway.New(gateway.Config{Store: st, Numbering: n})
	require.NoError(t, err)
	s := &Server{Store: st, Gateway: gw, Numbering: n}
	if mod != nil {
		mod(s)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testAPI{t: t, st: st, url: srv.URL}
}

// token makes an API token.
func (a *testAPI) token(name, client string) string {
	a.t.Helper()
	tok, rec := NewToken(name, client)
	require.NoError(a.t, a.st.CreateAPIToken(context.Background(), &rec))
	return tok
}

// do makes a request and decodes the JSON answer into a map.
func (a *testAPI) do(method, path, token, contentType string, body io.Reader) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	require.NoError(a.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	assert.Equal(a.t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"), "%s %s", method, path)
	var out map[string]any
	require.NoError(a.t, json.NewDecoder(resp.Body).Decode(&out), "%s %s", method, path)
	return resp.StatusCode, out
}

func (a *testAPI) post(path, token string, v any) (int, map[string]any) {
	b, err := json.Marshal(v)
	require.NoError(a.t, err)
	return a.do("POST", path, token, "application/json", bytes.NewReader(b))
}

func (a *testAPI) get(path, token string) (int, map[string]any) {
	return a.do("GET", path, token, "", nil)
}

func TestAuthentication(t *testing.T) {
	a := newTestAPI(t)
	code, body := a.get("/healthz", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok", body["status"])

	tok := a.token("ops", "")
	for _, c := range []struct{ name, header string }{
		{"no header", ""},
		{"another scheme", "Basic " + tok},
		{"unknown token", "Bearer " + TokenPrefix + "nope"},
		{"no prefix", "Bearer " + strings.TrimPrefix(tok, TokenPrefix)},
		{"too long", "Bearer " + tok + strings.Repeat("x", 200)},
	} {
		req, _ := http.NewRequest("GET", a.url+"/api/v1/tickets", nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, c.name)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", c.name)
	}
	code, _ = a.get("/api/v1/tickets", tok)
	assert.Equal(t, 200, code)
	code, _ = a.do("GET", "/api/v1/tickets", "", "", nil)
	assert.Equal(t, 401, code)

	// Revoked: refused at once.
	require.NoError(t, a.st.RevokeAPIToken(context.Background(), "ops", time.Time{}))
	code, _ = a.get("/api/v1/tickets", tok)
	assert.Equal(t, 401, code)
}

func TestSendSMS(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	code, body := a.post("/api/v1/sms", tok, map[string]string{"to": "04141234567", "text": "Su cita es mañana", "from": "ACME"})
	require.Equal(t, http.StatusAccepted, code, body)
	id := int64(body["id"].(float64))
	code, sms := a.get(fmt.Sprintf("/api/v1/sms/%d", id), tok)
	require.Equal(t, 200, code, sms)
	assert.Equal(t, "584141234567", sms["to"])
	assert.Equal(t, "Su cita es mañana", sms["text"])
	assert.Equal(t, "queued", sms["state"])
	code, status := a.get("/api/v1/status/04141234567", tok)
	require.Equal(t, 200, code, status)
	assert.Equal(t, float64(id), status["id"])

	// Bad input: 400 naming the field.
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]string{"to": "12", "text": "x"}, "to"},
		{map[string]string{"to": "04141234567", "text": ""}, "text"},
		{map[string]string{"to": "04141234567", "text": strings.Repeat("x", 2000)}, "text"},
		{map[string]string{"to": "04141234567", "text": "x", "from": "a sender far too long"}, "from"},
		{map[string]string{"to": "04141234567", "text": "x", "color": "red"}, "color"},
		{map[string]any{"to": 4141234567, "text": "x"}, "to"},
	} {
		code, body := a.post("/api/v1/sms", tok, c.body)
		assert.Equal(t, 400, code, "%v: %v", c.body, body)
		assert.Equal(t, c.field, body["field"], "%v: %v", c.body, body)
		assert.NotEmpty(t, body["error"])
	}
	code, body = a.do("POST", "/api/v1/sms", tok, "application/json", strings.NewReader(`{"to":"04141234567","text":"x"} {}`))
	assert.Equal(t, 400, code, body)
	code, body = a.do("POST", "/api/v1/sms", tok, "application/json", strings.NewReader(`{"to":"04141234567","text":"`+strings.Repeat("x", MaxBody)+`"}`))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body)
	code, _ = a.get("/api/v1/sms/abc", tok)
	assert.Equal(t, 400, code)
	code, _ = a.get("/api/v1/sms/999999", tok)
	assert.Equal(t, 404, code)
	code, body = a.get("/api/v1/status/12", tok)
	assert.Equal(t, 400, code)
	assert.Equal(t, "number", body["field"])

	// A retried request with an external_id is not sent twice.
	req := map[string]string{"to": "04141234567", "text": "código 1234", "external_id": "otp-1"}
	code, _ = a.post("/api/v1/sms", tok, req)
	assert.Equal(t, http.StatusAccepted, code)
	code, body = a.post("/api/v1/sms", tok, req)
	assert.Equal(t, http.StatusConflict, code, body)
	assert.Equal(t, "external_id", body["field"])
}

func TestClientsSeeOnlyTheirOwn(t *testing.T) {
	a := newTestAPI(t)
	acme, other, all := a.token("acme-app", "acme"), a.token("other-app", "other"), a.token("ops", "")
	code, body := a.post("/api/v1/sms", acme, map[string]string{"to": "04141234567", "text": "hola"})
	require.Equal(t, 202, code, body)
	id := int64(body["id"].(float64))
	batch := int64(body["batch_id"].(float64))

	for _, path := range []string{fmt.Sprintf("/api/v1/sms/%d", id), fmt.Sprintf("/api/v1/batches/%d", batch), "/api/v1/status/04141234567"} {
		code, _ := a.get(path, other)
		assert.Equal(t, 404, code, "another client's %s", path)
		code, _ = a.get(path, acme)
		assert.Equal(t, 200, code, "own %s", path)
		code, _ = a.get(path, all)
		assert.Equal(t, 200, code, "a token for every client: %s", path)
	}
	code, body = a.post("/api/v1/sms", acme, map[string]string{"to": "04141234567", "text": "hola", "client": "other"})
	assert.Equal(t, 403, code, body)
	code, _ = a.do("POST", "/api/v1/batches?client=other", acme, "text/csv", strings.NewReader("04141234567,hola\n"))
	assert.Equal(t, 403, code)
	for _, path := range []string{"/api/v1/tickets", "/api/v1/tickets/2026120100001"} {
		code, _ = a.get(path, acme)
		assert.Equal(t, 403, code, path)
	}

	// Replies: each client sees those to its own messages.
	ctx := context.Background()
	code, body = a.post("/api/v1/sms", other, map[string]string{"to": "04241234567", "text": "hola"})
	require.Equal(t, 202, code, body)
	otherID := int64(body["id"].(float64))
	ops, err := a.st.Operators(ctx)
	require.NoError(t, err)
	for _, m := range []store.MO{{OperatorID: ops[0].ID, From: "584141234567", To: "1234", Text: "sí", TransmissionID: id},
		{OperatorID: ops[0].ID, From: "584241234567", To: "1234", Text: "no", TransmissionID: otherID},
		{OperatorID: ops[0].ID, From: "584161234567", To: "1234", Text: "¿?"}} {
		require.NoError(t, a.st.InsertMO(ctx, &m))
	}
	texts := func(token string) []string {
		code, body := a.get("/api/v1/mo", token)
		require.Equal(t, 200, code, body)
		var out []string
		for _, it := range body["items"].([]any) {
			out = append(out, it.(map[string]any)["text"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"sí"}, texts(acme))
	assert.Equal(t, []string{"no"}, texts(other))
	assert.Equal(t, []string{"sí", "no", "¿?"}, texts(all))
}

func TestBatches(t *testing.T) {
	a := newTestAPIWith(t, func(s *Server) { s.MaxBatchBytes = 64 << 10 })
	tok := a.token("acme-app", "acme")
	csv := "number;text\n04141234567;uno\n04241234567;dos\n12;tres\n"
	code, body := a.do("POST", "/api/v1/batches?name=lunes.csv", tok, "text/csv", strings.NewReader(csv))
	require.Equal(t, 200, code, body)
	assert.Equal(t, float64(2), body["queued"])
	assert.Equal(t, float64(0), body["already_loaded"])
	assert.Equal(t, float64(1), body["rejected_count"])
	rejected := body["rejected"].([]any)
	require.Len(t, rejected, 1)
	assert.Equal(t, float64(4), rejected[0].(map[string]any)["line"])
	id := int64(body["batch_id"].(float64))

	// The same file again: nothing new.
	code, body = a.do("POST", "/api/v1/batches?name=lunes.csv", tok, "text/csv", strings.NewReader(csv))
	require.Equal(t, 200, code, body)
	assert.Equal(t, float64(0), body["queued"])
	assert.Equal(t, float64(2), body["already_loaded"])
	assert.Equal(t, float64(id), body["batch_id"])

	code, b := a.get(fmt.Sprintf("/api/v1/batches/%d", id), tok)
	require.Equal(t, 200, code, b)
	assert.Equal(t, float64(2), b["total"])
	assert.Equal(t, map[string]any{"queued": float64(2)}, b["by_state"])
	assert.Equal(t, false, b["final"])

	big := strings.NewReader("number,text\n" + strings.Repeat("04141234567,hola\n", (64<<10)/17+1))
	code, body = a.do("POST", "/api/v1/batches?name=big.csv", tok, "text/csv", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body)
	code, _ = a.get("/api/v1/batches/0", tok)
	assert.Equal(t, 400, code)
}

func TestTicketsPaginated(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	ctx := context.Background()
	inbox, sales := store.Queue{Name: "Inbox"}, store.Queue{Name: "Ventas"}
	require.NoError(t, a.st.CreateQueue(ctx, &inbox))
	require.NoError(t, a.st.CreateQueue(ctx, &sales))
	var numbers []string
	for i := range 5 {
		q := inbox.ID
		if i == 4 {
			q = sales.ID
		}
		ana, err := a.st.UpsertCustomer(ctx, store.Customer{Email: "ana@example.com"})
		require.NoError(t, err)
		in := store.MailIngest{Receipt: store.MailReceipt{SourceKey: fmt.Sprint("k", i)},
			NewTicket: &store.Ticket{Title: fmt.Sprint("Falla ", i), QueueID: q, CustomerID: ana.ID},
			Article:   store.Article{Direction: store.Inbound, From: "ana@example.com", Subject: "Falla", TextBody: "no hay luz"}}
		res, err := a.st.IngestMail(ctx, in)
		require.NoError(t, err)
		numbers = append(numbers, res.Ticket.Number)
	}
	var seen []string
	after := 0.0
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		code, body := a.get(fmt.Sprintf("/api/v1/tickets?limit=2&after=%d", int64(after)), tok)
		require.Equal(t, 200, code, body)
		for _, it := range body["items"].([]any) {
			seen = append(seen, it.(map[string]any)["number"].(string))
		}
		after = body["next"].(float64)
		if after == 0 {
			break
		}
	}
	assert.Equal(t, numbers, seen)

	code, body := a.get("/api/v1/tickets?queue=Ventas", tok)
	require.Equal(t, 200, code)
	items := body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, numbers[4], items[0].(map[string]any)["number"])
	assert.Equal(t, "Ventas", items[0].(map[string]any)["queue"])
	assert.Equal(t, "ana@example.com", items[0].(map[string]any)["customer"])

	for _, c := range []struct{ query, field string }{
		{"state=sleeping", "state"}, {"queue=Nope", "queue"}, {"limit=0", "limit"}, {"limit=1001", "limit"}, {"after=-1", "after"}, {"after=x", "after"},
	} {
		code, body := a.get("/api/v1/tickets?"+c.query, tok)
		assert.Equal(t, 400, code, c.query)
		assert.Equal(t, c.field, body["field"], c.query)
	}

	code, tk := a.get("/api/v1/tickets/"+numbers[0], tok)
	require.Equal(t, 200, code, tk)
	assert.Equal(t, "Falla 0", tk["title"])
	arts := tk["articles"].([]any)
	require.Len(t, arts, 1)
	assert.Equal(t, "no hay luz", arts[0].(map[string]any)["text"])
	code, _ = a.get("/api/v1/tickets/2020010100001", tok)
	assert.Equal(t, 404, code)
}

func TestUnknownRoutes(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	for _, c := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/api/v2/sms"}, {"DELETE", "/api/v1/tickets"}, {"GET", "/api/v1/sms"},
	} {
		code, body := a.do(c.method, c.path, tok, "", nil)
		assert.Contains(t, []int{404, 405}, code, "%s %s", c.method, c.path)
		_ = body
	}
}

func TestBatchOfTooManyRows(t *testing.T) {
	a := newTestAPIWith(t, func(s *Server) {
		gw, err := gateway.New(gateway.Config{Store: s.Store, Numbering: s.Numbering, MaxBatchRows: 2})
		require.NoError(t, err)
		s.Gateway = gw
	})
	tok := a.token("ops", "")
	code, body := a.do("POST", "/api/v1/batches", tok, "text/csv", strings.NewReader("04141234567,a\n04141234567,b\n04141234567,c\n"))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body)
	assert.Contains(t, body["error"], "more than 2 rows")
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
