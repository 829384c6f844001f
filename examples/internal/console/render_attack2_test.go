package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// xss is untrusted text that breaks out of text, attribute, URL, SVG and
// script contexts if it is not escaped for each.
const xss = `x"'><script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)></text></title><title>`

// leaked reports the raw payload pieces found in a page.
func leaked(page string) []string {
	var out []string
	for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload", "</title><title>", `x"'>`} {
		if strings.Contains(page, bad) {
			out = append(out, bad)
		}
	}
	return out
}

// Untrusted data (customer names, SMS text, CSV content, ticket titles,
// MO text, queue, client, operator and token names, operator errors) is
// escaped on every page that shows it, charts and titles included.
func TestAttack2EscapedEverywhere(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	ctx := context.Background()
	ana, pedro := s.client(t), s.client(t)
	s.login(t, ana, "ana")
	s.login(t, pedro, "pedro")

	// Tickets: queue, title, customer, article fields, attachment, agent.
	q := store.Queue{Name: "Q" + xss}
	require.NoError(t, s.st.CreateQueue(ctx, &q))
	cu, err := s.st.UpsertCustomer(ctx, store.Customer{Email: "eva@cliente.example", Name: "Eva" + xss, Company: xss})
	require.NoError(t, err)
	ag := store.Agent{Email: "ag@x.example", Name: "Ag" + xss}
	require.NoError(t, s.st.CreateAgent(ctx, &ag))
	tk := store.Ticket{Title: "T" + xss, QueueID: q.ID, State: store.TicketNew, CustomerID: cu.ID, OwnerID: ag.ID}
	require.NoError(t, s.st.CreateTicket(ctx, &tk))
	art := store.Article{TicketID: tk.ID, Direction: store.Inbound, From: "Eva" + xss + " <eva@cliente.example>", To: xss, Subject: "S" + xss,
		TextBody: "B" + xss, Date: time.Now(), CreatedAt: time.Now()}
	require.NoError(t, s.st.AddArticle(ctx, &art, []store.TicketAttachment{{Name: "N" + xss, MediaType: "M" + xss, Data: []byte("d")}}))
	note := store.Article{TicketID: tk.ID, Direction: store.Note, AgentID: ag.ID, From: "ag@x.example", TextBody: "note" + xss, CreatedAt: time.Now()}
	require.NoError(t, s.st.AddArticle(ctx, &note, nil))
	require.NoError(t, s.st.SetTicketState(ctx, tk.ID, store.TicketClosed, ag.ID, time.Now()))

	// SMS: operator name and its last error, client name, batch name,
	// CSV text and rejected rows, MO text.
	op2 := store.Operator{Name: "Op" + xss, Host: "127.0.0.1", Port: 1, SystemID: "x", Password: "y", Enabled: true, Prefixes: []string{"58424"}}
	require.NoError(t, s.st.CreateOperator(ctx, &op2))
	require.NoError(t, s.st.ReportOperatorHealth(ctx, store.OperatorHealth{OperatorID: op2.ID, Process: "p" + xss, Binds: 1,
		UnboundSince: time.Now(), LastError: "E" + xss, ReportedAt: time.Now(), Interval: time.Minute}))
	_, page := s.get(t, ana, "/console/sms")
	atok := csrfField.FindStringSubmatch(page)[1]
	var b strings.Builder
	mw := func(client, name, csv string) string {
		b.Reset()
		resp, body := s.uploadAs(t, ana, atok, client, name, csv)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%.300s", body)
		return body
	}
	loaded := mw("C"+xss, "B"+xss, "number,text,source,external_id\n04241234567,\"txt"+strings.ReplaceAll(xss, `"`, `""`)+"\",src,e1\n"+
		"04141234567,\"t2"+strings.ReplaceAll(xss, `"`, `""`)+"\",src,e2\n\"n"+strings.ReplaceAll(xss, `"`, `""`)+"\",x\n,"+
		"\"only"+strings.ReplaceAll(xss, `"`, `""`)+"\"\n")
	assert.Empty(t, leaked(loaded), "the loaded page")
	bs, err := s.st.Batches(ctx, store.BatchFilter{})
	require.NoError(t, err)
	require.NotEmpty(t, bs)
	tr := lastTo(t, s.st, "584141234567")
	mo := store.MO{OperatorID: s.op.ID, From: "584141234567", To: "12" + xss, Text: "MO" + xss, TransmissionID: tr.ID}
	require.NoError(t, s.st.InsertMO(ctx, &mo))
	require.NoError(t, s.st.FailTransmission(ctx, tr.ID, 0, "R"+xss, time.Now()))

	// Admin: token name and client, account name, endpoint delivery.
	resp, body := s.post(t, ana, "/console/tokens", s.host, url.Values{"csrf": {atok}, "name": {"K" + xss[:60]}, "client": {"c" + xss}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%.300s", body)
	assert.Empty(t, leaked(body), "tokens page after making one")
	resp, body = s.post(t, ana, "/console/users", s.host, url.Values{"csrf": {atok}, "login": {"zed"}, "name": {"Z" + xss}, "role": {"agent"},
		"password": {"12345678901"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%.300s", body)
	resp, body = s.post(t, ana, "/console/users", s.host, url.Values{"csrf": {atok}, "login": {"bad" + xss}, "role": {"agent"}, "password": {"12345678901"}})
	assert.GreaterOrEqual(t, resp.StatusCode, 400, "%.200s", body)
	assert.Empty(t, leaked(body), "users page with a bad login's problem")
	resp, body = s.post(t, ana, "/console/tokens/revoke", s.host, url.Values{"csrf": {atok}, "name": {"none" + xss}})
	assert.GreaterOrEqual(t, resp.StatusCode, 400, "%.200s", body)
	assert.Empty(t, leaked(body), "tokens page with a revoke's problem")
	resp, body = s.post(t, ana, "/console/webhooks/delete", s.host, url.Values{"csrf": {atok}, "name": {"none" + xss}})
	assert.GreaterOrEqual(t, resp.StatusCode, 400, "%.200s", body)
	assert.Empty(t, leaked(body), "webhooks page with a delete's problem")
	resp, body = s.post(t, ana, "/console/webhooks", s.host, url.Values{"csrf": {atok}, "name": {"h" + xss}, "url": {"https://x.example/" + xss}, "events": {"sms"}})
	assert.GreaterOrEqual(t, resp.StatusCode, 400, "%.200s", body)
	assert.Empty(t, leaked(body), "webhooks page with a save's problem")
	resp, body = s.post(t, ana, fmt.Sprintf("/console/sms/operators/%d", op2.ID), s.host, url.Values{"csrf": {atok}, "priority": {"1"},
		"weight": {"1"}, "tps": {"1"}, "binds": {"1"}, "window": {"1"}, "prefixes": {"5" + xss}})
	assert.GreaterOrEqual(t, resp.StatusCode, 400, "%.200s", body)
	assert.Empty(t, leaked(body), "operators page with a problem")

	pages := []string{"/console/tickets", "/console/tickets?queue=" + url.QueryEscape(q.Name), "/console/tickets/" + tk.Number,
		"/console/tickets/stats", "/console/tickets/stats?period=month", "/console/sms", "/console/sms/operators",
		fmt.Sprintf("/console/sms/batches/%d", bs[0].ID), "/console/sms/number?number=584141234567",
		"/console/sms/number?number=" + url.QueryEscape(xss[:31]), "/console/webhooks", "/console/webhooks?endpoint=" + url.QueryEscape(xss) + "&replayed=" + url.QueryEscape(xss),
		"/console/users?saved=" + url.QueryEscape(xss), "/console/tokens?revoked=" + url.QueryEscape(xss),
		"/console/sms/operators?saved=" + url.QueryEscape(xss), "/console/tickets/" + tk.Number + "?done=" + url.QueryEscape(xss),
		"/console/login?next=" + url.QueryEscape("/"+xss)}
	for _, p := range pages {
		resp, page := s.get(t, ana, p)
		assert.Less(t, resp.StatusCode, 500, p)
		assert.Empty(t, leaked(page), "%s", p)
	}
	// The same pages are meaningful: the payload is there, escaped.
	_, page = s.get(t, ana, "/console/tickets/stats")
	assert.Contains(t, page, "Q"+strings.ReplaceAll(strings.ReplaceAll(xss[:3], `"`, "&#34;"), "'", "&#39;"), "the queue in the chart")
	_, page = s.get(t, ana, "/console/sms/operators")
	assert.Contains(t, page, "&lt;script&gt;", "the operator's error, escaped")
	_, page = s.get(t, pedro, "/console/sms")
	assert.Empty(t, leaked(page), "pedro's SMS page")

	// JSON progress and the failed rows: the payload as data, and the
	// CSV's cells are not formulas.
	resp, prog := s.get(t, ana, fmt.Sprintf("/console/sms/batches/%d/progress", bs[0].ID))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Empty(t, leaked(prog), "progress JSON")
	resp, csvText := s.get(t, ana, fmt.Sprintf("/console/sms/batches/%d/failed.csv", bs[0].ID))
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	_ = csvText
}

// uploadAs posts a CSV as an administrator naming the client.
func (s *smsSite) uploadAs(t *testing.T, c *http.Client, csrf, client, name, body string) (*http.Response, string) {
	return s.upload(t, c, s.host, csrf, name, body, "client", client)
}

// Failed rows come back as CSV: no cell a spreadsheet runs as a formula,
// whatever the client's CSV or the SMSC's reason held.
func TestAttack2FailedCSVFormulas(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	ctx := context.Background()
	pedro := s.client(t)
	s.login(t, pedro, "pedro")
	formulas := []string{"=1+1", "+1+1", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1", " =1+1", "\n=1+1", "\"=1+1", "＝1+1", "=cmd|' /C calc'!A0",
		"｛=1}", "\u00a0=1+1", "=HYPERLINK(\"http://evil\")"}
	var b strings.Builder
	b.WriteString("number,text,source,external_id\n")
	for i, f := range formulas {
		q := `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		e := `"` + strings.ReplaceAll(f, `"`, `""`) + fmt.Sprint(i) + `"`
		fmt.Fprintf(&b, "0416123%04d,%s,src,%s\n", i, q, e) // 0416: no operator: stored as failed
	}
	resp, body := s.upload(t, pedro, s.host, s.csrf(t, pedro), "f", b.String())
	require.Equal(t, http.StatusOK, resp.StatusCode, "%.300s", body)
	bs, err := s.st.Batches(ctx, store.BatchFilter{})
	require.NoError(t, err)
	require.Len(t, bs, 1)
	_, csvText := s.get(t, pedro, fmt.Sprintf("/console/sms/batches/%d/failed.csv", bs[0].ID))
	// Cells as a spreadsheet reads them (its own CSV reader trims no
	// spaces but takes a leading space or NBSP before = as a formula in
	// some locales/products).
	rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(formulas), csvText)
	for _, row := range rows[1:] {
		for _, c := range []string{row[0], row[2]} { // external_id, text
			v := strings.TrimLeft(c, " \u00a0\n\r\t")
			if v != "" && strings.ContainsRune("=+-@", []rune(v)[0]) {
				assert.Fail(t, "a formula cell", "%q", c)
			}
		}
	}
}
