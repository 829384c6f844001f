package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/switchboard-go/switchboard/examples/internal/smtpsink"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/internal/dovetest"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// startSink runs an SMTP sink until the test ends.
func startSink(t *testing.T) (*smtpsink.Sink, string) { return smtpsink.Start(t) }

func testMails() [][]byte {
	m := func(from, subject, id string, extra ...string) []byte {
		h := "From: " + from + "\r\nTo: support@example.net\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n" +
			"Date: Sun, 22 Nov 2026 08:00:00 +0000\r\n"
		for _, e := range extra {
			h += e + "\r\n"
		}
		return []byte(h + "\r\nHola, el servicio no funciona.\r\n")
	}
	return [][]byte{
		m("ana@cliente.example", "Servicio caído", "m1@cliente.example"),
		m("bob@otro.example", "Factura", "m2@otro.example"),
		m("ana@cliente.example", "Re: Servicio caído", "m3@cliente.example", "In-Reply-To: <m1@cliente.example>"),
		[]byte("\x00\x01\x02\x03\x04\x05\x06 not a mail, not even text\r\n"),
	}
}

type ticketSummary struct {
	Number   string `json:"number"`
	Queue    string `json:"queue"`
	State    string `json:"state"`
	Customer string `json:"customer"`
	Subject  string `json:"subject"`
	Articles int    `json:"articles"`
}

func checkOnce(t *testing.T, dir string, args []string, sink *smtpsink.Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	all := append([]string{"-data", dir, "-once", "-mail-address", "support@example.net", "-mail-route", "otro.example=Otros"}, args...)
	if err := run(ctx, all, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	want := "mail fetched=4 created=2 followups=1 duplicates=0 ignored=0 quarantined=1 unmatched=0 autoresponses=2\n"
	if out.String() != want {
		t.Fatalf("stdout %q, want %q\n%s", out.String(), want, errOut.String())
	}
	sent := sink.Count()
	if sent != 2 {
		t.Fatalf("replies received: %d", sent)
	}
	out.Reset()
	if err := run(ctx, []string{"tickets", "-data", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var got []ticketSummary
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var ts ticketSummary
		if err := json.Unmarshal(sc.Bytes(), &ts); err != nil {
			t.Fatal(err)
		}
		got = append(got, ts)
	}
	if len(got) != 2 || got[0].Articles != 3 || got[0].Subject != "Servicio caído" || got[0].Customer != "ana@cliente.example" ||
		got[0].Queue != "Inbox" || got[1].Queue != "Otros" || got[1].Articles != 2 || got[0].State != "open" && got[0].State != "new" {
		t.Fatalf("tickets: %+v", got)
	}
	// Again: nothing new.
	out.Reset()
	if err := run(ctx, all, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "mail fetched=0 ") {
		t.Fatalf("second run: %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"stats", "-data", dir, "-period", "day"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Otros") || !strings.Contains(out.String(), "Inbox") {
		t.Fatalf("stats:\n%s", out.String())
	}
}

func TestMailOnceMaildir(t *testing.T) {
	sink, addr := startSink(t)
	md := t.TempDir()
	for _, d := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(md, d), 0o755)
	}
	for i, m := range testMails() {
		os.WriteFile(filepath.Join(md, "new", fmt.Sprintf("%d.test", i)), m, 0o644)
	}
	dir := t.TempDir()
	checkOnce(t, dir, []string{"-maildir", md, "-smtp", "smtp://" + addr}, sink)
	agentCommands(t, dir, addr, sink)
}

// agentCommands works a ticket from the command line: show it, answer
// it, set it pending, assign it, close it.
func agentCommands(t *testing.T, dir, smtpAddr string, sink *smtpsink.Sink) {
	t.Helper()
	ctx := context.Background()
	cmd := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		require.NoError(t, run(ctx, args, &out, &errOut), errOut.String())
		return out.String()
	}
	var first ticketSummary
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(cmd("tickets", "-data", dir), "\n", 2)[0]), &first))
	n := first.Number
	shown := cmd("ticket", n, "-data", dir)
	assert.Contains(t, shown, "ticket "+n+": Servicio caído")
	assert.Contains(t, shown, "in from <ana@cliente.example>")
	assert.Contains(t, shown, "Hola, el servicio no funciona.")

	reply := cmd("reply", n, "-data", dir, "-agent", "luis@example.net", "-text", "Ya lo estamos revisando.",
		"-smtp", "smtp://"+smtpAddr, "-mail-address", "support@example.net")
	assert.Contains(t, reply, "ticket "+n+" answered")
	assert.Equal(t, 3, sink.Count(), "the answer sent")
	assert.Contains(t, cmd("ticket", n, "-data", dir), "Ya lo estamos revisando.")

	assert.Equal(t, "ticket "+n+" pending\n", cmd("state", n, "pending", "-until", "48h", "-agent", "luis@example.net", "-data", dir))
	assert.Contains(t, cmd("ticket", n, "-data", dir), "state pending until")
	assert.Equal(t, "ticket "+n+" assigned to luis@example.net\n", cmd("assign", n, "-agent", "luis@example.net", "-data", dir))
	assert.Equal(t, "ticket "+n+" closed\n", cmd("state", n, "closed", "-agent", "luis@example.net", "-data", dir))

	var out bytes.Buffer
	assert.Error(t, run(ctx, []string{"tickets", "-data", dir, "-state", "bogus"}, &out, &out))
	assert.Error(t, run(ctx, []string{"ticket", "999", "-data", dir}, &out, &out))
	assert.Error(t, run(ctx, []string{"state", n, "sleeping", "-agent", "x@y.z", "-data", dir}, &out, &out))
	assert.Error(t, run(ctx, []string{"ticket", n, "-data", filepath.Join(dir, "mistyped")}, &out, &out))
}

