package mailticket

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"text/template"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Event is what an automatic reply answers.
type Event string

// Auto-response events.
const (
	EventNewTicket Event = "new"      // a ticket was created from the mail
	EventFollowUp  Event = "followup" // the mail was added to an existing ticket
	EventReject    Event = "reject"   // a follow-up to a closed ticket of a queue that rejects them
)

// Template is an automatic reply: text/template sources for the subject
// and the plain-text body, executed with [TemplateData]. The subject tag
// ([Ticket#NUMBER]) is added to the subject when the template leaves it out.
type Template struct {
	Subject string
	Body    string
}

// TemplateData are the variables of a template.
type TemplateData struct {
	TicketNumber  string
	Subject       string // of the customer's mail
	CustomerName  string // the display name, or the address when there is none
	CustomerEmail string
	Queue         string
	AgentName     string // in an agent's answer (RenderAnswer); "" in automatic replies
}

// DefaultTemplates answer new tickets (what a help desk does out of the
// box) and rejected follow-ups.
var DefaultTemplates = map[Event]Template{
	EventNewTicket: {
		Subject: "Re: {{.Subject}}",
		Body: `Dear {{.CustomerName}},

thank you for writing to us. Your request has been received as ticket
{{.TicketNumber}} in our {{.Queue}} queue; we will answer as soon as we can.

Please keep the ticket number in the subject when you write about this
request again.
`,
	},
	EventReject: {
		Subject: "Re: {{.Subject}}",
		Body: `Dear {{.CustomerName}},

ticket {{.TicketNumber}} is closed and does not take further messages.
Please write a new mail (without the ticket number in the subject) to open
a new request.
`,
	},
}

type compiled struct {
	subject, body *template.Template
}

func compile(name string, t Template) (compiled, error) {
	s, err := template.New(name + ".subject").Option("missingkey=error").Parse(t.Subject)
	if err != nil {
		return compiled{}, fmt.Errorf("mailticket: template %s: %w", name, err)
	}
	b, err := template.New(name + ".body").Option("missingkey=error").Parse(t.Body)
	if err != nil {
		return compiled{}, fmt.Errorf("mailticket: template %s: %w", name, err)
	}
	return compiled{s, b}, nil
}

// outgoing is a mail we send.
type outgoing struct {
	From, To   Address
	Subject    string
	Body       string
	MessageID  string
	InReplyTo  string
	References []string
	Date       time.Time
	Automatic  bool // an auto-reply: RFC 3834 headers
	LoopToken  string
}

// maxReferences bounds the References we carry forward.
const maxReferences = 20

// answerReferences are the References of an answer to a message with
// these References, In-Reply-To and Message-ID (RFC 5322 3.6.4: the
// parent's References, or else its In-Reply-To, then its Message-ID),
// bounded by maxReferences.
func answerReferences(refs []string, inReplyTo, messageID string) []string {
	out := make([]string, 0, len(refs)+1)
	for _, r := range refs {
		if r != "" {
			out = append(out, r)
		}
	}
	if len(out) == 0 && inReplyTo != "" {
		out = append(out, inReplyTo)
	}
	if messageID != "" {
		out = append(out, messageID)
	}
	return trimIDs(out, maxReferences)
}

// trimIDs keeps the first id of a long list and the newest, max in all
// (RFC 5322's advice for long threads).
func trimIDs(ids []string, max int) []string {
	if len(ids) > max {
		ids = append(ids[:1], ids[len(ids)-max+1:]...)
	}
	return ids
}

// bytes renders the mail: UTF-8 text, quoted-printable, CRLF line ends.
func (o *outgoing) bytes() []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", o.From.String())
	hdr("To", o.To.String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", o.Subject))
	hdr("Date", o.Date.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+o.MessageID+">")
	if o.InReplyTo != "" {
		hdr("In-Reply-To", "<"+o.InReplyTo+">")
	}
	if len(o.References) > 0 {
		// One reference per line, folded, so no line passes 998 octets.
		b.WriteString("References:")
		for i, r := range o.References {
			if i > 0 {
				b.WriteString("\r\n")
			}
			b.WriteString(" <" + r + ">")
		}
		b.WriteString("\r\n")
	}
	if o.Automatic {
		hdr("Auto-Submitted", "auto-replied")
		hdr("X-Auto-Response-Suppress", "All")
		hdr("Precedence", "auto_reply")
	}
	hdr("X-Loop", o.LoopToken)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `text/plain; charset="utf-8"`)
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(o.Body, "\r\n", "\n"), "\n", "\r\n")))
	_ = qp.Close()
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// subjectTag is "[Ticket#NUMBER]" with the processor's hook.
func (p *Processor) subjectTag(number string) string { return "[" + p.hook() + number + "]" }

// taggedSubject adds the tag unless the subject has it.
func (p *Processor) taggedSubject(subject, number string) string {
	tag := p.subjectTag(number)
	if strings.Contains(subject, tag) {
		return subject
	}
	return strings.TrimSpace(subject + " " + tag)
}

// render executes the template of (queue, event) for a ticket.
func (p *Processor) render(queue string, ev Event, data TemplateData) (Template, bool, error) {
	t, ok := p.template(queue, ev)
	if !ok {
		return Template{}, false, nil
	}
	var s, b strings.Builder
	if err := t.subject.Execute(&s, data); err != nil {
		return Template{}, false, fmt.Errorf("mailticket: template %s/%s: %w", queue, ev, err)
	}
	if err := t.body.Execute(&b, data); err != nil {
		return Template{}, false, fmt.Errorf("mailticket: template %s/%s: %w", queue, ev, err)
	}
	return Template{Subject: collapse(s.String()), Body: b.String()}, true, nil
}

// replyArticle is the stored copy of an outgoing mail.
func replyArticle(o *outgoing) *store.Article {
	return &store.Article{
		Direction:  store.Outbound,
		MessageID:  o.MessageID,
		InReplyTo:  o.InReplyTo,
		References: o.References,
		From:       o.From.String(),
		To:         o.To.String(),
		Subject:    o.Subject,
		TextBody:   o.Body,
		Date:       o.Date,
		CreatedAt:  o.Date,
	}
}
