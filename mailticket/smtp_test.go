package mailticket

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/switchboard-go/switchboard/internal/dovetest"
)

// authBackend is an SMTP server that demands AUTH PLAIN before MAIL.
type authBackend struct {
	mu  sync.Mutex
	got []string // "user:recipient"
}

func (b *authBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &authSession{b: b}, nil }

type authSession struct {
	b    *authBackend
	user string
	to   string
}

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "relay" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.user = user
		return nil
	}), nil
}
func (s *authSession) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *authSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *authSession) Reset()                                    {}
func (s *authSession) Logout() error                             { return nil }
func (s *authSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.got = append(s.b.got, s.user+":"+s.to)
	s.b.mu.Unlock()
	return nil
}

func TestSMTPSenderTLSAndAuth(t *testing.T) {
	serverTLS, clientTLS, err := dovetest.SelfSignedTLS()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("From: support@example.net\r\nTo: ana@x.example\r\nSubject: hi\r\n\r\nhi\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, mode := range []TLSMode{StartTLS, ImplicitTLS} {
		t.Run(string(mode), func(t *testing.T) {
			b := &authBackend{}
			srv := smtp.NewServer(b)
			srv.Domain = "localhost"
			srv.TLSConfig = serverTLS
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if mode == ImplicitTLS {
				l = tls.NewListener(l, serverTLS)
			}
			go srv.Serve(l)
			defer srv.Close()
			s := &SMTPSender{Addr: l.Addr().String(), TLS: mode, TLSConfig: clientTLS, Username: "relay", Password: "s3cret"}
			if err := s.Send(ctx, "", []string{"ana@x.example"}, msg); err != nil {
				t.Fatal(err)
			}
			bad := *s
			bad.Password = "wrong"
			if err := bad.Send(ctx, "", []string{"ana@x.example"}, msg); err == nil {
				t.Fatal("sent with a wrong password")
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if len(b.got) != 1 || b.got[0] != "relay:ana@x.example" {
				t.Fatalf("received %v", b.got)
			}
		})
	}
	// A password is never sent in plain text to another host (refused
	// before any connection is made).
	s := &SMTPSender{Addr: "192.0.2.1:25", TLS: PlainText, Username: "u", Password: "p"}
	if err := s.Send(ctx, "", []string{"a@x.example"}, msg); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("plain text to a remote host: %v", err)
	}
}

func TestParseURLs(t *testing.T) {
	i, err := ParseIMAPURL("imaps://u%40x:p%3Aw@mail.example:1993/Soporte?action=move&move=Done&quarantine=Bad&auth=plain")
	if err != nil {
		t.Fatal(err)
	}
	if i.Addr != "mail.example:1993" || i.Username != "u@x" || i.Password != "p:w" || i.Mailbox != "Soporte" ||
		i.Action != MoveTo || i.MoveMailbox != "Done" || i.QuarantineMailbox != "Bad" || i.Auth != "plain" || i.TLS != ImplicitTLS {
		t.Fatalf("imap %+v", i)
	}
	if _, err := ParseIMAPURL("imap://h/INBOX?action=move"); err == nil {
		t.Fatal("move without folder accepted")
	}
	p, err := ParsePOP3URL("pop3s://u:p@mail.example?apop=1&keep=1")
	if err != nil || p.Addr != "mail.example:995" || !p.APOP || !p.Keep || p.TLS != ImplicitTLS {
		t.Fatalf("pop3 %+v %v", p, err)
	}
	s, err := ParseSMTPURL("smtp+starttls://u:p@mail.example")
	if err != nil || s.Addr != "mail.example:587" || s.TLS != StartTLS || s.Username != "u" {
		t.Fatalf("smtp %+v %v", s, err)
	}
	for _, bad := range []string{"http://x", "imapx://x"} {
		if _, err := ParseIMAPURL(bad); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
}

func TestXOAUTH2InitialResponse(t *testing.T) {
	c := NewXOAUTH2Client("ana@example.net", "ya29.token")
	mech, ir, err := c.Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=ana@example.net\x01auth=Bearer ya29.token\x01\x01" {
		t.Fatalf("%s %q %v", mech, ir, err)
	}
	// The server's error challenge is answered with an empty response.
	resp, err := c.Next([]byte(`{"status":"401"}`))
	if err != nil || len(resp) != 0 {
		t.Fatalf("%q %v", resp, err)
	}
}
