package mailticket

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/switchboard-go/switchboard/store"
)

// ReminderDue is the Outcome of a Notification for a pending ticket whose
// reminder time came (see Processor.Remind).
const ReminderDue Outcome = "reminder"

// ErrNoRecipient is Reply's error for a ticket with no address to answer
// (no customer, and no inbound mail from a person).
var ErrNoRecipient = errors.New("mailticket: no customer address to reply to")

// Reply sends an agent's answer to a ticket's customer and stores it as
// an outbound article by agentID (the ticket's first response, if it had
// none; a new ticket becomes open). The mail answers the ticket's latest
// inbound article (In-Reply-To, References, "Re: " subject with the tag)
// and carries one of our Message-IDs, so the customer's answer threads
// back. The mail is sent first, with our first address as envelope sender;
// if sending fails nothing is stored.
func (p *Processor) Reply(ctx context.Context, s Sender, ticketID, agentID int64, text string) (store.Article, error) {
	if err := p.init(); err != nil {
		return store.Article{}, err
	}
	if len(p.Addresses) == 0 {
		return store.Article{}, errors.New("mailticket: Processor.Addresses is empty: no address to reply from")
	}
	t, err := p.Store.Ticket(ctx, ticketID)
	if err != nil {
		return store.Article{}, err
	}
	arts, err := p.Store.Articles(ctx, ticketID)
	if err != nil {
		return store.Article{}, err
	}
	// The customer's latest mail: not a delivery report or other robot's
	// mail that landed on the ticket (an answer to a mailer daemon reaches
	// nobody).
	var last *store.Article
	for i := len(arts) - 1; i >= 0; i-- {
		if arts[i].Direction == store.Inbound && noReplyAddress(firstAddress(arts[i].From).Addr) == "" {
			last = &arts[i]
			break
		}
	}
	var to Address
	subject := t.Title
	var refs []string
	inReplyTo := ""
	if last != nil {
		to = firstAddress(last.From)
		subject = last.Subject
		refs = answerReferences(last.References, "", last.MessageID)
		inReplyTo = last.MessageID
	}
	if to.Addr == "" && t.CustomerID != 0 {
		c, err := p.Store.Customer(ctx, t.CustomerID)
		if err != nil {
			return store.Article{}, err
		}
		to = Address{Name: c.Name, Addr: c.Email}
	}
	if to.Addr == "" {
		return store.Article{}, fmt.Errorf("%w: ticket %s", ErrNoRecipient, t.Number)
	}
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	now := p.now()
	out := &outgoing{
		From:       Address{Name: p.Name, Addr: strings.ToLower(p.Addresses[0])},
		To:         to,
		Subject:    p.taggedSubject(subject, t.Number),
		Body:       text,
		MessageID:  newMessageID(p.Secret, t.Number, p.Domain),
		InReplyTo:  inReplyTo,
		References: refs,
		Date:       now,
		LoopToken:  p.loopToken(),
	}
	if err := s.Send(ctx, out.From.Addr, []string{to.Addr}, out.bytes()); err != nil {
		return store.Article{}, err
	}
	a := replyArticle(out)
	a.TicketID, a.AgentID = ticketID, agentID
	if err := p.Store.AddArticle(ctx, a, nil); err != nil {
		return store.Article{}, fmt.Errorf("mailticket: the reply was sent but not stored: %w", err)
	}
	if t.State == store.TicketNew {
		if err := p.Store.SetTicketState(ctx, ticketID, store.TicketOpen, agentID, now); err != nil {
			return *a, err
		}
	}
	return *a, nil
}

// RenderAnswer executes an agent's answer template (text/template source,
// with [TemplateData]: the ticket's number, its title as Subject, its
// customer and queue, and the agent's name) for a ticket, for Reply to
// send. A variable the data lacks is an error, not an empty string.
func (p *Processor) RenderAnswer(ctx context.Context, ticketID, agentID int64, source string) (string, error) {
	tpl, err := template.New("answer").Option("missingkey=error").Parse(source)
	if err != nil {
		return "", fmt.Errorf("mailticket: answer template: %w", err)
	}
	t, err := p.Store.Ticket(ctx, ticketID)
	if err != nil {
		return "", err
	}
	data := TemplateData{TicketNumber: t.Number, Subject: t.Title}
	if t.CustomerID != 0 {
		c, err := p.Store.Customer(ctx, t.CustomerID)
		if err != nil {
			return "", err
		}
		data.CustomerName, data.CustomerEmail = cmp.Or(c.Name, c.Email), c.Email
	}
	qs, err := p.Store.Queues(ctx)
	if err != nil {
		return "", err
	}
	for _, q := range qs {
		if q.ID == t.QueueID {
			data.Queue = q.Name
		}
	}
	if agentID != 0 {
		as, err := p.Store.Agents(ctx)
		if err != nil {
			return "", err
		}
		for _, a := range as {
			if a.ID == agentID {
				data.AgentName = cmp.Or(a.Name, a.Email)
			}
		}
	}
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("mailticket: answer template: %w", err)
	}
	return b.String(), nil
}

// Remind opens again every pending ticket whose reminder time has come
// and tells Notify (Outcome ReminderDue). It returns the tickets reminded.
// Poller.Run calls it after every round.
func (p *Processor) Remind(ctx context.Context) ([]store.Ticket, error) {
	if err := p.init(); err != nil {
		return nil, err
	}
	p.remindMu.Lock()
	defer p.remindMu.Unlock()
	now := p.now()
	due, err := p.Store.DueReminders(ctx, now, 100)
	if err != nil {
		return nil, err
	}
	for i, t := range due {
		if err := p.Store.SetTicketState(ctx, t.ID, store.TicketOpen, 0, now); err != nil {
			return due[:i], err
		}
		if p.Notify != nil {
			p.mu.Lock()
			q, _ := p.queueNameOf(ctx, p.Store, t.QueueID)
			p.mu.Unlock()
			p.Notify(ctx, Notification{Outcome: ReminderDue, Ticket: t, Queue: q, Subject: t.Title})
		}
	}
	return due, nil
}
