package mailticket

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

func TestNewTicketAutoReplyAndFollowUp(t *testing.T) {
	e := newEnv(t)
	r := e.process("k1", simple(`"Ana Pérez" <Ana@Cliente.example>`, "Servicio caído", "a1@cliente.example"))
	expect(t, "outcome", r.Outcome, Created)
	expect(t, "reply", r.AutoResponse, EventNewTicket)
	expect(t, "state", r.Ticket.State, store.TicketNew)
	expect(t, "number valid", store.ValidTicketNumber(r.Ticket.Number), true)
	cust, err := e.st.Customer(e.ctx, r.Ticket.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "customer", cust.Email, "ana@cliente.example")
	expect(t, "company", cust.Company, "cliente.example")
	q, _ := e.st.QueueByName(e.ctx, "Inbox")
	expect(t, "queue", r.Ticket.QueueID, q.ID)

	n, err := e.p.SendQueued(e.ctx, e.sender(), 0)
	if err != nil || n != 1 {
		t.Fatalf("SendQueued = %d, %v", n, err)
	}
	got := e.sink.received()
	expect(t, "sent", len(got), 1)
	raw := got[0].Data
	expect(t, "envelope sender", got[0].From, "")
	expect(t, "recipient", got[0].To[0], "ana@cliente.example")
	expect(t, "Auto-Submitted", headerOf(t, raw, "Auto-Submitted"), "auto-replied")
	expect(t, "X-Auto-Response-Suppress", headerOf(t, raw, "X-Auto-Response-Suppress"), "All")
	expect(t, "In-Reply-To", headerOf(t, raw, "In-Reply-To"), "<a1@cliente.example>")
	reply, _ := Parse(raw, nil)
	if !strings.Contains(reply.Subject, "[Ticket#"+r.Ticket.Number+"]") || !strings.HasPrefix(reply.Subject, "Re: Servicio caído") {
		t.Fatalf("reply subject %q", reply.Subject)
	}
	if !strings.Contains(reply.Text, r.Ticket.Number) || !strings.Contains(reply.Text, "Ana Pérez") {
		t.Fatalf("reply body:\n%s", reply.Text)
	}
	expect(t, "reply From", reply.From.Addr, "support@example.net")
	expect(t, "our id recognized", ticketFromMessageID(e.p.Secret, reply.MessageID, e.p.Domain), r.Ticket.Number)
	// Nothing left to send.
	if n, _ := e.p.SendQueued(e.ctx, e.sender(), 0); n != 0 {
		t.Fatalf("sent again: %d", n)
	}

	// The customer answers the automatic reply: a follow-up, recognized
	// by our Message-ID, even with a changed subject.
	f := e.process("k2", simple("ana@cliente.example", "otra cosa", "a2@cliente.example",
		"In-Reply-To: <"+reply.MessageID+">", "References: <a1@cliente.example> <"+reply.MessageID+">"))
	expect(t, "follow-up", f.Outcome, FollowUp)
	expect(t, "same ticket", f.Ticket.ID, r.Ticket.ID)
	expect(t, "no reply to follow-ups by default", f.AutoResponse, Event(""))
	arts := e.articles(r.Ticket.ID)
	expect(t, "articles (mail, reply, follow-up)", len(arts), 3)
	expect(t, "reply article", arts[1].Direction, store.Outbound)

	// A reply of the customer quoting only her first Message-ID threads by
	// the stored article.
	g := e.process("k3", simple("ana@cliente.example", "Re: Servicio caído", "a3@cliente.example",
		"In-Reply-To: <a1@cliente.example>"))
	expect(t, "by stored id", g.Outcome, FollowUp)
	expect(t, "same ticket again", g.Ticket.ID, r.Ticket.ID)
	// Someone who never wrote in the ticket does not join it by quoting a
	// Message-ID he saw (on Cc, in a forward): his mail opens a new
	// ticket linked to it.
	o := e.process("k4", simple("pedro@cliente.example", "Re: Servicio caído", "a4@cliente.example",
		"In-Reply-To: <a1@cliente.example>"))
	expect(t, "outsider by stored id", o.Outcome, Created)
	expect(t, "linked", o.Ticket.LinkedTicketID, r.Ticket.ID)
}

