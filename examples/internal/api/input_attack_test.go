package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// TestAttackWhitespaceTextBlamesExternalID: a text of blanks passes the
// handler's check of req.Text, then the CSV it is turned into is trimmed
// by LoadCSV ("empty text") and the row error is reported as the
// external_id's fault.
func TestAttackWhitespaceTextBlamesExternalID(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	code, body := a.post("/api/v1/sms", tok, map[string]string{"to": "04141234567", "text": "   \t "})
	assert.Equal(t, 400, code, body)
	assert.Equal(t, "text", body["field"], "a blank text is the text's fault: %v", body)

	// A text with blanks around it is sent without them, as in batches
	// (API.md says so).
	code, body = a.post("/api/v1/sms", tok, map[string]string{"to": "04141234567", "text": "  hola  "})
	require.Equal(t, 202, code, body)
	_, sms := a.get(fmt.Sprintf("/api/v1/sms/%v", body["id"]), tok)
	assert.Equal(t, "hola", sms["text"])
}

// TestAttackJSONEdgeCases: odd but well-formed or malformed bodies get a
// 4xx naming the field, never a 500, and never Go's type names.
func TestAttackJSONEdgeCases(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	for _, c := range []struct {
		name, body string
		code       int
		field      string
	}{
		{"null", `null`, 400, "to"},
		{"array", `[]`, 400, ""},
		{"string", `"x"`, 400, ""},
		{"bom", "\ufeff{\"to\":\"04141234567\",\"text\":\"x\"}", 400, ""},
		{"huge number", `{"to":1e999999,"text":"x"}`, 400, "to"},
		{"nested", `{"to":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `,"text":"x"}`, 400, ""},
		{"text object", `{"to":"04141234567","text":{"a":1}}`, 400, "text"},
		{"nul in text", `{"to":"04141234567","text":"a\u0000b"}`, 400, "text"}, // no store keeps it alike
		{"bad utf8", "{\"to\":\"04141234567\",\"text\":\"\xff\xfe\"}", 202, ""},
		{"dup keys", `{"to":"12","to":"04141234567","text":"x"}`, 202, ""},
		{"case keys", `{"TO":"04141234567","Text":"x"}`, 202, ""},
		{"empty", ``, 400, ""},
	} {
		code, body := a.do("POST", "/api/v1/sms", tok, "application/json", strings.NewReader(c.body))
		assert.Equal(t, c.code, code, "%s: %v", c.name, body)
		if c.code == 400 {
			assert.Equal(t, c.field, cmpField(body), "%s: %v", c.name, body)
			assert.NotContains(t, body["error"], "api.", "%s: Go type names in the error: %v", c.name, body)
		}
	}
}

// TestAttackPatchFieldErrors: a bad pending_until is a 400 naming
// pending_until (not a field-less "body: ..." error).
func TestAttackPatchFieldErrors(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	number := ticketFixture(t, a.st)
	for _, c := range []struct{ body, field string }{
		{`{"agent":"l@x.net","state":"pending","pending_until":"tomorrow"}`, "pending_until"},
		{`{"agent":"l@x.net","state":"pending","pending_until":5}`, "pending_until"},
		{`{"agent":"l@x.net","state":"pending","pending_until":"2030-13-01T00:00:00Z"}`, "pending_until"},
		{`{"agent":"l@x.net","owner":5}`, "owner"},
		{`{"agent":"l@x.net","queue":["Ventas"]}`, "queue"},
	} {
		code, body := a.do("PATCH", "/api/v1/tickets/"+number, tok, "application/json", strings.NewReader(c.body))
		assert.Equal(t, 400, code, c.body)
		assert.Equal(t, c.field, cmpField(body), "%s: %v", c.body, body)
	}
}

// TestAttackPatchRefusedChangesNothing: a PATCH refused for its queue or
// its owner has already made the acting agent (and a refused owner after
// a valid one...): "checked before any change" does not hold for the
// agents table.
func TestAttackPatchRefusedChangesNothing(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	number := ticketFixture(t, a.st)
	ctx := context.Background()
	before, err := a.st.Agents(ctx)
	require.NoError(t, err)
	for _, body := range []string{
		`{"agent":"intruso1@example.net","queue":"Nope"}`,
		`{"agent":"intruso2@example.net","state":"closed","owner":"nobody"}`,
	} {
		code, b := a.do("PATCH", "/api/v1/tickets/"+number, tok, "application/json", strings.NewReader(body))
		require.Equal(t, 400, code, b)
	}
	after, err := a.st.Agents(ctx)
	require.NoError(t, err)
	assert.Len(t, after, len(before), "a refused PATCH made agents: %v", after)
}

// TestAttackAgentEmailCaseFoldLoop: agentByEmail looks agents up with
// strings.EqualFold but the store keeps strings.ToLower of the address.
// For "luİs@example.net" (U+0130) ToLower gives "luis@example.net" while
// EqualFold says they differ: the lookup misses, CreateAgent hits the
// unique index (ErrDuplicate), and agentByEmail calls itself again,
// forever (until the client goes away, or the stack overflows and the
// whole process dies).
func TestAttackAgentEmailCaseFoldLoop(t *testing.T) {
	sent := &sentMail{}
	a := newTestAPIWith(t, func(s *Server) {
		s.Tickets = &mailticket.Processor{Store: s.Store, Domain: "support.example.net", Secret: []byte("0123456789abcdef0123"),
			Addresses: []string{"support@example.net"}}
		s.Mail = sent
	})
	tok := a.token("ops", "")
	number := ticketFixture(t, a.st)
	client := &http.Client{Timeout: 5 * time.Second}
	patch := func(agent string) (int, error) {
		req, err := http.NewRequest("PATCH", a.url+"/api/v1/tickets/"+number,
			strings.NewReader(fmt.Sprintf(`{"agent":%q,"state":"open"}`, agent)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	code, err := patch("luis@example.net") // the agent exists
	require.NoError(t, err)
	require.Equal(t, 200, code)
	start := time.Now()
	code, err = patch("lu\u0130s@example.net")
	assert.NoError(t, err, "no answer after %v: agentByEmail loops", time.Since(start).Round(time.Millisecond))
	if err == nil {
		assert.Contains(t, []int{200, 400}, code)
	}
	// The same through the reply route.
	req, _ := http.NewRequest("POST", a.url+"/api/v1/tickets/"+number+"/reply",
		strings.NewReader(`{"text":"hola","agent":"lu\u0130s@example.net"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if assert.NoError(t, err, "reply: no answer") {
		resp.Body.Close()
	}
}

// TestAttackReplyWithoutAddressIs500: a ticket with nobody to mail (its
// only mail from a no-reply robot, no customer) is the caller's mistake,
// not the server's: the API answers 500 "internal error".
func TestAttackReplyWithoutAddressIs500(t *testing.T) {
	sent := &sentMail{}
	a := newTestAPIWith(t, func(s *Server) {
		s.Tickets = &mailticket.Processor{Store: s.Store, Domain: "support.example.net", Secret: []byte("0123456789abcdef0123"),
			Addresses: []string{"support@example.net"}}
		s.Mail = sent
	})
	tok := a.token("ops", "")
	ctx := context.Background()
	q := store.Queue{Name: "Inbox"}
	require.NoError(t, a.st.CreateQueue(ctx, &q))
	res, err := a.st.IngestMail(ctx, store.MailIngest{Receipt: store.MailReceipt{SourceKey: "robot"},
		NewTicket: &store.Ticket{Title: "Your order shipped", QueueID: q.ID},
		Article:   store.Article{Direction: store.Inbound, From: "noreply@shop.example", Subject: "Your order shipped", TextBody: "x"}})
	require.NoError(t, err)
	code, body := a.post("/api/v1/tickets/"+res.Ticket.Number+"/reply", tok, map[string]string{"text": "hola", "agent": "l@x.net"})
	assert.True(t, code >= 400 && code < 500, "want a 4xx, got %d %v", code, body)
	assert.Empty(t, sent.msgs)
}

// TestAttackConcurrentExternalID: identical POSTs at once with one
// external_id send one SMS: one 202, the rest 409.
func TestAttackConcurrentExternalID(t *testing.T) { concurrentExternalID(t, newTestAPI(t)) }

func concurrentExternalID(t *testing.T, a *testAPI) {
	tok := a.token("acme-app", "acme")
	const n = 24
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", a.url+"/api/v1/sms", strings.NewReader(`{"to":"04141234567","text":"código 1","external_id":"otp-race"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				codes[i] = resp.StatusCode
				b, _ := io.ReadAll(resp.Body)
				bodies[i] = string(b)
				resp.Body.Close()
			}
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	assert.Equal(t, map[int]int{202: 1, 409: n - 1}, count)
	code, body := a.get("/api/v1/status/04141234567", a.token("ops", ""))
	require.Equal(t, 200, code, body)
	for i, c := range codes {
		if c == 202 {
			assert.Contains(t, bodies[i], fmt.Sprintf(`"id":%v,`, body["id"]), "the last message to the number is the one accepted")
		}
	}
	sum, err := a.st.BatchSummary(context.Background(), int64(body["batch_id"].(float64)))
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Batch.Total, "one transmission only")
}

