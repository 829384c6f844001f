package mailticket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/switchboard-go/switchboard/internal/dovetest"
	"github.com/switchboard-go/switchboard/store"
)

// scenarioMails are four mails: two good ones (one with an attachment),
// one larger than the sources' 64 KiB limit and one that is not a mail.
func scenarioMails() [][]byte {
	big := simple("ana@cliente.example", "grande", "s-big@x.example") + strings.Repeat("z", 70<<10) + "\r\n"
	attach := mailText(`--XX
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

La impresora no funciona, adjunto foto. Se=F1or
--XX
Content-Type: image/png; name="=?UTF-8?Q?foto_se=C3=B1al.png?="
Content-Disposition: attachment; filename*=UTF-8''foto%20se%C3%B1al.png
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
--XX--
`, "From: Bob <bob@cliente.example>", "To: support@example.net", "Subject: =?ISO-8859-1?Q?Impresi=F3n?=",
		"Date: Sun, 22 Nov 2026 08:00:00 +0000", "Message-ID: <s-att@x.example>", "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="XX"`)
	return [][]byte{
		[]byte(simple("ana@cliente.example", "Servicio caído", "s-a@x.example")),
		[]byte(attach),
		[]byte(big),
		[]byte("\x00\x01 not a mail at all\r\n"),
	}
}

// runScenario delivers the scenario's mails, runs one poll, checks what
// was stored and sent, and that a second poll finds nothing new.
func runScenario(t *testing.T, src Source, deliver func(raw []byte)) *env {
	t.Helper()
	e := newEnv(t)
	for _, m := range scenarioMails() {
		deliver(m)
	}
	pl := &Poller{Processor: e.p, Sources: []Source{src}, Sender: e.sender()}
	sum, err := pl.RunOnce(e.ctx)
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	want := Summary{Fetched: 4, Created: 2, Quarantined: 2, AutoResponses: 2}
	if sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	ts := e.tickets()
	var att *store.TicketAttachment
	for _, tk := range ts {
		for _, a := range e.articles(tk.ID) {
			if a.Subject == "Impresión" {
				if !strings.Contains(a.TextBody, "Señor") {
					t.Fatalf("latin-1 body: %q", a.TextBody)
				}
				atts, err := e.st.TicketAttachments(e.ctx, a.ID)
				if err != nil || len(atts) != 1 {
					t.Fatalf("attachments: %v %v", atts, err)
				}
				att = &atts[0]
			}
		}
	}
	if att == nil || att.Name != "foto señal.png" || att.MediaType != "image/png" {
		t.Fatalf("attachment: %+v", att)
	}
	q, _ := e.st.QuarantinedMails(e.ctx, 0, 10)
	if len(q) != 2 {
		t.Fatalf("quarantined %d", len(q))
	}
	if got := len(e.sink.received()); got != 2 {
		t.Fatalf("replies sent: %d", got)
	}
	sum, err = pl.RunOnce(e.ctx)
	if err != nil || sum.Fetched != 0 {
		t.Fatalf("second poll: %+v %v", sum, err)
	}
	return e
}

func TestMaildirSource(t *testing.T) {
	dir := t.TempDir()
	writeMaildir(t, dir)
	qdir := filepath.Join(t.TempDir(), "Quarantine")
	src := &Maildir{Dir: dir, MaxSize: 64 << 10, QuarantineDir: qdir}
	i := 0
	runScenario(t, src, func(raw []byte) {
		i++
		name := filepath.Join(dir, "new", "100"+string(rune('0'+i))+".test")
		if err := os.WriteFile(name, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	left, _ := os.ReadDir(filepath.Join(dir, "new"))
	cur, _ := os.ReadDir(filepath.Join(dir, "cur"))
	aside, _ := os.ReadDir(filepath.Join(qdir, "new"))
	if len(left) != 0 || len(cur) != 2 || len(aside) != 2 || !strings.HasSuffix(cur[0].Name(), ":2,S") {
		t.Fatalf("new=%d cur=%d quarantine=%d", len(left), len(cur), len(aside))
	}
}

type literal struct{ *bytes.Reader }

// memIMAP serves go-imap's in-memory server on loopback.
func memIMAP(t *testing.T, caps imap.CapSet) (addr string, user *imapmemserver.User) {
	t.Helper()
	mem := imapmemserver.New()
	user = imapmemserver.NewUser("alice", "secret")
	for _, mb := range []string{"INBOX", "Processed"} {
		if err := user.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), user
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

func TestIMAPMemServer(t *testing.T) {
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapMove: {}, imap.CapUIDPlus: {}, imap.CapIdle: {}}
	for _, action := range []IMAPAction{MarkSeen, MoveTo, DeleteMail} {
		t.Run(string(action), func(t *testing.T) {
			addr, user := memIMAP(t, caps)
			src := &IMAP{Addr: addr, TLS: PlainText, Username: "alice", Password: "secret", Action: action,
				MoveMailbox: "Processed", MaxSize: 64 << 10, BatchSize: 3}
			defer src.Close()
			runScenario(t, src, func(raw []byte) {
				if _, err := user.Append("INBOX", literal{bytes.NewReader(raw)}, &imap.AppendOptions{}); err != nil {
					t.Fatal(err)
				}
			})
			inbox, _ := user.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true})
			moved, _ := user.Status("Processed", &imap.StatusOptions{NumMessages: true})
			switch action {
			case MarkSeen:
				expect(t, "inbox", *inbox.NumMessages, uint32(4))
				expect(t, "unseen", *inbox.NumUnseen, uint32(0))
			case MoveTo:
				expect(t, "inbox", *inbox.NumMessages, uint32(0))
				expect(t, "moved", *moved.NumMessages, uint32(4))
			case DeleteMail:
				expect(t, "inbox", *inbox.NumMessages, uint32(0))
				expect(t, "moved", *moved.NumMessages, uint32(0))
			}
		})
	}
}

// TestIMAPMoveNeedsUIDCommands: a server without MOVE and UIDPLUS cannot
// move mail safely; the source refuses and the mail stays unprocessed in
// the mailbox (the tickets are stored; the next fetch finds duplicates).
func TestIMAPMoveNeedsUIDCommands(t *testing.T) {
	addr, user := memIMAP(t, imap.CapSet{imap.CapIMAP4rev1: {}})
	e := newEnv(t)
	if _, err := user.Append("INBOX", literal{bytes.NewReader([]byte(simple("a@x.example", "hola", "mv@x.example")))}, &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	src := &IMAP{Addr: addr, Username: "alice", Password: "secret", Action: MoveTo, MoveMailbox: "Processed"}
	defer src.Close()
	pl := &Poller{Processor: e.p, Sources: []Source{src}}
	if _, err := pl.RunOnce(e.ctx); err == nil || !strings.Contains(err.Error(), "neither MOVE nor UIDPLUS") {
		t.Fatalf("err = %v", err)
	}
	inbox, _ := user.Status("INBOX", &imap.StatusOptions{NumMessages: true})
	expect(t, "still in inbox", *inbox.NumMessages, uint32(1))
}

func TestDovecotIMAP(t *testing.T) {
	dv := dovetest.Start(t, map[string]string{"alice": "secret", "bob": "secret2"})
	cases := []struct {
		name string
		src  func() *IMAP
	}{
		{"plain login seen", func() *IMAP { return &IMAP{Addr: dv.IMAP, Username: "alice", Password: "secret"} }},
		{"starttls auth plain move", func() *IMAP {
			return &IMAP{Addr: dv.IMAP, TLS: StartTLS, TLSConfig: dv.TLSConfig(), Auth: "plain", Username: "alice",
				Password: "secret", Action: MoveTo, MoveMailbox: "Processed"}
		}},
		{"imaps auth-login delete quarantine aside", func() *IMAP {
			return &IMAP{Addr: dv.IMAPS, TLS: ImplicitTLS, TLSConfig: dv.TLSConfig(), Auth: "auth-login", Username: "alice",
				Password: "secret", Action: DeleteMail, QuarantineMailbox: "Quarantine"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearMaildir(t, dv.Maildir("alice"))
			src := c.src()
			src.MaxSize, src.BatchSize = 64<<10, 3
			for _, mb := range []string{src.MoveMailbox, src.QuarantineMailbox} {
				if mb != "" {
					createMailbox(t, dv, mb)
				}
			}
			defer src.Close()
			runScenario(t, src, func(raw []byte) { dv.Deliver(t, "alice", raw) })
			if src.QuarantineMailbox != "" {
				expect(t, "mails moved aside", mailboxCount(t, dv, src.QuarantineMailbox), uint32(2))
				expect(t, "inbox", mailboxCount(t, dv, "INBOX"), uint32(0))
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		src := &IMAP{Addr: dv.IMAP, Username: "alice", Password: "nope"}
		defer src.Close()
		e := newEnv(t)
		if _, err := (&Poller{Processor: e.p, Sources: []Source{src}}).RunOnce(e.ctx); err == nil {
			t.Fatal("logged in with a wrong password")
		}
	})
	t.Run("idle wakes on new mail", func(t *testing.T) {
		src := &IMAP{Addr: dv.IMAP, Username: "bob", Password: "secret2"}
		defer src.Close()
		e := newEnv(t)
		if err := src.Fetch(e.ctx, func(_ context.Context, ds []Delivery) ([]Result, error) { return make([]Result, len(ds)), nil }); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(300 * time.Millisecond)
			dv.Deliver(t, "bob", []byte(simple("a@x.example", "idle", "idle@x.example")))
		}()
		start := time.Now()
		if err := src.Wait(e.ctx, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("IDLE did not wake: %v", d)
		}
		n := 0
		if err := src.Fetch(e.ctx, func(_ context.Context, ds []Delivery) ([]Result, error) {
			n += len(ds)
			return make([]Result, len(ds)), nil
		}); err != nil || n != 1 {
			t.Fatalf("fetch after idle: %d %v", n, err)
		}
	})
	t.Run("watchdog ends a blocked wait", func(t *testing.T) {
		src := &IMAP{Addr: dv.IMAP, Username: "bob", Password: "secret2"}
		defer src.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_ = src.Wait(ctx, time.Minute)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Wait ignored ctx for %v", d)
		}
	})
}

// aliceIMAP is a logged-in IMAP client of the user alice.
func aliceIMAP(t *testing.T, dv *dovetest.Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(dv.IMAP, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("alice", "secret").Wait(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

func createMailbox(t *testing.T, dv *dovetest.Server, name string) {
	t.Helper()
	c := aliceIMAP(t, dv)
	defer c.Close()
	_ = c.Create(name, nil).Wait() // exists from an earlier run: fine
}

func mailboxCount(t *testing.T, dv *dovetest.Server, name string) uint32 {
	t.Helper()
	c := aliceIMAP(t, dv)
	defer c.Close()
	st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return *st.NumMessages
}

func clearMaildir(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			os.Remove(filepath.Join(dir, sub, e.Name()))
		}
	}
}

func TestDovecotPOP3(t *testing.T) {
	dv := dovetest.Start(t, map[string]string{"alice": "secret"})
	cases := []struct {
		name string
		src  *POP3
	}{
		{"user pass", &POP3{Addr: dv.POP3, Username: "alice", Password: "secret"}},
		{"apop", &POP3{Addr: dv.POP3, Username: "alice", Password: "secret", APOP: true}},
		{"stls", &POP3{Addr: dv.POP3, TLS: StartTLS, TLSConfig: dv.TLSConfig(), Username: "alice", Password: "secret"}},
		{"pop3s", &POP3{Addr: dv.POP3S, TLS: ImplicitTLS, TLSConfig: dv.TLSConfig(), Username: "alice", Password: "secret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearMaildir(t, dv.Maildir("alice"))
			c.src.MaxSize = 64 << 10
			runScenario(t, c.src, func(raw []byte) { dv.Deliver(t, "alice", raw) })
			left, _ := os.ReadDir(filepath.Join(dv.Maildir("alice"), "cur"))
			nw, _ := os.ReadDir(filepath.Join(dv.Maildir("alice"), "new"))
			if len(left)+len(nw) != 0 {
				t.Fatalf("mail left on the server: %d", len(left)+len(nw))
			}
		})
	}
	t.Run("keep with known keys", func(t *testing.T) {
		clearMaildir(t, dv.Maildir("alice"))
		e := newEnv(t)
		for _, m := range scenarioMails()[:2] {
			dv.Deliver(t, "alice", m)
		}
		downloads := 0
		src := &POP3{Addr: dv.POP3, Username: "alice", Password: "secret", Keep: true,
			Known: func(ctx context.Context, key string) (bool, error) {
				_, err := e.st.MailReceipt(ctx, key, "")
				return err == nil, nil
			}}
		pl := &Poller{Processor: e.p, Sources: []Source{src}, OnResult: func(Source, Result) { downloads++ }}
		if _, err := pl.RunOnce(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := pl.RunOnce(e.ctx); err != nil {
			t.Fatal(err)
		}
		expect(t, "downloads", downloads, 2)
		expect(t, "tickets", len(e.tickets()), 2)
	})
	t.Run("wrong password", func(t *testing.T) {
		e := newEnv(t)
		src := &POP3{Addr: dv.POP3, Username: "alice", Password: "nope"}
		_, err := (&Poller{Processor: e.p, Sources: []Source{src}}).RunOnce(e.ctx)
		if err == nil || !strings.Contains(err.Error(), "-ERR") {
			t.Fatalf("err = %v", err)
		}
	})
}

// IMAP hands batches over in order while the next one downloads; when the
// handler fails, the mails of the batches it committed are acted on, the
// rest stay for the next fetch, and nothing more is handed over.
func TestIMAPPipelineStopsAtHandlerError(t *testing.T) {
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}
	addr, user := memIMAP(t, caps)
	for i := range 7 {
		raw := simple(fmt.Sprintf("c%d@x.example", i), fmt.Sprint("hola ", i), fmt.Sprintf("m%d@x.example", i))
		if _, err := user.Append("INBOX", literal{bytes.NewReader([]byte(raw))}, &imap.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	src := &IMAP{Addr: addr, TLS: PlainText, Username: "alice", Password: "secret", BatchSize: 2}
	defer src.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var keys []string
	calls := 0
	boom := errors.New("store down")
	err := src.Fetch(ctx, func(_ context.Context, ds []Delivery) ([]Result, error) {
		calls++
		if calls == 3 {
			return nil, boom
		}
		rs := make([]Result, len(ds))
		for i, d := range ds {
			keys = append(keys, d.SourceKey)
			rs[i] = Result{Outcome: Created}
		}
		return rs, nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Fetch = %v, want the handler's error", err)
	}
	expect(t, "handler calls", calls, 3)
	if !slices.IsSorted(keys) || len(keys) != 4 {
		t.Fatalf("handed over out of order or too many: %q", keys)
	}
	inbox, _ := user.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true})
	expect(t, "unseen after the failure", *inbox.NumUnseen, uint32(3))

	var again []string
	if err := src.Fetch(ctx, func(_ context.Context, ds []Delivery) ([]Result, error) {
		rs := make([]Result, len(ds))
		for i, d := range ds {
			again = append(again, d.SourceKey)
			rs[i] = Result{Outcome: Created}
		}
		return rs, nil
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, "handed over again", len(again), 3)
	for _, k := range again {
		if slices.Contains(keys, k) {
			t.Fatalf("%s handed over twice although committed", k)
		}
	}
	inbox, _ = user.Status("INBOX", &imap.StatusOptions{NumMessages: true, NumUnseen: true})
	expect(t, "unseen at the end", *inbox.NumUnseen, uint32(0))
}
