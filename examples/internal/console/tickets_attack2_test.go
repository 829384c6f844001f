package console

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// attack2Ticket stores a ticket in queue q with one inbound article of
// html and atts; it returns the ticket and the attachments as stored.
func attack2Ticket(t *testing.T, st store.Store, queue, title, html string, atts []store.TicketAttachment) (store.Ticket, []store.TicketAttachment) {
	ctx := context.Background()
	q, err := st.QueueByName(ctx, queue)
	if err != nil {
		q = store.Queue{Name: queue}
		require.NoError(t, st.CreateQueue(ctx, &q))
	}
	tk := store.Ticket{Title: title, QueueID: q.ID, State: store.TicketNew}
	require.NoError(t, st.CreateTicket(ctx, &tk))
	a := store.Article{TicketID: tk.ID, Direction: store.Inbound, From: "eva@cliente.example", Subject: title, TextBody: "text",
		HTMLBody: html, Date: time.Now(), CreatedAt: time.Now()}
	require.NoError(t, st.AddArticle(ctx, &a, atts))
	got, err := st.TicketAttachments(ctx, a.ID)
	require.NoError(t, err)
	return tk, got
}

var mailHTMLDiv = regexp.MustCompile(`(?s)<div class="mail-html">(.*?)</div>\s*(?:<ul class="files">|</li>)`)

// Real-world XSS payloads in a mail's HTML: nothing that runs, loads
// from elsewhere than the article's own attachments, or styles the page
// survives.
func TestAttack2MailHTMLPayloads(t *testing.T) {
	s := newTicketSite(t)
	luis := s.client(t)
	s.login(t, luis, "luis")
	png := []byte("\x89PNG\r\n\x1a\nfake")
	// Another ticket, with a private picture.
	other, otherAtts := attack2Ticket(t, s.st, "Soporte", "otro cliente", `<p>mi DNI <img src="cid:dni@otro"></p>`,
		[]store.TicketAttachment{{Name: "dni.png", MediaType: "image/png", ContentID: "<dni@otro>", Data: png}})
	require.Len(t, otherAtts, 1)
	otherID := otherAtts[0].ID
	_ = other

	payloads := map[string]string{
		"svg script":        `<svg><script>alert(1)</script></svg>`,
		"svg onload":        `<svg/onload=alert(1)>`,
		"mxss math":         `<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror=alert(1)&gt;">`,
		"mxss noscript":     `<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		"base":              `<base href="https://evil.example/"><a href="x">rel</a>`,
		"meta refresh":      `<meta http-equiv="refresh" content="0;url=https://evil.example">`,
		"srcset":            `<img srcset="https://evil.example/a.png 1x, javascript:alert(1) 2x" src="https://evil.example/a.png">`,
		"tab in scheme":     `<a href="jav&#x09;ascript:alert(1)">t</a><a href="&#106;avascript:alert(1)">e</a><a href=" javascript:alert(1)">s</a>`,
		"css":               `<div style="background:url(javascript:alert(1));width:expression(alert(1))">c</div><p style="position:fixed;inset:0">o</p>`,
		"data urls":         `<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"><a href="data:text/html,<script>alert(1)</script>">d</a>`,
		"object embed":      `<object data="javascript:alert(1)"></object><embed src="https://evil.example/x.swf"><applet code=x></applet>`,
		"formaction":        `<form><button formaction="javascript:alert(1)">b</button></form><button formaction="https://evil.example">b2</button>`,
		"ontoggle":          `<details open ontoggle=alert(1)><summary>s</summary></details><input autofocus onfocus=alert(1)>`,
		"link import":       `<link rel="stylesheet" href="https://evil.example/x.css"><link rel=import href=x>`,
		"cid onerror":       `<img src=cid:own@x onerror=alert(1)><img SRC = 'CID:own@x' onload=alert(2)>`,
		"cid in attribute":  `<img src="x" alt="src=cid:own@x onerror=alert(1) z">`,
		"other cid":         `<img src="cid:dni@otro">`,
		"other attachment":  fmt.Sprintf(`<img src="/console/tickets/attachments/%d">`, otherID),
		"relative escape":   fmt.Sprintf(`<img src="../tickets/attachments/%d"><img src="attachments/%d">`, otherID, otherID),
		"console get":       `<img src="/console/sms/batches/1/failed.csv"><img src="/console/logout">`,
		"svg use":           `<svg><use href="data:image/svg+xml,&lt;svg id='x' xmlns='http://www.w3.org/2000/svg'&gt;&lt;image href='1' onerror='alert(1)'/&gt;&lt;/svg&gt;#x"/></svg>`,
		"template":          `<template><img src=x onerror=alert(1)></template>`,
		"textarea breakout": `<textarea></div><img src=x onerror=alert(1)></textarea>`,
		"comment breakout":  `<!--><img src=x onerror=alert(1)>-->`,
		"xmp":               `<xmp></div><img src=x onerror=alert(1)></xmp>`,
		"iframe srcdoc":     `<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>`,
		"area":              `<map name=m><area href="javascript:alert(1)" shape=default></map><img usemap=#m src=x>`,
		"target":            `<a href="https://evil.example/" target="_self">tab</a><a href="https://evil.example/" target="opener">tab2</a>`,
		"vbscript":          `<a href="vbscript:msgbox(1)">v</a><a href="livescript:x">l</a>`,
		"id clobber":        `<img name="getElementById"><form id="progress"></form><a id="new-secret" href="https://evil.example">x</a>`,
	}
	bad := []*regexp.Regexp{
		regexp.MustCompile(`(?i)<\s*(script|style|iframe|frame|object|embed|applet|form|input|button|textarea|base|meta|link|svg|math|template|noscript|xmp)\b`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)\b(style|srcset|formaction|srcdoc)\s*=`),
		regexp.MustCompile(`(?i)(javascript|vbscript|livescript|data)\s*:`),
		regexp.MustCompile(`(?i)&#`),
	}
	tagRe := regexp.MustCompile(`<[^>]*>`)
	srcRe := regexp.MustCompile(`(?i)\s(src|href)="([^"]*)"`)
	for name, html := range payloads {
		tk, atts := attack2Ticket(t, s.st, "Soporte", name, html,
			[]store.TicketAttachment{{Name: "own.png", MediaType: "image/png", ContentID: "<own@x>", Data: png}})
		resp, page := s.get(t, luis, "/console/tickets/"+tk.Number)
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		m := mailHTMLDiv.FindStringSubmatch(page)
		if m == nil { // nothing left of the HTML: the text body is shown
			assert.Contains(t, page, `<pre class="mail-text">text</pre>`, name)
			continue
		}
		out := m[1]
		tags := strings.Join(tagRe.FindAllString(out, -1), "")
		for _, re := range bad {
			assert.False(t, re.MatchString(tags), "%s: %s survives: %s", name, re, out)
		}
		own := fmt.Sprintf("/console/tickets/attachments/%d", atts[0].ID)
		for _, sm := range srcRe.FindAllStringSubmatch(out, -1) {
			attr, v := strings.ToLower(sm[1]), sm[2]
			if v == "" || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") {
				continue // remote: CSP img-src 'self' does not load them; links open in a new tab
			}
			if attr == "src" {
				assert.Equal(t, own, v, "%s: an image that is not the article's own attachment: %s", name, out)
			} else {
				assert.Fail(t, "a relative link in a mail", "%s: %s", name, out)
			}
		}
		assert.NotContains(t, out, `target="_self"`, name)
		assert.NotContains(t, out, `id="progress"`, name)
	}
}

