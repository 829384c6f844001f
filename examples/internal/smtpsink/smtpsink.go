// Package smtpsink is an SMTP server on 127.0.0.1 for tests: it takes
// every mail and keeps it.
package smtpsink

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Sink keeps the mails it received. It is safe for concurrent use.
type Sink struct {
	mu    sync.Mutex
	mails [][]byte
}

// Start runs a sink until the test ends and returns it with its address.
func Start(t testing.TB) (*Sink, string) {
	t.Helper()
	s := &Sink{}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s, l.Addr().String()
}

// Mails returns the mails received so far, in order.
func (s *Sink) Mails() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.mails...)
}

// Count is how many mails it received.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mails)
}

// Last is the last mail received (nil before any).
func (s *Sink) Last() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mails) == 0 {
		return nil
	}
	return s.mails[len(s.mails)-1]
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(*smtp.Conn) (smtp.Session, error) { return session{s}, nil }

type session struct{ s *Sink }

func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (session) Reset()                               {}
func (session) Logout() error                        { return nil }
func (ss session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, b)
	ss.s.mu.Unlock()
	return nil
}
