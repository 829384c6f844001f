package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"github.com/switchboard-go/switchboard/examples/internal/smtpsink"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// ticketSite is the console of a help desk whose mail comes from a
// Maildir and whose answers go to an SMTP sink; luis is an agent, pedro
// an sms account.
type ticketSite struct {
	consoleSite
	maildir string
	sink    *smtpsink.Sink
	proc    *mailticket.Processor
	poller  *mailticket.Poller
}

func newTicketSite(t *testing.T) *ticketSite {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	for _, a := range []store.Account{{Login: "luis", Name: "Luis", Role: store.RoleAgent}, {Login: "pedro", Role: store.RoleSMSClient, Client: "acme"}} {
		h, err := bcrypt.GenerateFromPassword([]byte("clave de "+a.Login), bcrypt.MinCost)
		require.NoError(t, err)
		a.PasswordHash = string(h)
		require.NoError(t, st.PutAccount(ctx, &a))
	}
	dir := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"new", "cur", "tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o700))
	}
	sink, addr := smtpsink.Start(t)
	sender, err := mailticket.ParseSMTPURL("smtp://" + addr)
	require.NoError(t, err)
	proc := &mailticket.Processor{Store: st, Domain: "soporte.example", Secret: []byte("0123456789abcdef0123456789abcdef"),
		Addresses: []string{"soporte@soporte.example"}, Name: "Soporte", DefaultQueue: "Soporte",
		Templates: map[string]map[mailticket.Event]mailticket.Template{}}
	c := &Server{Store: st, Prefix: "/console", Tickets: proc, Mail: sender}
	h, err := c.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &ticketSite{consoleSite: consoleSite{st: st, url: srv.URL + "/console/", host: srv.URL}, maildir: dir, sink: sink, proc: proc,
		poller: &mailticket.Poller{Processor: proc, Sources: []mailticket.Source{&mailticket.Maildir{Dir: dir, Quiet: -1}}}}
}

// deliver puts a mail in the Maildir and fetches it into a ticket.
func (s *ticketSite) deliver(t *testing.T, name string, raw string) store.Ticket {
	require.NoError(t, os.WriteFile(filepath.Join(s.maildir, "new", name), []byte(strings.ReplaceAll(raw, "\n", "\r\n")), 0o600))
	sum, err := s.poller.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, sum.Created+sum.FollowUps, sum.String())
	ts, err := s.st.Tickets(context.Background(), store.TicketFilter{})
	require.NoError(t, err)
	return ts[len(ts)-1]
}

// hostileHTML is a mail whose HTML tries everything a mail can try on
// the agent's page; its inline picture is a real PNG (pictureBase64).
var hostileHTML = strings.Replace(hostileMail, "PNGDATA", pictureBase64(), 1)

