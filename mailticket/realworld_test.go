package mailticket

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realCase is one mail of testdata/realworld and what a reader sees in
// it (see its README: the expectations come from reading each mail).
type realCase struct {
	File         string   `json:"file"`
	Kind         string   `json:"kind"`
	Subject      string   `json:"subject"`
	FromAddr     string   `json:"from_addr"`
	Attachments  []string `json:"attachments"`
	TextContains string   `json:"text_contains"`
	Note         string   `json:"note"`
}

func loadRealWorld(t testing.TB) []realCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "realworld", "expected.json"))
	require.NoError(t, err)
	var cases []realCase
	require.NoError(t, json.Unmarshal(b, &cases))
	return cases
}

// TestRealWorldCorpus runs 396 mails from other projects' test suites
// (bounces of many MTAs, auto-replies, abuse reports, read receipts,
// list mail, CJK and Cyrillic charsets, TNEF, broken MIME) through one
// processor, as a help desk would get them, and checks each against what
// a person reading it sees: only what cannot be read is quarantined;
// every person's mail is a ticket and answered; no machine is answered;
// a bounce goes to the bounce queue; the subject, sender, text and files
// are the ones in the mail, with no raw encoded word, mojibake or control
// character.
func TestRealWorldCorpus(t *testing.T) { runRealWorld(t, newEnv(t)) }

// TestRealWorldCorpusPostgres is TestRealWorldCorpus on PostgreSQL.
func TestRealWorldCorpusPostgres(t *testing.T) { runRealWorld(t, newPGEnv(t)) }

// unmarked are machines' mails with nothing in them that says so to a
// program: no list or auto-reply header, no spam filter's mark, no
// mailer daemon or no-reply sender. They become tickets and are answered
// like a person's mail (a spam filter in front of the help desk is what
// keeps spam out). The test fails when one of them stops being answered,
// so that this list stays true.
var unmarked = map[string]string{
	"cpython/msg_36.txt.eml":                                "an announcement from Internet-Drafts@ietf.org with no list header",
	"enmime/mail_mime-bad-content-type.raw.eml":             "a booking confirmation from bookings@",
	"flanker/spam_broken-headers.eml":                       "spam, no filter's mark",
	"mail-parser/mail_test_8.eml":                           "spam, no filter's mark",
	"php-mime/issue230.eml":                                 "a newsletter with no list header",
	"ruby-mail/bad_subject.eml":                             "a survey invitation answering to a person's Reply-To",
	"ruby-mail/content_transfer_encoding_empty.eml":         "spam, no filter's mark",
	"ruby-mail/content_transfer_encoding_plain.eml":         "spam, no filter's mark",
	"ruby-mail/content_transfer_encoding_qp_with_space.eml": "spam, no filter's mark",
	"ruby-mail/invalid_subject_characters.eml":              "a promotion with no list header",
	"ruby-mail/raw_email_multiple_from.eml":                 "a commit notification from a person's address",
	"ruby-mail/trademark_character_in_subject.eml":          "a lead notification, its filter's X-Spam-Status says no",
	"spamassassin/nice-cjk_gb2312.1.eml":                    "spam, no filter's mark",
	"spamassassin/spam_badctype1.eml":                       "spam, no filter's mark",
	"spamassassin/spam_unicode2.eml":                        "spam, no filter's mark",
	"spamassassin/spam_utf16.eml":                           "spam, no filter's mark",
	// A bounce that says so only in its text (from post_master@, subject
	// "Re:Test message"): a ticket in the inbox, not answered.
	"sisimai/bsd_lhost-apachejames-01.eml": "a bounce that says so only in its text",
}

// imperfectText are the mails whose text still shows something a reader
// should not see, and why; the test fails when one of them is read well,
// so that this list stays true.
var imperfectText = map[string]string{
	"bounce-email/bounces_tt_bounce_12_soft.txt.eml":         "a bounce quoting the original header raw, encoded words and all",
	"bounce-email/bounces_tt_bounce_24.txt.eml":              "a bounce quoting the original header raw, encoded words and all",
	"enmime/mail_mime-bad-content-transfer-encoding.raw.eml": "a form feed in the text",
	"mail-parser/mail_test_12.eml":                           "bytes invalid in the declared charset",
	"ruby-mail/content_transfer_encoding_empty.eml":          "bytes invalid in the declared Big5",
	"sisimai/bsd_lhost-kddi-01.eml":                          "UTF-8 text in a part labelled ISO-2022-JP",
	"spamassassin/nice-cjk_iso-2022-jp.2.eml":                "bytes invalid in ISO-2022-JP",
}

