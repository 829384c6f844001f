package mailticket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/switchboard-go/switchboard/internal/testmain"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/postgres/pgtest"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

var pg pgtest.Shared

func TestMain(m *testing.M) {
	testmain.Run(m, pg.Stop)
}

// sink is an SMTP server that keeps what it receives.
type sink struct {
	mu    sync.Mutex
	mails []sunk
	fail  error // returned from DATA when set
	srv   *smtp.Server
	addr  string
}

type sunk struct {
	From string
	To   []string
	Data []byte
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

func (s *sink) received() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.mails...)
}

func (s *sink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

type sinkSession struct {
	s    *sink
	from string
	to   []string
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.fail != nil {
		return ss.s.fail
	}
	ss.s.mails = append(ss.s.mails, sunk{From: ss.from, To: ss.to, Data: b})
	return nil
}

// env is a processor over a fresh SQLite store.
type env struct {
	t     *testing.T
	ctx   context.Context
	st    store.Store
	p     *Processor
	sink  *sink
	now   time.Time
	clock sync.Mutex
}

// newEnv is a processor on a fresh SQLite database.
func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mail.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, st)
}

// newPGEnv is a processor on a fresh PostgreSQL schema.
func newPGEnv(t *testing.T) *env {
	t.Helper()
	st, err := postgres.Open(context.Background(), pg.Schema(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, st)
}

func newEnvOn(t *testing.T, st store.Store) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, ctx: ctx, st: st, now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	e.p = &Processor{
		Store:     st,
		Domain:    "support.example.net",
		Secret:    []byte("0123456789abcdef0123456789abcdef"),
		Addresses: []string{"support@example.net", "help@example.net"},
		Name:      "Example Support",
		Now:       e.clock1,
	}
	return e
}

// clock1 advances one second per call so times order like real mail.
func (e *env) clock1() time.Time {
	e.clock.Lock()
	defer e.clock.Unlock()
	e.now = e.now.Add(time.Second)
	return e.now
}

func (e *env) process(key string, raw string) Result {
	e.t.Helper()
	r, err := e.p.Process(e.ctx, Delivery{SourceKey: key, Raw: []byte(raw)})
	if err != nil {
		e.t.Fatalf("process %s: %v", key, err)
	}
	return r
}

func (e *env) sender() *SMTPSender {
	if e.sink == nil {
		e.sink = newSink(e.t)
	}
	return &SMTPSender{Addr: e.sink.addr, TLS: PlainText, Timeout: 10 * time.Second}
}

func (e *env) tickets() []store.Ticket {
	e.t.Helper()
	ts, err := e.st.Tickets(e.ctx, store.TicketFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

func (e *env) queueName(id int64) string {
	e.t.Helper()
	qs, err := e.st.Queues(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, q := range qs {
		if q.ID == id {
			return q.Name
		}
	}
	return ""
}

func (e *env) articles(id int64) []store.Article {
	e.t.Helper()
	as, err := e.st.Articles(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return as
}

// mailText builds a mail from header lines and a body, CRLF-terminated.
func mailText(body string, headers ...string) string {
	var b strings.Builder
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return b.String()
}

// simple is a plain customer mail.
func simple(from, subject, msgID string, extra ...string) string {
	h := append([]string{"From: " + from, "To: support@example.net", "Subject: " + subject,
		"Date: Sun, 22 Nov 2026 08:00:00 +0000", "Message-ID: <" + msgID + ">"}, extra...)
	return mailText("Hello,\nthe service is down since this morning.\n", h...)
}

func expect[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func headerOf(t *testing.T, raw []byte, key string) string {
	t.Helper()
	m, err := Parse(raw, nil)
	if err != nil {
		t.Fatalf("parse sent mail: %v\n%s", err, raw)
	}
	return m.Header.Get(key)
}

func writeMaildir(t *testing.T, dir string, mails ...string) {
	t.Helper()
	for _, d := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range mails {
		name := fmt.Sprintf("%d.%d.test", time.Now().UnixNano(), i)
		if err := os.WriteFile(filepath.Join(dir, "new", name), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var errInjected = errors.New("injected failure")

var _ = bytes.Contains

var (
	smtpTempErr = smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	smtpPermErr = smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected"}
)