// Attachments: only png/jpeg/gif/webp inline, everything else an inert
// download; the file's name does not inject headers or parameters into
// Content-Disposition; ids of every shape give 404, never 500.
func TestAttack2AttachmentServing(t *testing.T) {
	s := newTicketSite(t)
	luis := s.client(t)
	s.login(t, luis, "luis")
	names := []string{"factura;filename=evil.html", "a,b=c.pdf", "plan\r\nSet-Cookie: x=y.txt", `comillas"; filename="evil.html`,
		"año ñ.pdf", "back\\slash.txt", "perc%41nt.txt", "tick'quote.txt", "star*.txt", "sp ace.pdf", "x.html%0d%0aX-Injected:1"}
	var atts []store.TicketAttachment
	for _, n := range names {
		atts = append(atts, store.TicketAttachment{Name: n, MediaType: "application/pdf", Data: []byte("%PDF-1.4")})
	}
	media := []string{"image/png", "IMAGE/PNG", "image/png; charset=utf-8", "image/svg+xml", "text/html", "image/x-icon", "application/xhtml+xml",
		"image/bmp", "text/xml", "multipart/x-mixed-replace", "image/jpeg ", "image/webp", "image/gif", ""}
	for i, m := range media {
		atts = append(atts, store.TicketAttachment{Name: fmt.Sprintf("m%d", i), MediaType: m, Data: []byte("<html><script>alert(1)</script>")})
	}
	_, stored := attack2Ticket(t, s.st, "Soporte", "adjuntos", "", atts)
	require.Len(t, stored, len(atts))
	for _, a := range stored {
		resp, _ := s.get(t, luis, fmt.Sprintf("/console/tickets/attachments/%d", a.ID))
		require.Equal(t, http.StatusOK, resp.StatusCode, a.Name)
		ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition")
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox", a.Name)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), a.Name)
		assert.Empty(t, resp.Header.Get("Set-Cookie"), a.Name)
		assert.Empty(t, resp.Header.Get("X-Injected"), a.Name)
		kind, params, err := mime.ParseMediaType(cd)
		if !assert.NoError(t, err, "Content-Disposition of %q does not parse: %s", a.Name, cd) {
			continue
		}
		switch ct {
		case "image/png", "image/jpeg", "image/gif", "image/webp":
			assert.Equal(t, "inline", kind, a.Name)
		default:
			assert.Equal(t, "application/octet-stream", ct, "%q served as %s", a.MediaType, ct)
			assert.Equal(t, "attachment", kind, a.Name)
		}
		assert.Equal(t, a.Name, params["filename"], "the name a browser saves (Content-Disposition: %s)", cd)
		extra := []string{}
		for k := range params {
			if k != "filename" {
				extra = append(extra, k)
			}
		}
		assert.Empty(t, extra, "parameters injected into Content-Disposition by the name %q: %s", a.Name, cd)
	}
	for _, id := range []string{"0", "-1", "abc", "1.5", "9223372036854775807", "9223372036854775808", "%00", "1%00", "0x1", "+1", "99999999999"} {
		resp, body := s.get(t, luis, "/console/tickets/attachments/"+id)
		assert.Less(t, resp.StatusCode, 500, "%s: %s", id, body)
		if id != "+1" {
			assert.NotEqual(t, http.StatusOK, resp.StatusCode, id)
		}
	}
}

