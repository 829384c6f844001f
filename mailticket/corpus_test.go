package mailticket

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corpusCase is one mail of testdata/corpus and what must come of it.
type corpusCase struct {
	File         string   `json:"file"`
	Outcome      Outcome  `json:"outcome"`
	Subject      string   `json:"subject"`
	Text         string   `json:"text"`
	NotText      string   `json:"not_text"`
	Attachments  []string `json:"attachments"`
	Inline       []string `json:"inline"`
	Reply        bool     `json:"reply"`
	FollowUpOf   string   `json:"followup_of"`
	FromName     string   `json:"from_name"`
	FromAddr     string   `json:"from_addr"`
	BounceStatus string   `json:"bounce_status"`
	Note         string   `json:"note"`
	raw          []byte
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	dir := filepath.Join("testdata", "corpus")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for i := range cases {
		if cases[i].raw, err = os.ReadFile(filepath.Join(dir, cases[i].File)); err != nil {
			t.Fatal(err)
		}
	}
	return cases
}

// TestCorpus processes the corpus in order through one processor and
// checks each mail's outcome, decoded subject and text, attachments,
// threading and whether it was answered.
func TestCorpus(t *testing.T) { runCorpus(t, newEnv(t)) }

// TestCorpusPostgres is TestCorpus on PostgreSQL.
func TestCorpusPostgres(t *testing.T) { runCorpus(t, newPGEnv(t)) }

func runCorpus(t *testing.T, e *env) {
	ticketOf := map[string]int64{}
	for _, c := range loadCorpus(t) {
		r := e.process("corpus/"+c.File, string(c.raw))
		if r.Outcome != c.Outcome {
			t.Errorf("%s: outcome %s (%s), want %s", c.File, r.Outcome, r.Reason, c.Outcome)
			continue
		}
		if (r.AutoResponse != "") != c.Reply {
			t.Errorf("%s: reply %q (%s), want reply=%v", c.File, r.AutoResponse, r.Reason, c.Reply)
		}
		m, err := Parse(c.raw, nil)
		if c.Outcome == Quarantined {
			if err == nil {
				t.Errorf("%s: quarantined but parses", c.File)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.File, err)
			continue
		}
		ticketOf[c.File] = r.Ticket.ID
		if c.FollowUpOf != "" && ticketOf[c.FollowUpOf] != r.Ticket.ID {
			t.Errorf("%s: ticket %d, want the ticket of %s (%d)", c.File, r.Ticket.ID, c.FollowUpOf, ticketOf[c.FollowUpOf])
		}
		if c.Subject != "" && m.Subject != c.Subject {
			t.Errorf("%s: subject %q, want %q", c.File, m.Subject, c.Subject)
		}
		if c.Subject != "" && c.Outcome == Created && r.Ticket.Title != c.Subject {
			t.Errorf("%s: ticket title %q", c.File, r.Ticket.Title)
		}
		if c.Text != "" && !strings.Contains(m.Text, c.Text) {
			t.Errorf("%s: text %q does not contain %q", c.File, m.Text, c.Text)
		}
		if c.NotText != "" && strings.Contains(m.Text, c.NotText) {
			t.Errorf("%s: text %q contains %q", c.File, m.Text, c.NotText)
		}
		var names, inline []string
		for _, a := range m.Attachments {
			names = append(names, a.Name)
			if a.Inline {
				inline = append(inline, a.Name)
			}
		}
		if c.Attachments != nil && !slices.Equal(names, c.Attachments) {
			t.Errorf("%s: attachments %q, want %q", c.File, names, c.Attachments)
		}
		if c.Inline != nil && !slices.Equal(inline, c.Inline) {
			t.Errorf("%s: inline %q, want %q", c.File, inline, c.Inline)
		}
		if c.FromName != "" && m.From.Name != c.FromName {
			t.Errorf("%s: from name %q, want %q", c.File, m.From.Name, c.FromName)
		}
		if c.FromAddr != "" && m.From.Addr != c.FromAddr {
			t.Errorf("%s: from %q, want %q", c.File, m.From.Addr, c.FromAddr)
		}
		if c.BounceStatus != "" && (m.Bounce == nil || m.Bounce.Status != c.BounceStatus) {
			t.Errorf("%s: bounce %+v, want status %s", c.File, m.Bounce, c.BounceStatus)
		}
		// Everything stored is valid UTF-8 with no stray carriage returns.
		if !validText(m.Text) || !validText(m.Subject) {
			t.Errorf("%s: invalid text %q / %q", c.File, m.Subject, m.Text)
		}
	}
	// Delivering the whole corpus again changes nothing.
	before := len(e.tickets())
	for _, c := range loadCorpus(t) {
		if r := e.process("again/"+c.File, string(c.raw)); r.Outcome != Duplicate && r.Outcome != Quarantined {
			t.Errorf("%s again: %s", c.File, r.Outcome)
		}
	}
	expect(t, "tickets after redelivery", len(e.tickets()), before)
}

func validText(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s && !strings.Contains(s, "\r")
}

// TestHugeAttachmentDropped: an attachment over the limit is left out and
// named in the article; the mail is still a ticket.
func TestHugeAttachmentDropped(t *testing.T) {
	e := newEnv(t)
	e.p.Limits = &Limits{MaxAttachmentSize: 100 << 10}
	raw := mailText("--h\r\nContent-Type: text/plain\r\n\r\nver adjunto\r\n--h\r\nContent-Type: application/zip\r\n"+
		"Content-Disposition: attachment; filename=\"big.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
		strings.Repeat(strings.Repeat("QUFB", 19)+"\r\n", 3000)+"--h\r\nContent-Type: text/plain; name=small.txt\r\n\r\nsmall\r\n--h--\r\n",
		"From: a@x.example", "Subject: grande", "Message-ID: <huge@x.example>", "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="h"`)
	r := e.process("h", raw)
	expect(t, "outcome", r.Outcome, Created)
	arts := e.articles(r.Ticket.ID)
	if !strings.Contains(arts[0].TextBody, "big.zip (larger than") {
		t.Fatalf("article does not name the dropped file: %q", arts[0].TextBody)
	}
	atts, _ := e.st.TicketAttachments(e.ctx, arts[0].ID)
	if len(atts) != 1 || atts[0].Name != "small.txt" {
		t.Fatalf("attachments %+v", atts)
	}
}

// TestHostileHeaders: a Message-ID and an address too long for a database
// index, thousands of references and NUL bytes are bounded or dropped, on
// SQLite and PostgreSQL alike, and the mail is still a ticket.
func TestHostileHeaders(t *testing.T) {
	long := strings.Repeat("x", 3000)
	var refs strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&refs, " <r%d@x.example>", i)
	}
	raw := mailText("text with a \x00 NUL\n", "From: "+long+"@x.example", "To: support@example.net",
		"Subject: nul \x00 here", "Message-ID: <"+long+"@x.example>", "References:"+refs.String(),
		"Reply-To: <"+long+"@y.example>")
	m, err := Parse([]byte(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != "" || m.From.Addr != "" || len(m.References) != maxIDs || strings.Contains(m.Text+m.Subject, "\x00") {
		t.Fatalf("id %d bytes, from %q, %d references, text %q", len(m.MessageID), m.From.Addr, len(m.References), m.Text)
	}
	for name, e := range map[string]*env{"sqlite": newEnv(t), "postgres": newPGEnv(t)} {
		if r := e.process("hostile", raw); r.Outcome != Created {
			t.Fatalf("%s: %s (%s)", name, r.Outcome, r.Reason)
		}
	}
}