func TestMailOnceDovecot(t *testing.T) {
	dv := dovetest.Start(t, map[string]string{"alice": "secret", "bob": "secret"})
	for _, c := range []struct{ name, user, flag, url string }{
		{"imap", "alice", "-imap", "imap://alice:secret@" + dv.IMAP + "/INBOX"},
		{"pop3", "bob", "-pop3", "pop3://bob:secret@" + dv.POP3},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink, addr := startSink(t)
			for _, m := range testMails() {
				dv.Deliver(t, c.user, m)
			}
			checkOnce(t, t.TempDir(), []string{c.flag, c.url, "-smtp", "smtp://" + addr}, sink)
		})
	}
}

func TestOnceNeedsASource(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-data", t.TempDir(), "-once"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "mail source") {
		t.Fatalf("err = %v", err)
	}
}

// TestSMSNotifier: a new ticket queues one SMS per agent number through
// the gateway, once however often the notification comes.
func TestSMSNotifier(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "n.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gw, err := gateway.New(gateway.Config{Store: st, Numbering: gateway.Numbering{CountryCode: "58", NationalPrefix: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	numbers := []string{"04141234567", "04241234568"}
	n := mailticket.Notification{Outcome: mailticket.Created, Queue: "Inbox", Subject: "Servicio caído",
		From:   mailticket.Address{Addr: "ana@cliente.example"},
		Ticket: store.Ticket{Number: "202611220000017", UpdatedAt: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}}
	rep, err := notifySMS(ctx, gw, numbers, n)
	if err != nil || rep.Inserted != 2 {
		t.Fatalf("first notification: %+v %v", rep, err)
	}
	rep, err = notifySMS(ctx, gw, numbers, n) // the same event again: no second message
	if err != nil || rep.Inserted != 0 || rep.Duplicates != 2 {
		t.Fatalf("repeated notification: %+v %v", rep, err)
	}
	for _, num := range numbers {
		tx, err := gw.Status(ctx, num)
		if err != nil {
			t.Fatalf("%s: %v", num, err)
		}
		if !strings.Contains(tx.Text, "202611220000017") || !strings.Contains(tx.Text, "ana@cliente.example") {
			t.Fatalf("%s: text %q", num, tx.Text)
		}
	}
}

// TestServeMailChannel: the running server polls a Maildir, answers over
// SMTP, and stops cleanly with the poller.
func TestServeMailChannel(t *testing.T) {
	sink, addr := startSink(t)
	md := t.TempDir()
	for _, d := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(md, d), 0o755)
	}
	var logs syncBuffer
	_, stop := startServer(t, []string{"-data", t.TempDir(), "-smsc-sim", "", "-chat-addr", "", "-maildir", md, "-smtp", "smtp://" + addr,
		"-mail-interval", "100ms", "-mail-address", "support@example.net"}, &logs)
	waitFor(t, &logs, "mail poller running")
	os.WriteFile(filepath.Join(md, "new", "1.test"), testMails()[0], 0o644)
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := sink.Count()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reply sent; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "outcome=created") {
		t.Fatalf("logs:\n%s", logs.String())
	}
	stop()
}