// Ticket numbers and forms of every shape: 404 or 400, never 500.
func TestAttack2TicketHostileInput(t *testing.T) {
	s := newTicketSite(t)
	luis := s.client(t)
	s.login(t, luis, "luis")
	tk, _ := attack2Ticket(t, s.st, "Soporte", "uno", "", nil)
	tk2, _ := attack2Ticket(t, s.st, "Soporte", "dos", "", nil)
	_, page := s.get(t, luis, "/console/tickets/"+tk.Number)
	tok := csrfField.FindStringSubmatch(page)[1]
	for _, n := range []string{"abc", "-1", "0", "%00", "%27%20OR%201%3D1--", "99999999999999999999999", strings.Repeat("9", 5000), "%E2%80%AE", "..%2F..%2Fsms"} {
		resp, body := s.get(t, luis, "/console/tickets/"+n)
		assert.Less(t, resp.StatusCode, 500, "%.60s: %.200s", n, body)
		resp, body = attack2Do(t, luis, http.MethodPost, s.host+"/console/tickets/"+n+"/note", s.host, map[string][]string{"csrf": {tok}, "text": {"x"}})
		assert.Less(t, resp.StatusCode, 500, "%.60s: %.200s", n, body)
	}
	for _, q := range []string{"?state=x", "?queue=nope", "?after=-5", "?after=99999999999999999999", "?queue=%00", "?state=new&state=open"} {
		resp, body := s.get(t, luis, "/console/tickets"+q)
		assert.Less(t, resp.StatusCode, 500, "%s: %.200s", q, body)
	}
	for _, q := range []string{"?from=0001-01-01&to=0001-12-31", "?from=9999-12-01&to=9999-12-31", "?period=week&from=2026-01-01&to=2027-02-04",
		"?from=2026-02-30", "?period=month&from=1970-01-01&to=1971-01-01", "?from=-001-01-01", "?to=2026-13-01"} {
		resp, body := s.get(t, luis, "/console/tickets/stats"+q)
		assert.Less(t, resp.StatusCode, 500, "%s: %.200s", q, body)
	}
	forms := []struct {
		action string
		form   map[string][]string
	}{
		{"owner", map[string][]string{"owner": {"999999"}}},
		{"owner", map[string][]string{"owner": {"9223372036854775807"}}},
		{"owner", map[string][]string{"owner": {"abc"}}},
		{"queue", map[string][]string{"queue": {"999999"}}},
		{"queue", map[string][]string{"queue": {"9223372036854775807"}}},
		{"state", map[string][]string{"state": {"pending"}, "until": {"9999-12-31T23:59"}}},
		{"state", map[string][]string{"state": {"closed"}}},
		{"state", map[string][]string{"state": {"closed"}}},
		{"merge", map[string][]string{"into": {tk2.Number}}},
		{"merge", map[string][]string{"into": {tk2.Number}}},
		{"note", map[string][]string{"text": {strings.Repeat("ñ", 30000)}}},
		{"note", map[string][]string{"text": {"\x00\xff\xfe"}}},
		{"reply", map[string][]string{"text": {"hola"}}},
		{"%2e%2e", map[string][]string{"text": {"x"}}},
	}
	for _, f := range forms {
		f.form["csrf"] = []string{tok}
		resp, body := attack2Do(t, luis, http.MethodPost, s.host+"/console/tickets/"+tk.Number+"/"+f.action, s.host, f.form)
		assert.Less(t, resp.StatusCode, 500, "%s %v: %.300s", f.action, f.form, body)
	}
	// then merge the other way: a cycle
	resp, body := attack2Do(t, luis, http.MethodPost, s.host+"/console/tickets/"+tk2.Number+"/merge", s.host, map[string][]string{"csrf": {tok}, "into": {tk.Number}})
	assert.Less(t, resp.StatusCode, 500, "merge back: %.300s", body)
	resp, body = s.get(t, luis, "/console/tickets/"+tk.Number+"?answer=Thanks,%20solved")
	assert.Less(t, resp.StatusCode, 500, "%.300s", body)
}
