package mailticket

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// People who look like mailer daemons are people: a postmaster writing
// about an undelivered parcel, an empty subject from a postmaster, a
// delay reported by a customer, a customer forwarding a bounce inside
// their own mail, Auto-Submitted "no" with a comment. Each is a ticket in
// the inbox (a postmaster, a role address that may be a machine's, and
// the forward, holding a report, get no automatic reply).
func TestPeopleAreNotBounces(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, raw string
		answered  bool
	}{
		{"postmaster, parcel", simple("postmaster@acme.example", "Undelivered parcel, order 7781", "p1@acme.example"), false},
		{"postmaster, delays", simple("postmaster@acme.example", "Our mails to you are delayed since Monday", "p2@acme.example"), false},
		{"postmaster, no subject", simple("postmaster@acme.example", "", "p3@acme.example"), false},
		{"auto-submitted no", simple("ana@cliente.example", "Delivery failure of our pallets", "p4@cliente.example",
			"Auto-Submitted: no (person)"), true},
		{"a forwarded bounce", mailText("--m\r\nContent-Type: text/plain\r\n\r\nSee the bounce below.\r\n"+
			"--m\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"+
			"--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\n"+
			"Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; x@y\r\nAction: failed\r\nStatus: 5.1.1\r\n--r--\r\n--m--\r\n",
			"From: ana@cliente.example", "To: support@example.net", "Subject: Fwd: your mails bounce",
			"Message-ID: <p5@cliente.example>", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="m"`), false},
	} {
		r := e.process("people/"+c.name, c.raw)
		assert.Equal(t, Created, r.Outcome, "%s: %s", c.name, r.Reason)
		assert.Equal(t, "Inbox", e.queueName(r.Ticket.QueueID), c.name)
		assert.Equal(t, c.answered, r.AutoResponse != "", "%s: %s", c.name, r.Reason)
	}
}

// A bounce quoting our Message-ID in upper case, or followed by a URL's
// "&", still finds its ticket; a huge bounce is scanned in bounded time.
func TestBounceScanBoundedAndForgiving(t *testing.T) {
	e := newEnv(t)
	r := e.process("k1", simple("ana@cliente.example", "Falla", "b1@cliente.example"))
	ourID := e.articles(r.Ticket.ID)[1].MessageID
	for i, quoted := range []string{strings.ToUpper(ourID), "https://mx.example/?id=" + ourID + "&x=1"} {
		b := e.process("b"+string(rune('0'+i)), mailText("Delivery failed.\r\nMessage: "+quoted+"\r\n",
			"From: MAILER-DAEMON@mx.example", "To: support@example.net", "Subject: failure notice",
			"Message-ID: <q"+string(rune('0'+i))+"@mx.example>"))
		assert.Equal(t, BounceAdded, b.Outcome, quoted)
		assert.Equal(t, r.Ticket.ID, b.Ticket.ID, quoted)
	}
	start := time.Now()
	huge := e.process("huge", mailText(strings.Repeat("tk.A", 65536),
		"From: MAILER-DAEMON@mx.example", "To: support@example.net", "Subject: Undelivered Mail", "Message-ID: <h@mx>"))
	assert.Equal(t, Unmatched, huge.Outcome)
	assert.Less(t, time.Since(start), 2*time.Second, "a 256 KiB bounce")
}

// An agent's answer goes to the customer even when a bounce or another
// machine's mail was the last to land on the ticket.
func TestAgentAnswerSkipsMachines(t *testing.T) {
	e := newEnv(t)
	r := e.process("k1", simple("ana@cliente.example", "Falla", "c1@cliente.example"))
	ourID := e.articles(r.Ticket.ID)[1].MessageID
	b := e.process("k2", mailText("Delayed.\r\nMessage-ID: <"+ourID+">\r\n", "From: MAILER-DAEMON@mx.cliente.example",
		"To: support@example.net", "Subject: Delayed Mail (still being retried)", "Message-ID: <d1@mx>"))
	require.Equal(t, BounceAdded, b.Outcome)
	agent := store.Agent{Name: "Luis", Email: "luis@example.net"}
	require.NoError(t, e.st.CreateAgent(e.ctx, &agent))
	_, err := e.p.Reply(e.ctx, e.sender(), r.Ticket.ID, agent.ID, "Ya lo revisamos.")
	require.NoError(t, err)
	got := e.sink.received()
	require.NotEmpty(t, got)
	assert.Equal(t, []string{"ana@cliente.example"}, got[len(got)-1].To)
}

// People are answered and machines are not, by their addresses and the
// headers other systems write.
func TestRobotsAndPeopleByAddress(t *testing.T) {
	for _, c := range []struct {
		from     string
		extra    []string
		answered bool
	}{
		{"shop-owner@tienda.example", nil, true},
		{"service-request@empresa.example", nil, true},
		{"juan.arnoreply@empresa.example", nil, true},
		{"owner-ana@empresa.example", nil, true},
		{"news@tienda.example", []string{"X-Spam: Yes"}, false},
		{"ana@cliente.example", []string{"Sender: no-reply@cliente.example"}, false},
		{"ana@cliente.example", []string{"Return-Path: <MAILER-DAEMON@mx.example>"}, false},
		{"desk@otra.example", []string{"X-OTRS-Loop: yes"}, false},
		{"desk@otra.example", []string{"X-Loop: desk@otra.example"}, false},
		{"gmail-noreply@google.example", []string{"Reply-To: x.y@gmail.example"}, false},
	} {
		e := newEnv(t)
		r := e.process("k", simple(c.from, "hola", "r@x.example", c.extra...))
		assert.Equal(t, c.answered, r.AutoResponse != "", "%s %v: %s", c.from, c.extra, r.Reason)
	}
}