// pictureBase64 is a small PNG, base64 as in a mail.
func pictureBase64() string {
	img := image.NewRGBA(image.Rect(0, 0, 48, 24))
	for x := range 48 {
		for y := range 24 {
			img.Set(x, y, color.RGBA{uint8(200 - 3*x), uint8(80 + 4*y), 160, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

const hostileMail = `From: Eva <eva@cliente.example>
To: soporte@soporte.example
Subject: Pantalla rota
Message-ID: <eva-1@cliente.example>
Date: Mon, 07 Dec 2026 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/related; boundary="b"

--b
Content-Type: text/html; charset=utf-8

<p onclick="steal()">Mirad la foto: <img src="cid:foto@eva"> <img src="https://tracker.example/p.gif"></p>
<script>alert(1)</script><iframe src="https://evil.example"></iframe><style>body{display:none}</style>
<a href="javascript:alert(2)">clic</a> <a href="https://ayuda.example/x">ayuda</a>
<form action="https://evil.example"><input name="pw"></form>
--b
Content-Type: image/png
Content-ID: <foto@eva>
Content-Disposition: inline; filename="foto.png"
Content-Transfer-Encoding: base64

PNGDATA
--b
Content-Type: image/svg+xml
Content-Disposition: attachment; filename="dibujo.svg"

<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)"/>
--b--
`

// A mail's HTML reaches the agent without anything that runs, frames,
// submits or styles the console; its inline image is the article's
// attachment; attachments are served so that none runs as a page.
func TestTicketMailSanitizedAndAttachmentsInert(t *testing.T) {
	s := newTicketSite(t)
	tk := s.deliver(t, "1.eva", hostileHTML)
	luis := s.client(t)
	s.login(t, luis, "luis")
	resp, page := s.get(t, luis, "/console/tickets/"+tk.Number)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	html := page[strings.Index(page, `class="mail-html"`):]
	html = html[:strings.Index(html, "</div>")]
	for _, bad := range []string{"<script", "onclick", "<iframe", "<style", "javascript:", "<form", "<input", "cid:"} {
		assert.NotContains(t, html, bad)
	}
	assert.Contains(t, html, "Mirad la foto")
	assert.Contains(t, html, `rel="nofollow noreferrer noopener"`)
	assert.Regexp(t, `<img src="/console/tickets/attachments/\d+"`, html, "the inline image, from the article")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "img-src 'self'", "remote images are not loaded")

	atts := attachmentsOf(t, s.st, tk.ID)
	require.Len(t, atts, 2)
	for _, a := range atts {
		resp, body := s.get(t, luis, fmt.Sprintf("/console/tickets/attachments/%d", a.ID))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox")
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		if a.MediaType == "image/png" {
			assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline;"))
			want, _ := base64.StdEncoding.DecodeString(pictureBase64())
			assert.Equal(t, string(want), body)
		} else {
			assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"), "an SVG is not served as an image that runs")
			assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;"))
		}
	}
	pedro := s.client(t)
	s.login(t, pedro, "pedro")
	for _, path := range []string{"/console/tickets", "/console/tickets/" + tk.Number, fmt.Sprintf("/console/tickets/attachments/%d", atts[0].ID), "/console/tickets/stats"} {
		resp, _ := s.get(t, pedro, path)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "an sms account on %s", path)
	}
}

func attachmentsOf(t *testing.T, st store.Store, ticketID int64) []store.TicketAttachment {
	arts, err := st.Articles(context.Background(), ticketID)
	require.NoError(t, err)
	var out []store.TicketAttachment
	for _, a := range arts {
		as, err := st.TicketAttachments(context.Background(), a.ID)
		require.NoError(t, err)
		out = append(out, as...)
	}
	return out
}

// The ticket forms: a note is no response and mails nobody; a pending
// state needs its time; a merge needs a ticket; forms need their token.
func TestTicketForms(t *testing.T) {
	s := newTicketSite(t)
	a := s.deliver(t, "1.a", "From: ana@cliente.example\nTo: soporte@soporte.example\nSubject: Uno\nMessage-ID: <a1@x>\n\nhola\n")
	b := s.deliver(t, "2.b", "From: ana@cliente.example\nTo: soporte@soporte.example\nSubject: Dos\nMessage-ID: <b1@x>\n\notra cosa\n")
	luis := s.client(t)
	s.login(t, luis, "luis")
	_, page := s.get(t, luis, "/console/tickets/"+a.Number)
	tok := csrfField.FindStringSubmatch(page)[1]
	act := func(number, action string, form url.Values) (*http.Response, string) {
		if form.Get("csrf") == "" {
			form.Set("csrf", tok)
		}
		return s.post(t, luis, "/console/tickets/"+number+"/"+action, s.host, form)
	}
	resp, _ := act(a.Number, "note", url.Values{"csrf": {"forged"}, "text": {"x"}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = act(a.Number, "note", url.Values{"text": {"Llamar a Ana mañana"}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, err := s.st.Ticket(context.Background(), a.ID)
	require.NoError(t, err)
	assert.True(t, got.FirstResponseAt.IsZero(), "a note is no response")
	assert.Empty(t, s.sink.Mails(), "a note is not mailed")
	_, page = s.get(t, luis, "/console/tickets/"+a.Number)
	assert.Contains(t, page, "Internal note")
	assert.Contains(t, page, "Llamar a Ana mañana")

	resp, page = act(a.Number, "state", url.Values{"state": {"pending"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "needs a time in the future")
	until := time.Now().Add(48 * time.Hour).Format("2006-01-02T15:04")
	resp, _ = act(a.Number, "state", url.Values{"state": {"pending"}, "until": {until}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, _ = s.st.Ticket(context.Background(), a.ID)
	assert.Equal(t, store.TicketPending, got.State)
	resp, _ = act(a.Number, "state", url.Values{"state": {"sideways"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	resp, page = act(a.Number, "merge", url.Values{"into": {"999"}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "no ticket with that number")
	resp, page = act(a.Number, "merge", url.Values{"into": {a.Number}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "into itself")
	assert.Contains(t, page, "itself")
	resp, _ = act(a.Number, "merge", url.Values{"into": {b.Number}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	got, _ = s.st.Ticket(context.Background(), a.ID)
	assert.Equal(t, b.ID, got.MergedIntoID)

	resp, page = act(b.Number, "reply", url.Values{"text": {"  "}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "The answer is empty.")
	resp, _ = act(b.Number, "owner", url.Values{"owner": {"0"}})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = act(b.Number, "explode", url.Values{})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = s.get(t, luis, "/console/tickets/"+b.Number+"?answer=nope")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = s.get(t, luis, "/console/tickets/stats?period=year")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// An agent works a ticket made from a Maildir mail in the browser:
// answers it with a template (the SMTP sink gets the answer threaded on
// the customer's mail), closes it, and finds it in the statistics.
func TestAgentTicketInABrowser(t *testing.T) {
	s := newTicketSite(t)
	tk := s.deliver(t, "1.eva", hostileHTML)

	b := browsertest.NewPage(t, "browser")
	login(b, s.url+"tickets", "luis", "clave de luis")
	b.Poll("the queue and the ticket", `document.querySelector('tr[data-number="`+tk.Number+`"]') !== null`)
	b.Do("open it", chromedp.Click(`tr[data-number="`+tk.Number+`"] a`), chromedp.WaitVisible(`ol.articles`))
	b.Poll("the inline image shows", `[...document.querySelectorAll(".mail-html img")].some(i => i.complete && i.naturalWidth === 48 && i.getAttribute("src").includes("/attachments/"))`)
	assert.False(t, browsertest.Eval[bool](b, `typeof window.steal === "function" || document.querySelector(".mail-html script, .mail-html iframe") !== null`))
	browsertest.Tour(t, b.Ctx, "console-ticket")
	b.Do("choose a template", chromedp.SetValue(`select[name=answer]`, "Thanks, solved"), chromedp.Click(`form.filters button`))
	b.Poll("the template's answer", `document.querySelector("textarea[name=text]").value !== ""`)
	draft := browsertest.Eval[string](b, `document.querySelector("textarea[name=text]").value`)
	assert.Contains(t, draft, "Hello Eva,")
	assert.Contains(t, draft, "Luis", "the agent's name")
	b.Do("send and close", chromedp.Click(`input[name=close]`), chromedp.Click(`form.compose button`), chromedp.WaitVisible(`#done`))
	assert.Contains(t, browsertest.Eval[string](b, `document.getElementById("done").textContent`), "ticket closed")
	assert.Equal(t, "closed", browsertest.Eval[string](b, `document.getElementById("ticket-state").textContent`))

	mails := s.sink.Mails()
	require.Len(t, mails, 1)
	m, err := mail.ReadMessage(bytes.NewReader(mails[0]))
	require.NoError(t, err)
	assert.Equal(t, "<eva-1@cliente.example>", m.Header.Get("In-Reply-To"))
	assert.Contains(t, m.Header.Get("References"), "<eva-1@cliente.example>")
	assert.Contains(t, m.Header.Get("Subject"), tk.Number, "the ticket's tag")
	assert.Contains(t, m.Header.Get("To"), "eva@cliente.example")
	body, _ := io.ReadAll(m.Body)
	assert.Contains(t, string(body), "thank you for writing")

	b.Do("statistics", chromedp.Navigate(s.url+"tickets/stats"), chromedp.WaitVisible(`#times`))
	cells := browsertest.Eval[[]string](b, `[...document.querySelectorAll("#times tr.total td")].map(td => td.textContent)`)
	require.Len(t, cells, 6)
	assert.Equal(t, "1", cells[0], "one first response")
	assert.Equal(t, "1", cells[3], "one ticket resolved")
	assert.Equal(t, 2, browsertest.Eval[int](b, `document.querySelectorAll("svg.chart").length`), "created and closed")
	browsertest.Tour(t, b.Ctx, "console-stats")

	// The customer answers the answer: it threads onto the same ticket.
	answer := "From: Eva <eva@cliente.example>\nTo: soporte@soporte.example\nSubject: Re: " + m.Header.Get("Subject") +
		"\nMessage-ID: <eva-2@cliente.example>\nIn-Reply-To: " + m.Header.Get("Message-Id") + "\n\n¡Gracias!\n"
	again := s.deliver(t, "2.eva", answer)
	assert.Equal(t, tk.ID, again.ID, "the customer's answer is on the same ticket")
}