// Where the receiving MTA we trust says the From domain failed DMARC
// (or SPF without DKIM), the sender is unknown: he joins no ticket by a
// stored Message-ID or the subject tag, whatever From says.
func TestForgedSenderJoinsNoTicket(t *testing.T) {
	e := newEnv(t)
	e.p.DisableAutoResponses = true
	e.p.AuthServID = "mx.example.net"
	r := e.process("k1", simple("ana@cliente.example", "Falla", "f1@cliente.example"))
	tag := " [Ticket#" + r.Ticket.Number + "]"
	fail := "Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=otro.example; dkim=none; dmarc=fail header.from=cliente.example"
	for i, extra := range [][]string{{"In-Reply-To: <f1@cliente.example>"}, nil} {
		subject := "Re: Falla"
		if extra == nil {
			subject += tag
		}
		f := e.process(fmt.Sprint("forged", i), simple("ana@cliente.example", subject, fmt.Sprintf("f%d@otro.example", i+2),
			append(extra, fail)...))
		expect(t, "forged sender", f.Outcome, Created)
		expect(t, "linked", f.Ticket.LinkedTicketID, r.Ticket.ID)
	}
	for i, h := range []string{
		"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=cliente.example; dkim=pass header.d=cliente.example; dmarc=pass",
		"Authentication-Results: mx.example.net; spf=fail smtp.mailfrom=cliente.example; dkim=pass header.d=cliente.example",
		// A header from anyone else is not trusted.
		"Authentication-Results: evil.example; dmarc=fail header.from=cliente.example",
	} {
		f := e.process(fmt.Sprint("ok", i), simple("ana@cliente.example", "Re: Falla", fmt.Sprintf("ok%d@cliente.example", i),
			"In-Reply-To: <f1@cliente.example>", h))
		expect(t, h, f.Outcome, FollowUp)
	}
	// Trust off: the header is not read.
	e.p.AuthServID = ""
	f := e.process("off", simple("ana@cliente.example", "Re: Falla", "off@cliente.example", "In-Reply-To: <f1@cliente.example>", fail))
	expect(t, "trust off", f.Outcome, FollowUp)
}

func TestDuplicates(t *testing.T) {
	e := newEnv(t)
	raw := simple("ana@cliente.example", "Falla", "dup1@cliente.example")
	r := e.process("imap:a/INBOX/1/7", raw)
	expect(t, "first", r.Outcome, Created)
	// Same source key, and the same mail through another mailbox (other
	// headers added by delivery, same Message-ID and body).
	expect(t, "same key", e.process("imap:a/INBOX/1/7", raw).Outcome, Duplicate)
	expect(t, "other mailbox", e.process("pop3:b/xyz", "Delivered-To: other@example.net\r\n"+raw).Outcome, Duplicate)
	// Two different mails without Message-ID and the same body are two
	// tickets; the same one twice is one.
	noID1 := mailText("gracias\n", "From: a@x.example", "Subject: gracias", "Date: Sun, 22 Nov 2026 08:00:00 +0000")
	noID2 := mailText("gracias\n", "From: b@x.example", "Subject: gracias", "Date: Sun, 22 Nov 2026 08:00:00 +0000")
	expect(t, "no id 1", e.process("", noID1).Outcome, Created)
	expect(t, "no id 2", e.process("", noID2).Outcome, Created)
	expect(t, "no id 1 again", e.process("", noID1).Outcome, Duplicate)
	expect(t, "tickets", len(e.tickets()), 3)

	// The same Message-ID with another body: from the same sender, a
	// follow-up of the first (and no second auto-reply); from someone
	// else, a ticket of its own.
	edited := e.process("", strings.Replace(raw, "the service is down", "the service is still down", 1))
	expect(t, "edited copy", edited.Outcome, FollowUp)
	expect(t, "edited copy's ticket", edited.Ticket.ID, r.Ticket.ID)
	expect(t, "no second auto-reply", edited.AutoResponse, Event(""))
	other := e.process("", strings.Replace(strings.Replace(raw, "ana@", "eva@", 1), "the service", "our service", 1))
	expect(t, "same id, other sender", other.Outcome, Created)
	expect(t, "tickets after", len(e.tickets()), 4)
}