// TestAttackBatchCSVEdgeCases: hostile CSV bodies are 200 with rejected
// rows or 413, never a 500.
func TestAttackBatchCSVEdgeCases(t *testing.T) {
	a := newTestAPIWith(t, func(s *Server) { s.MaxBatchBytes = 4 << 20 })
	tok := a.token("acme-app", "acme")
	for _, c := range []struct {
		name, csv string
		code      int
	}{
		{"empty", "", 200},
		{"header only", "number,text\n", 200},
		{"bom and semicolons", "\ufeffnumber;text\n04141234567;hola\n", 200},
		{"unterminated quote", "04141234567,\"hola\n04141234568,dos\n", 200},
		{"bare quote", "04141234567,ho\"la\n", 200},
		{"nul bytes", "04141234567,a\x00b\n\x00\x00\x00\n", 200},
		{"bad utf8", "04141234567,\xff\xfe\n", 200},
		{"one huge line", "04141234567," + strings.Repeat("x", 3<<20) + "\n", 200},
		{"huge unquoted field no newline", strings.Repeat("9", 3<<20), 200},
		{"too big", strings.Repeat("04141234567,hola\n", (5<<20)/17), 413},
		{"many columns", "04141234567,hola" + strings.Repeat(",", 200000) + "\n", 200},
		{"crlf and lone cr", "04141234567,uno\r\n04141234567,dos\r04141234567,tres\n", 200},
		{"external id too long", "04141234567,uno,," + strings.Repeat("e", 65) + "\n", 200},
		{"formula", "04141234567,=HYPERLINK(\"http://x\")\n", 200},
	} {
		code, body := a.do("POST", "/api/v1/batches?name="+strings.ReplaceAll(c.name, " ", "-"), tok, "text/csv", strings.NewReader(c.csv))
		assert.Equal(t, c.code, code, "%s: %v", c.name, body)
	}
	code, body := a.do("POST", "/api/v1/batches?name="+strings.Repeat("n", 201), tok, "text/csv", strings.NewReader("04141234567,x\n"))
	assert.Equal(t, 400, code)
	assert.Equal(t, "name", body["field"])
}

