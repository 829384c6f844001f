package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// mailFlags configure the mail-to-ticket channel.
type mailFlags struct {
	imap, pop3, maildir listFlag
	smtp                string
	once                bool
	address             string
	domain              string
	queue               string
	bounceQueue         string
	routes              listFlag
	noAutoResponse      bool
	interval            time.Duration
	notifySMS           listFlag
	authServID          string
}

func (f *mailFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.imap, "imap", "imap://user:pass@host:port/MAILBOX, imap+starttls://... or imaps://... (repeatable; ?action=seen|move|delete&move=FOLDER)")
	fs.Var(&f.pop3, "pop3", "pop3://user:pass@host:port, pop3+starttls://... or pop3s://... (repeatable; ?apop=1&keep=1)")
	fs.Var(&f.maildir, "maildir", "a Maildir to take mail from (repeatable)")
	fs.StringVar(&f.smtp, "smtp", "", "smtp://user:pass@host:port, smtp+starttls://... or smtps://... for automatic replies")
	fs.BoolVar(&f.once, "once", false, "process the mail sources once, print the summary line, exit")
	fs.StringVar(&f.address, "mail-address", "support@localhost", "our support address: From of replies, never answered")
	fs.StringVar(&f.domain, "mail-domain", "", "domain of our Message-IDs (default: the domain of -mail-address)")
	fs.StringVar(&f.queue, "mail-queue", "Inbox", "queue of tickets no route matches")
	fs.StringVar(&f.bounceQueue, "mail-bounce-queue", "Bounces", "queue of delivery reports on no mail of ours (never answered)")
	fs.Var(&f.routes, "mail-route", "DOMAIN=QUEUE: mail from this sender domain goes to QUEUE (repeatable)")
	fs.BoolVar(&f.noAutoResponse, "mail-no-autoresponse", false, "do not answer new tickets automatically")
	fs.DurationVar(&f.interval, "mail-interval", time.Minute, "poll interval of sources that cannot IDLE or be watched")
	fs.StringVar(&f.authServID, "mail-authserv-id", "", "trust the Authentication-Results headers of this receiving MTA: a sender failing DMARC (or SPF without DKIM) joins no ticket")
	fs.Var(&f.notifySMS, "mail-notify-sms", "a phone number told by SMS of new tickets and follow-ups (repeatable)")
}

func (f *mailFlags) enabled() bool { return len(f.imap)+len(f.pop3)+len(f.maildir) > 0 }

// processor builds the mail-to-ticket processor on st. gw, when not nil,
// sends the SMS notifications.
func (f *mailFlags) processor(st store.Store, dataDir string, gw *gateway.Gateway, log *slog.Logger) (*mailticket.Processor, error) {
	secret, err := sharedSecret(st, dataDir, "mail", log)
	if err != nil {
		return nil, err
	}
	domain := f.domain
	if domain == "" {
		if _, d, ok := strings.Cut(f.address, "@"); ok {
			domain = d
		}
	}
	p := &mailticket.Processor{Store: st, Domain: domain, Secret: secret, Addresses: []string{f.address},
		DefaultQueue: f.queue, BounceQueue: f.bounceQueue, DisableAutoResponses: f.noAutoResponse || f.smtp == "", AuthServID: f.authServID, Logger: log}
	for _, r := range f.routes {
		d, q, ok := strings.Cut(r, "=")
		if !ok || d == "" || q == "" {
			return nil, fmt.Errorf("-mail-route %q: want DOMAIN=QUEUE", r)
		}
		p.Filters = append(p.Filters, mailticket.Filter{Name: r, SenderDomain: d, Queue: q})
	}
	if len(f.notifySMS) > 0 && gw != nil {
		p.Notify = smsNotifier(gw, f.notifySMS, log)
	}
	return p, nil
}

// poller builds the mail poller on st. gw, when not nil, sends the SMS
// notifications.
func (f *mailFlags) poller(st store.Store, dataDir string, gw *gateway.Gateway, log *slog.Logger) (*mailticket.Poller, error) {
	p, err := f.processor(st, dataDir, gw, log)
	if err != nil {
		return nil, err
	}
	pl := &mailticket.Poller{Processor: p, Interval: f.interval,
		OnError: func(src mailticket.Source, err error) { log.Warn("mail source", "source", src.String(), "err", err) },
		OnResult: func(src mailticket.Source, r mailticket.Result) {
			log.Info("mail", "source", src.String(), "outcome", r.Outcome, "ticket", r.Ticket.Number, "reply", r.AutoResponse, "reason", r.Reason)
		}}
	if f.smtp != "" {
		s, err := mailticket.ParseSMTPURL(f.smtp)
		if err != nil {
			return nil, err
		}
		pl.Sender = s
	}
	known := func(ctx context.Context, key string) (bool, error) {
		_, err := st.MailReceipt(ctx, key, "")
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	for _, u := range f.imap {
		s, err := mailticket.ParseIMAPURL(u)
		if err != nil {
			return nil, err
		}
		pl.Sources = append(pl.Sources, s)
	}
	for _, u := range f.pop3 {
		s, err := mailticket.ParsePOP3URL(u)
		if err != nil {
			return nil, err
		}
		s.Known = known
		pl.Sources = append(pl.Sources, s)
	}
	for _, d := range f.maildir {
		pl.Sources = append(pl.Sources, &mailticket.Maildir{Dir: d})
	}
	return pl, nil
}

// smsNotifier queues one SMS per new ticket or follow-up to each number,
// through the gateway (idempotent per ticket event: a mail processed
// twice is one message).
func smsNotifier(gw *gateway.Gateway, numbers []string, log *slog.Logger) func(context.Context, mailticket.Notification) {
	return func(ctx context.Context, n mailticket.Notification) {
		if _, err := notifySMS(ctx, gw, numbers, n); err != nil {
			log.Warn("sms notification", "ticket", n.Ticket.Number, "err", err)
		}
	}
}

func notifySMS(ctx context.Context, gw *gateway.Gateway, numbers []string, n mailticket.Notification) (gateway.LoadReport, error) {
	text := fmt.Sprintf("Ticket %s (%s) %s from %s: %s", n.Ticket.Number, n.Queue, n.Outcome, n.From.Addr, n.Subject)
	if len(text) > 300 {
		text = text[:300]
	}
	var csv strings.Builder
	csv.WriteString("number,text,external_id\n")
	for _, num := range numbers {
		fmt.Fprintf(&csv, "%s,%q,%s\n", num, text, fmt.Sprintf("tk%s-%d-%s", n.Ticket.Number, n.Ticket.UpdatedAt.UnixMilli(), num))
	}
	return gw.LoadCSV(ctx, gateway.Batch{Client: "mailticket", Name: "agent-notifications", CSV: strings.NewReader(csv.String())})
}

// closeSources closes every source of pl.
func closeSources(pl *mailticket.Poller) {
	for _, s := range pl.Sources {
		s.Close()
	}
}

// runMailOnce processes every source once and prints the summary line.
func runMailOnce(ctx context.Context, pl *mailticket.Poller, stdout io.Writer) error {
	defer closeSources(pl)
	sum, err := pl.RunOnce(ctx)
	fmt.Fprintln(stdout, sum.String())
	return err
}