func TestSubjectTagNeedsAParticipant(t *testing.T) {
	e := newEnv(t)
	e.p.DisableAutoResponses = true
	r := e.process("k1", simple("ana@cliente.example", "Falla", "t1@cliente.example", "Cc: jefe@cliente.example"))
	tag := "[Ticket#" + r.Ticket.Number + "]"
	own := e.process("k2", simple("ana@cliente.example", "Re: Falla "+tag, "t2@cliente.example"))
	expect(t, "customer with tag", own.Outcome, FollowUp)
	cc := e.process("k3", simple("Jefe@cliente.example", "Re: "+tag, "t3@cliente.example"))
	expect(t, "cc'd person with tag", cc.Outcome, FollowUp)
	stranger := e.process("k4", simple("intruso@otro.example", "Re: "+tag, "t4@otro.example"))
	expect(t, "stranger", stranger.Outcome, Created)
	expect(t, "linked", stranger.Ticket.LinkedTicketID, r.Ticket.ID)
	// A number with a wrong check digit is not a tag.
	bad := r.Ticket.Number[:len(r.Ticket.Number)-1] + string('0'+(r.Ticket.Number[len(r.Ticket.Number)-1]-'0'+1)%10)
	wrong := e.process("k5", simple("ana@cliente.example", "Re: [Ticket#"+bad+"]", "t5@cliente.example"))
	expect(t, "bad check digit", wrong.Outcome, Created)
	// A custom hook.
	e2 := newEnv(t)
	e2.p.TicketHook = "Caso#"
	e2.p.DisableAutoResponses = true
	r2 := e2.process("k1", simple("ana@cliente.example", "Falla", "h1@cliente.example"))
	f2 := e2.process("k2", simple("ana@cliente.example", "Re: [Caso#"+r2.Ticket.Number+"]", "h2@cliente.example"))
	expect(t, "custom hook", f2.Outcome, FollowUp)
}

func TestClosedTicketPolicies(t *testing.T) {
	for _, c := range []struct {
		policy  ClosedPolicy
		outcome Outcome
		state   store.TicketState
		reply   Event
	}{
		{Reopen, FollowUp, store.TicketOpen, ""},
		{NewTicket, Created, store.TicketClosed, EventNewTicket},
		{Reject, Rejected, store.TicketClosed, EventReject},
	} {
		t.Run(string(c.policy), func(t *testing.T) {
			e := newEnv(t)
			e.p.Filters = []Filter{{SenderDomain: "cliente.example", Queue: "Clientes"}}
			e.p.ClosedPolicies = map[string]ClosedPolicy{"Clientes": c.policy}
			r := e.process("k1", simple("ana@cliente.example", "Falla", "c1@cliente.example"))
			if err := e.st.SetTicketState(e.ctx, r.Ticket.ID, store.TicketClosed, 0, e.clock1()); err != nil {
				t.Fatal(err)
			}
			f := e.process("k2", simple("ana@cliente.example", "Re: Falla", "c2@cliente.example", "In-Reply-To: <c1@cliente.example>"))
			expect(t, "outcome", f.Outcome, c.outcome)
			expect(t, "reply", f.AutoResponse, c.reply)
			old, _ := e.st.Ticket(e.ctx, r.Ticket.ID)
			expect(t, "old ticket state", old.State, c.state)
			if c.policy == NewTicket {
				expect(t, "linked", f.Ticket.LinkedTicketID, r.Ticket.ID)
			}
		})
	}
}

