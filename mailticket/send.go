package mailticket

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/switchboard-go/switchboard/internal/netutil"
	"github.com/switchboard-go/switchboard/store"
)

// Sender hands a mail to a mail server.
type Sender interface {
	// Send delivers msg from the envelope sender (from; "" is the null
	// sender) to the recipients. An error that is a *smtp.SMTPError with
	// a 5xx code is permanent; any other error is worth a retry.
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// TLSMode is how an SMTPSender secures its connection.
type TLSMode string

// TLS modes.
const (
	PlainText   TLSMode = "none"     // no TLS (tests, a local relay)
	StartTLS    TLSMode = "starttls" // STARTTLS, required
	ImplicitTLS TLSMode = "tls"      // TLS from the first byte (port 465)
)

// SMTPSender sends mail through an SMTP server with
// github.com/emersion/go-smtp: one connection per Send, AUTH PLAIN when a
// username is set (refused over an unencrypted connection to a host that
// is not loopback). It is safe for concurrent use.
type SMTPSender struct {
	Addr      string // host:port
	TLS       TLSMode
	TLSConfig *tls.Config
	Username  string
	Password  string
	// LocalName is the EHLO name ("localhost" if empty).
	LocalName string
	// Timeout bounds one Send when ctx has no deadline (1 minute if zero).
	Timeout time.Duration
}

// ParseSMTPURL reads smtp://user:pass@host:port (plain text, port 25 by
// default), smtp+starttls://... (STARTTLS required, port 587) or
// smtps://... (implicit TLS, port 465).
func ParseSMTPURL(raw string) (*SMTPSender, error) {
	sv, err := parseServerURL("SMTP", raw, scheme{"smtp", PlainText, "25"}, scheme{"smtp+starttls", StartTLS, "587"},
		scheme{"smtps", ImplicitTLS, "465"})
	if err != nil {
		return nil, err
	}
	return &SMTPSender{Addr: sv.addr, TLS: sv.mode, Username: sv.user, Password: sv.pass}, nil
}

// Send implements Sender.
func (s *SMTPSender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		t := s.Timeout
		if t <= 0 {
			t = time.Minute
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	if s.Username != "" && s.TLS == PlainText && !netutil.LoopbackHost(host) {
		return errors.New("mailticket: refusing to send a password without TLS to " + s.Addr)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cfg := s.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: host}
	}
	var c *smtp.Client
	switch s.TLS {
	case ImplicitTLS:
		c = smtp.NewClient(tls.Client(conn, cfg))
	case StartTLS:
		if c, err = smtp.NewClientStartTLS(conn, cfg); err != nil {
			conn.Close()
			return ctxErr(ctx, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	name := s.LocalName
	if name == "" {
		name = "localhost"
	}
	if err := c.Hello(name); err != nil {
		return ctxErr(ctx, err)
	}
	if s.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
			return ctxErr(ctx, err)
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return ctxErr(ctx, err)
	}
	return ctxErr(ctx, c.Quit())
}

func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// permanent reports whether a send error will not go away by retrying.
func permanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// MaxSendAttempts is how often a queued reply is tried before it is
// marked failed.
const MaxSendAttempts = 5

// SendClaimLease is how long a reply claimed by one sender is left alone
// by the others (processes sharing the store): a sender that dies while
// sending one leaves it to another after that. SendQueued claims one
// reply at a time, so that it never holds a claim it is not trying.
const SendClaimLease = 10 * time.Minute

// SendQueued sends the automatic replies waiting in the store's outbox
// (up to limit; 0 means 100), oldest first, each as one SMTP transaction
// with the null envelope sender (RFC 3834). Sent replies are marked sent;
// a permanent refusal or the last of MaxSendAttempts marks one failed;
// other errors leave it queued for the next call. It returns how many were sent. Any number of pollers, in any processes
// sharing the store, may call it at once: replies are claimed, so each
// is sent by one of them. A crash between a reply's hand-over and its
// mark sends it again after SendClaimLease (SMTP has no exactly-once);
// the reply keeps its Message-ID, so receivers can tell.
func (p *Processor) SendQueued(ctx context.Context, s Sender, limit int) (int, error) {
	if err := p.init(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = 100
	}
	// A Processor takes back its own claims (a reply whose mark failed):
	// its calls (a Poller's sources each make them) go one at a time.
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	sent := 0
	for tried := 0; tried < limit; {
		queued, err := p.Store.ClaimAutoResponses(ctx, p.name, 1, cmp.Or(p.ClaimLease, SendClaimLease))
		if err != nil || len(queued) == 0 {
			return sent, err
		}
		tried += len(queued)
		for _, r := range queued {
			if err := ctx.Err(); err != nil {
				return sent, err
			}
			err := s.Send(ctx, r.Sender, []string{r.Recipient}, r.Raw)
			state, text := store.AutoResponseSent, ""
			if err != nil {
				text = err.Error()
				state = store.AutoResponseQueued
				if permanent(err) || r.Attempts+1 >= MaxSendAttempts {
					state = store.AutoResponseFailed
				}
			}
			if merr := p.Store.MarkAutoResponse(ctx, r.ID, state, text); merr != nil {
				return sent, merr
			}
			if err == nil {
				sent++
			} else if !permanent(err) && ctx.Err() == nil {
				// The server is down or busy: later replies would fail too.
				return sent, fmt.Errorf("mailticket: sending reply %d: %w", r.ID, err)
			}
		}
	}
	return sent, nil
}