func runRealWorld(t *testing.T, e *env) {
	e.p.RateLimit = RateLimit{PerHour: -1, PerDay: -1} // many test mails share one sender
	count := map[string]int{}
	for _, c := range loadRealWorld(t) {
		raw, err := os.ReadFile(filepath.Join("testdata", "realworld", c.File))
		require.NoError(t, err)
		r := e.process("realworld/"+c.File, string(raw))
		count[string(r.Outcome)]++
		if r.AutoResponse != "" {
			count["answered"]++
		}
		fail := func(format string, args ...any) {
			t.Errorf("%s (%s: %s): %s", c.File, c.Kind, c.Note, fmt.Sprintf(format, args...))
		}
		if why, ok := unmarked[c.File]; ok {
			if r.Outcome != Created {
				fail("outcome %s (%s), want a ticket (%s)", r.Outcome, r.Reason, why)
			}
			if (r.AutoResponse != "") == (c.Kind == "bounce") {
				fail("listed as unmarked (%s) but now told apart: take it off the list", why)
			}
			count["unmarked"]++
		}
		_, isUnmarked := unmarked[c.File]
		switch {
		case isUnmarked:
		case c.Kind == "unreadable":
			if r.Outcome != Quarantined {
				fail("outcome %s, want quarantined", r.Outcome)
			}
			continue
		case c.Kind == "human":
			switch {
			case r.Outcome == Created && r.AutoResponse == "" && c.FromAddr != "": // no address, no answer
				fail("a person's mail not answered: %s", r.Reason)
			case r.Outcome != Created && r.Outcome != FollowUp && r.Outcome != Duplicate:
				fail("outcome %s (%s), want a ticket", r.Outcome, r.Reason)
			}
		case c.Kind == "bounce":
			if r.Outcome != Unmatched && r.Outcome != Duplicate {
				fail("outcome %s (%s), want the bounce queue", r.Outcome, r.Reason)
			}
		default: // auto-reply, mdn, arf, bulk
			if r.Outcome == Quarantined || r.Outcome == Unmatched {
				fail("outcome %s (%s), want a ticket", r.Outcome, r.Reason)
			}
			if r.AutoResponse != "" {
				fail("a machine's mail answered (%s)", r.Outcome)
			}
		}
		m, err := Parse(raw, nil)
		if err != nil {
			fail("parse: %v", err)
			continue
		}
		if c.Subject != "" && strings.Join(strings.Fields(m.Subject), " ") != c.Subject {
			fail("subject %q, want %q", m.Subject, c.Subject)
		}
		if c.FromAddr != "" && m.From.Addr != c.FromAddr {
			fail("from %q, want %q", m.From.Addr, c.FromAddr)
		}
		if c.TextContains != "" && !strings.Contains(strings.Join(strings.Fields(m.Text), " "), strings.Join(strings.Fields(c.TextContains), " ")) {
			fail("text does not contain %q: %q", c.TextContains, clipString(m.Text, 300))
		}
		var names []string
		for _, a := range m.Attachments {
			names = append(names, a.Name)
		}
		for _, want := range c.Attachments {
			if !slices.Contains(names, want) {
				fail("attachment %q missing: %q", want, names)
			}
		}
		for what, s := range map[string]string{"subject": m.Subject, "sender name": m.From.Name} {
			if bad := unreadableText(s); bad != "" {
				fail("%s %q: %s", what, s, bad)
			}
		}
		bad := unreadableText(strings.NewReplacer("\n", " ", "\t", " ").Replace(m.Text))
		if why, known := imperfectText[c.File]; known != (bad != "") {
			fail("text: %q (listed as imperfect: %q)", bad, why)
		}
	}
	t.Logf("outcomes: %v", count)
	// Delivering the whole corpus again (from another source) changes
	// nothing: every mail is known by its content.
	before := len(e.tickets())
	for _, c := range loadRealWorld(t) {
		raw, err := os.ReadFile(filepath.Join("testdata", "realworld", c.File))
		require.NoError(t, err)
		if r := e.process("again/"+c.File, string(raw)); r.Outcome != Duplicate && r.Outcome != Quarantined {
			t.Errorf("%s again: %s (%s)", c.File, r.Outcome, r.Reason)
		}
	}
	assert.Equal(t, before, len(e.tickets()), "tickets after the corpus came again")
}

// unreadableText says what is wrong with text shown to a person: a raw
// encoded word, a control character (C0 or C1) or an invalid byte.
func unreadableText(s string) string {
	if i := strings.Index(s, "=?"); i >= 0 && strings.Contains(s[i:], "?=") {
		return "a raw encoded word"
	}
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar:
			return "a replacement character"
		case unicode.IsControl(r) && r != '\t':
			return fmt.Sprintf("control character %U", r)
		}
	}
	return ""
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