func TestFiltersRouteBySenderDomainAndHeader(t *testing.T) {
	e := newEnv(t)
	e.p.DisableAutoResponses = true
	e.p.Filters = []Filter{
		{Name: "acme", SenderDomain: "acme.example", Queue: "ACME", Company: "ACME Corp"},
		{Name: "urgent", Header: "Subject", Match: regexp.MustCompile(`(?i)urgente`), Priority: 5},
		{Name: "spam", Header: "X-Spam-Flag", Match: regexp.MustCompile(`(?i)^yes$`), Ignore: true, Stop: true},
		{Name: "vip", SenderDomain: "vip.acme.example", Queue: "VIP"},
	}
	a := e.process("k1", simple("ana@acme.example", "URGENTE: caído", "f1@acme.example"))
	q, _ := e.st.QueueByName(e.ctx, "ACME")
	expect(t, "queue", a.Ticket.QueueID, q.ID)
	expect(t, "priority", a.Ticket.Priority, 5)
	c, _ := e.st.Customer(e.ctx, a.Ticket.CustomerID)
	expect(t, "company", c.Company, "ACME Corp")
	v := e.process("k2", simple("jefe@vip.acme.example", "hola", "f2@vip.acme.example"))
	vq, _ := e.st.QueueByName(e.ctx, "VIP")
	expect(t, "later filter wins", v.Ticket.QueueID, vq.ID)
	s := e.process("k3", simple("x@acme.example", "oferta", "f3@acme.example", "X-Spam-Flag: YES"))
	expect(t, "ignored", s.Outcome, Ignored)
	o := e.process("k4", simple("x@otro.example", "hola", "f4@otro.example"))
	in, _ := e.st.QueueByName(e.ctx, "Inbox")
	expect(t, "default queue", o.Ticket.QueueID, in.ID)
	expect(t, "default priority", o.Ticket.Priority, 3)
}

func TestLoopProtection(t *testing.T) {
	cases := []struct {
		name  string
		extra []string
		from  string
	}{
		{"auto-submitted", []string{"Auto-Submitted: auto-replied"}, ""},
		{"auto-generated", []string{"Auto-Submitted: auto-generated"}, ""},
		{"auto-submitted, a value starting with no", []string{"Auto-Submitted: normal-auto"}, ""},
		{"precedence bulk", []string{"Precedence: bulk"}, ""},
		{"precedence junk", []string{"Precedence: junk"}, ""},
		{"precedence list", []string{"Precedence: list"}, ""},
		{"mailing list", []string{"List-Id: <news.example.org>"}, ""},
		{"our x-loop", []string{"X-Loop: switchboard@support.example.net"}, ""},
		{"null return path", []string{"Return-Path: <>"}, ""},
		{"exchange oof", []string{"X-Auto-Response-Suppress: OOF, AutoReply"}, ""},
		{"precedence auto-reply", []string{"Precedence: auto-reply"}, ""},
		{"x-autogenerated", []string{"X-Autogenerated: Reply"}, ""},
		{"icloud vacation", []string{"X-Apple-Action: vacation"}, ""},
		{"x-autoreply", []string{"X-Autoreply: yes"}, ""},
		{"x-autorespond", []string{"X-Autorespond: Your message"}, ""},
		{"mdn", []string{"Content-Type: multipart/report; report-type=disposition-notification; boundary=b"}, ""},
		{"arf", []string{"Content-Type: multipart/report; report-type=feedback-report; boundary=b"}, ""},
		{"noreply sender", nil, "no-reply@tienda.example"},
		{"mailer-daemon", nil, "MAILER-DAEMON@mx.example"},
		{"postmaster", nil, "postmaster@mx.example"},
		{"our own address", nil, "help@example.net"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			from := c.from
			if from == "" {
				from = "ana@cliente.example"
			}
			r := e.process("k", simple(from, "Hola", "l1@x.example", c.extra...))
			if c.name == "mailer-daemon" {
				// A mailer daemon writes nothing but delivery reports.
				expect(t, "outcome", r.Outcome, Unmatched)
				expect(t, "no reply", r.AutoResponse, Event(""))
				return
			}
			expect(t, "outcome", r.Outcome, Created)
			expect(t, "no reply", r.AutoResponse, Event(""))
			if !strings.Contains(r.Reason, "no reply") {
				t.Fatalf("reason %q does not say why", r.Reason)
			}
		})
	}
	// Auto-reply subjects, in the languages customers' programs use.
	for _, subject := range []string{"Out of Office: Re: su caso", "Automatic reply: pedido", "Auto reply: hola",
		"Abwesenheitsnotiz: Ihre Anfrage", "Respuesta automática: pedido 7", "Réponse automatique : absent",
		"[EXTERNAL] Automatic reply: pedido"} {
		e := newEnv(t)
		r := e.process("k", simple("ana@cliente.example", subject, "s-"+subject[:4]+"@x.example"))
		expect(t, subject, r.AutoResponse, Event(""))
	}
	// Auto-Submitted: no is a person.
	e := newEnv(t)
	r := e.process("k", simple("ana@cliente.example", "Hola", "l2@x.example", "Auto-Submitted: no"))
	expect(t, "Auto-Submitted: no", r.AutoResponse, EventNewTicket)
}

