package console

import (
	"context"
	"fmt"
	"github.com/switchboard-go/switchboard/examples/internal/browsertest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// Every page works at a phone's width (390 px): nothing sticks out of
// the screen sideways (wide tables scroll inside themselves), and the
// navigation and each page's main form are on the screen.
func TestPagesAtPhoneWidth(t *testing.T) {
	s := newSMSSite(t, false, smpptest.Outcomes{})
	ctx := context.Background()
	chatSrv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"ana": "unused"}})
	defer chatSrv.Close()
	c := &Server{Store: s.st, Prefix: "/console", Gateway: s.gw, Chat: chatSrv.Chat}
	h, err := c.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", http.StripPrefix("/console", h))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	// Something on every page: a batch, a ticket with a long unbroken
	// subject, an endpoint with a long URL.
	rep, err := s.gw.LoadCSV(ctx, gatewayBatch("acme", "una-lista-con-un-nombre-muy-largo-sin-espacios-para-ver-si-desborda.csv",
		"04141234567,"+strings.Repeat("palabra", 30)+"\n"))
	require.NoError(t, err)
	q := store.Queue{Name: "Soporte"}
	require.NoError(t, s.st.CreateQueue(ctx, &q))
	tk := store.Ticket{Title: strings.Repeat("Asunto", 40), QueueID: q.ID}
	require.NoError(t, s.st.CreateTicket(ctx, &tk))
	require.NoError(t, s.st.AddArticle(ctx, &store.Article{TicketID: tk.ID, Direction: store.Inbound, From: "ana@example.com",
		HTMLBody: "<table><tr>" + strings.Repeat("<td>celda ancha de una tabla de correo</td>", 12) + "</tr></table>"}, nil))
	require.NoError(t, s.st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "crm", URL: "https://crm.example.com/" + strings.Repeat("x", 200),
		Secret: "whsec_0123456789abcdef", Topics: []store.WebhookTopic{store.TopicSMS}}))

	b := browsertest.NewPage(t, "browser")
	b.Do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	login(b, hs.URL+"/console/", "ana", "clave de ana")
	for _, page := range []string{"", "chat", "sms", fmt.Sprintf("sms/batches/%d", rep.BatchID), "sms/number?number=04141234567",
		"sms/operators", "tickets", "tickets/" + tk.Number, "tickets/stats", "webhooks", "users", "tokens"} {
		b.Do(page, chromedp.Navigate(hs.URL+"/console/"+page), chromedp.WaitVisible(`main h1`))
		wide := browsertest.Eval[int](b, `document.documentElement.scrollWidth - document.documentElement.clientWidth`)
		assert.LessOrEqual(t, wide, 0, "%s sticks out %d px sideways", page, wide)
		navRight := browsertest.Eval[float64](b, `Math.max(...[...document.querySelectorAll("header a, header button, main form button")].map(e => e.getBoundingClientRect().right))`)
		assert.LessOrEqual(t, navRight, 390.0, "%s: a link or button off the screen", page)
	}
}

func gatewayBatch(client, name, csv string) gateway.Batch {
	return gateway.Batch{Client: client, Name: name, CSV: strings.NewReader(csv)}
}