// TestAttackPagination: the edges of after and limit.
func TestAttackPagination(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	ticketFixture(t, a.st)
	for _, c := range []struct {
		query string
		code  int
		field string
	}{
		{"after=9223372036854775807", 200, ""},
		{"after=9223372036854775808", 400, "after"},
		{"after=-0", 200, ""},
		{"after=0x10", 400, "after"},
		{"after=%201", 400, "after"},
		{"limit=1000", 200, ""},
		{"limit=1001", 400, "limit"},
		{"limit=99999999999999999999", 400, "limit"},
		{"limit=-1", 400, "limit"},
		{"limit=1&limit=5000", 200, ""},
		{"after=1&after=x", 200, ""},
	} {
		for _, path := range []string{"/api/v1/tickets", "/api/v1/mo", "/api/v1/chat/conversations"} {
			code, body := a.get(path+"?"+c.query, tok)
			assert.Equal(t, c.code, code, "%s?%s: %v", path, c.query, body)
			if c.code == 400 {
				assert.Equal(t, c.field, body["field"], "%s?%s", path, c.query)
			}
		}
	}
	code, body := a.get("/api/v1/mo?since=not-a-time", tok)
	assert.Equal(t, 400, code)
	assert.Equal(t, "since", body["field"])
	code, _ = a.get("/api/v1/mo?since=0000-01-01T00:00:00Z", tok)
	assert.Equal(t, 200, code)
	code, _ = a.get("/api/v1/mo?since=9999-12-31T23:59:59Z", tok)
	assert.Equal(t, 200, code)
}

// TestAttackPaths: path tricks reach a route only through its own
// checks; errors stay JSON.
func TestAttackPaths(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	code, body := a.post("/api/v1/sms", tok, map[string]string{"to": "04141234567", "text": "hola"})
	require.Equal(t, 202, code, body)
	for _, c := range []struct {
		path string
		code int
	}{
		{"/api/v1/sms/1/", 404},
		{"/api/v1/sms/%31", 200},
		{"/api/v1/sms/1%2F", 400},
		{"/api/v1/sms/%2e%2e", 400},
		{"/api/v1/sms/+1", 200},
		{"/api/v1/sms/01", 200},
		{"/api/v1/sms/9223372036854775808", 400},
		{"/api/v1/status/%2B584141234567", 200},
		{"/api/v1/tickets/..%2F..%2Fhealthz", 404},
		{"/api/v1/chat/conversations/-1/transcript", 400},
	} {
		code, _ := a.get(c.path, tok)
		assert.Equal(t, c.code, code, c.path)
	}
}

// TestAttackUnauthenticatedProbing: without a token, unknown paths answer
// 404 and routes 401, so routes can be enumerated without credentials
// (logged, not failed: the routes are documented).
func TestAttackUnauthenticatedProbing(t *testing.T) {
	a := newTestAPI(t)
	c1, _ := a.get("/api/v1/tickets", "")
	c2, _ := a.get("/api/v1/secret-admin", "")
	if c1 != c2 {
		t.Logf("without a token: a route answers %d, a non-route %d (routes can be enumerated)", c1, c2)
	}
}