func TestReplyRateLimit(t *testing.T) {
	e := newEnv(t)
	e.p.RateLimit = RateLimit{PerHour: 3, PerDay: 5}
	replies := 0
	for i := 0; i < 8; i++ {
		r := e.process("", simple("ana@cliente.example", "caso "+string(rune('a'+i)), "rl"+string(rune('a'+i))+"@x.example"))
		if r.AutoResponse != "" {
			replies++
		}
	}
	expect(t, "replies within the hour", replies, 3)
	// Two hours later the hourly bound has room again, the daily one
	// allows two more.
	e.now = e.now.Add(2 * 3600e9)
	replies = 0
	for i := 0; i < 5; i++ {
		r := e.process("", simple("ana@cliente.example", "más "+string(rune('a'+i)), "rm"+string(rune('a'+i))+"@x.example"))
		if r.AutoResponse != "" {
			replies++
		}
	}
	expect(t, "replies later that day", replies, 2)
	// Another address is not affected.
	r := e.process("", simple("bob@cliente.example", "hola", "rb@x.example"))
	expect(t, "other address", r.AutoResponse, EventNewTicket)
}

func TestQuarantine(t *testing.T) {
	e := newEnv(t)
	e.p.Limits = &Limits{MaxMailSize: 4096}
	big := simple("ana@cliente.example", "grande", "q1@x.example") + strings.Repeat("x", 5000)
	cases := map[string]string{
		"too large": big,
		"empty":     mailText("", "From: ana@cliente.example", "Date: Sun, 22 Nov 2026 08:00:00 +0000"),
		"not text":  "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR no header, not text",
		"binary":    "\x00\x01\x02\xff\xfe",
	}
	for name, raw := range cases {
		r := e.process("q/"+name, raw)
		expect(t, name, r.Outcome, Quarantined)
		// Again: not a second copy.
		e.process("q/"+name, raw)
	}
	list, err := e.st.QuarantinedMails(e.ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "kept once each", len(list), len(cases))
	full, _ := e.st.QuarantinedMailData(e.ctx, list[0].ID)
	if len(full.Raw) == 0 || full.Reason == "" {
		t.Fatalf("quarantined mail without bytes or reason: %+v", full)
	}
	// Text without any header line is the text of a mail from nobody.
	r := e.process("q/text", "just some text without any header line\r\n")
	expect(t, "text without header", r.Outcome, Created)
	// Processing goes on after a bad mail.
	expect(t, "next mail", e.process("ok", simple("ana@cliente.example", "bien", "q2@x.example")).Outcome, Created)
}

func TestBounceOfOurReply(t *testing.T) {
	e := newEnv(t)
	r := e.process("k1", simple("ana@cliente.example", "Falla", "b1@cliente.example"))
	arts := e.articles(r.Ticket.ID)
	ourID := arts[1].MessageID
	dsn := func(origID string) string {
		return mailText(`--b
Content-Type: text/plain

Delivery to ana@cliente.example failed.
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; ana@cliente.example
Action: failed
Status: 5.1.1
--b
Content-Type: text/rfc822-headers

From: support@example.net
Message-ID: <`+origID+`>
Subject: Re: Falla

--b--
`, "From: MAILER-DAEMON@mx.example.net", "To: support@example.net", "Subject: Undelivered Mail Returned to Sender",
			"Date: Sun, 22 Nov 2026 08:05:00 +0000", "Message-ID: <dsn-"+origID+">", "Return-Path: <>", "MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=delivery-status; boundary="b"`)
	}
	b := e.process("k2", dsn(ourID))
	expect(t, "bounce", b.Outcome, BounceAdded)
	expect(t, "to the ticket", b.Ticket.ID, r.Ticket.ID)
	expect(t, "no reply to a bounce", b.AutoResponse, Event(""))
	// A bounce of mail that is not ours (forged or foreign) is not
	// attached to any ticket by that id and gets no reply: it lands in
	// the bounce queue, with no customer.
	f := e.process("k3", dsn("tk."+r.Ticket.Number+".aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbb@support.example.net"))
	expect(t, "forged bounce", f.Outcome, Unmatched)
	expect(t, "no reply", f.AutoResponse, Event(""))
	expect(t, "no customer", f.Ticket.CustomerID, int64(0))
	expect(t, "bounce queue", e.queueName(f.Ticket.QueueID), "Bounces")
	m, _ := Parse([]byte(dsn(ourID)), nil)
	expect(t, "status", m.Bounce.Status, "5.1.1")
	expect(t, "recipient", m.Bounce.Recipients[0], "ana@cliente.example")
}

// TestPlainTextBounces: bounces without a DSN (qmail's failure notice,
// Exchange's Undeliverable with the returned mail attached) go to the
// ticket of our mail they quote, others to the bounce queue; a customer
// writing about an undelivered parcel is a customer.
func TestPlainTextBounces(t *testing.T) {
	e := newEnv(t)
	r := e.process("k1", simple("ana@cliente.example", "Falla", "b1@cliente.example"))
	ourID := e.articles(r.Ticket.ID)[1].MessageID
	qmail := mailText("Hi. This is the qmail-send program at mx.cliente.example.\r\n"+
		"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n"+
		"<ana@cliente.example>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"+
		"--- Below this line is a copy of the message.\r\n\r\nFrom: support@example.net\r\n"+
		"Message-ID: <"+ourID+">\r\nSubject: Re: Falla\r\n\r\nGracias.\r\n",
		"From: MAILER-DAEMON@mx.cliente.example", "To: support@example.net", "Subject: failure notice",
		"Date: Sun, 22 Nov 2026 08:05:00 +0000", "Message-ID: <q1@mx.cliente.example>")
	b := e.process("k2", qmail)
	expect(t, "qmail bounce", b.Outcome, BounceAdded)
	expect(t, "on the ticket", b.Ticket.ID, r.Ticket.ID)

	exchange := mailText("--b\r\nContent-Type: text/plain\r\n\r\nDelivery has failed to these recipients.\r\n"+
		"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@example.net\r\nMessage-ID: <"+ourID+">\r\n"+
		"Subject: Re: Falla\r\n\r\nGracias.\r\n--b--\r\n",
		"From: Microsoft Outlook <postmaster@cliente.example>", "To: support@example.net",
		"Subject: Undeliverable: Re: Falla", "Date: Sun, 22 Nov 2026 08:06:00 +0000", "Message-ID: <x1@cliente.example>",
		"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b"`)
	b = e.process("k3", exchange)
	expect(t, "exchange bounce", b.Outcome, BounceAdded)
	expect(t, "on the ticket", b.Ticket.ID, r.Ticket.ID)

	foreign := strings.ReplaceAll(qmail, ourID, "other@elsewhere.example")
	foreign = strings.ReplaceAll(foreign, "q1@mx", "q2@mx")
	u := e.process("k4", foreign)
	expect(t, "foreign bounce", u.Outcome, Unmatched)
	expect(t, "no reply", u.AutoResponse, Event(""))
	expect(t, "bounce queue", e.queueName(u.Ticket.QueueID), "Bounces")

	parcel := e.process("k5", simple("bob@cliente.example", "Undelivered parcel", "p1@cliente.example"))
	expect(t, "a customer", parcel.Outcome, Created)
	expect(t, "in the inbox", e.queueName(parcel.Ticket.QueueID), "Inbox")
	expect(t, "answered", parcel.AutoResponse, EventNewTicket)
}

func TestSendQueuedRetriesAndFailures(t *testing.T) {
	e := newEnv(t)
	e.process("k1", simple("ana@cliente.example", "uno", "s1@x.example"))
	e.process("k2", simple("bob@cliente.example", "dos", "s2@x.example"))
	snd := e.sender()
	e.sink.setFail(&smtpTempErr)
	n, err := e.p.SendQueued(e.ctx, snd, 0)
	if err == nil || n != 0 {
		t.Fatalf("temporary failure: n=%d err=%v", n, err)
	}
	q, _ := e.st.QueuedAutoResponses(e.ctx, 10)
	expect(t, "still queued", len(q), 2)
	expect(t, "attempt counted", q[0].Attempts, 1)
	e.sink.setFail(&smtpPermErr)
	n, err = e.p.SendQueued(e.ctx, snd, 0)
	if err != nil || n != 0 {
		t.Fatalf("permanent failure: n=%d err=%v", n, err)
	}
	q, _ = e.st.QueuedAutoResponses(e.ctx, 10)
	expect(t, "given up", len(q), 0)
	// A dead server: the error says so, the reply stays queued.
	e.process("k3", simple("carla@cliente.example", "tres", "s3@x.example"))
	dead := &SMTPSender{Addr: "127.0.0.1:1", TLS: PlainText}
	if _, err := e.p.SendQueued(e.ctx, dead, 0); err == nil {
		t.Fatal("no error from a dead server")
	}
	e.sink.setFail(nil)
	n, err = e.p.SendQueued(e.ctx, snd, 0)
	if err != nil || n != 1 {
		t.Fatalf("after recovery: n=%d err=%v", n, err)
	}
}

// TestQueueTemplates: a queue's own templates answer new tickets and
// follow-ups with the template variables; other queues keep the defaults.
func TestQueueTemplates(t *testing.T) {
	e := newEnv(t)
	e.p.Filters = []Filter{{SenderDomain: "vip.example", Queue: "VIP"}}
	e.p.Templates = map[string]map[Event]Template{
		"": DefaultTemplates,
		"VIP": {
			EventNewTicket: {Subject: "Recibido: {{.Subject}}", Body: "Hola {{.CustomerName}}, caso {{.TicketNumber}} en {{.Queue}}."},
			EventFollowUp:  {Subject: "{{.Subject}}", Body: "Sumamos su mensaje al caso {{.TicketNumber}} ({{.CustomerEmail}})."},
		},
	}
	r := e.process("k1", simple(`"Ana" <ana@vip.example>`, "Falla", "qt1@vip.example"))
	f := e.process("k2", simple("ana@vip.example", "Re: Falla", "qt2@vip.example", "In-Reply-To: <qt1@vip.example>"))
	o := e.process("k3", simple("bob@otro.example", "Hola", "qt3@otro.example"))
	expect(t, "new", r.AutoResponse, EventNewTicket)
	expect(t, "follow-up", f.AutoResponse, EventFollowUp)
	expect(t, "default queue", o.AutoResponse, EventNewTicket)
	if _, err := e.p.SendQueued(e.ctx, e.sender(), 0); err != nil {
		t.Fatal(err)
	}
	got := e.sink.received()
	expect(t, "sent", len(got), 3)
	texts := make([]string, len(got))
	for i, g := range got {
		m, _ := Parse(g.Data, nil)
		texts[i] = m.Subject + " | " + m.Text
	}
	n := r.Ticket.Number
	for i, want := range []string{
		"Recibido: Falla [Ticket#" + n + "] | Hola Ana, caso " + n + " en VIP.",
		"Re: Falla [Ticket#" + n + "] | Sumamos su mensaje al caso " + n + " (ana@vip.example).",
	} {
		if texts[i] != want {
			t.Fatalf("reply %d: %q, want %q", i, texts[i], want)
		}
	}
	if !strings.Contains(texts[2], "Dear bob@otro.example") {
		t.Fatalf("default template: %q", texts[2])
	}
	// A template that names an unknown variable is refused up front.
	bad := &Processor{Store: e.st, Domain: "x.example", Secret: e.p.Secret,
		Templates: map[string]map[Event]Template{"": {EventNewTicket: {Subject: "{{.Nope", Body: ""}}}}
	if _, err := bad.Process(e.ctx, Delivery{Raw: []byte(simple("a@x.example", "s", "qt4@x.example"))}); err == nil {
		t.Fatal("a broken template was accepted")
	}
}

// countingTx counts the transactions of a store.
type countingTx struct {
	store.Store
	txs atomic.Int64
}

func (c *countingTx) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	c.txs.Add(1)
	return c.Store.InTx(ctx, fn)
}

// TestProcessBatchInChunks: a batch larger than MaxBatch mails or
// MaxBatchBytes is parsed and stored chunk by chunk (its parsed form is
// never held whole), and every mail still gets its result, in order.
func TestProcessBatchInChunks(t *testing.T) {
	e := newEnv(t)
	ct := &countingTx{Store: e.st}
	e.p.Store = ct
	var ds []Delivery
	for i := range 250 {
		ds = append(ds, Delivery{SourceKey: fmt.Sprint("chunk/", i),
			Raw: []byte(simple(fmt.Sprintf("c%d@cliente.example", i), fmt.Sprint("pedido ", i), fmt.Sprintf("ch%d@x.example", i)))})
	}
	big := strings.Repeat("x", 6<<20)
	for i := range 5 { // 30 MB: three chunks by size
		ds = append(ds, Delivery{SourceKey: fmt.Sprint("big/", i), Raw: []byte(mailText(big,
			"From: big@cliente.example", fmt.Sprint("Subject: grande ", i), fmt.Sprintf("Message-ID: <big%d@x.example>", i)))})
	}
	rs, err := e.p.ProcessBatch(e.ctx, ds)
	require.NoError(t, err)
	require.Len(t, rs, len(ds))
	for i, r := range rs[:250] {
		require.Equal(t, Created, r.Outcome, "mail %d", i)
		assert.Equal(t, fmt.Sprint("pedido ", i), r.Ticket.Title)
	}
	for _, r := range rs[250:] {
		assert.NotEqual(t, Duplicate, r.Outcome)
	}
	// 100 + 100 small mails; the last 50 with two big ones (12 MB, a
	// third would pass 16 MB); two big ones; the last one alone (no
	// batch transaction: IngestMail is one).
	assert.Equal(t, int64(4), ct.txs.Load())
}
