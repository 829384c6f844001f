package mailticket

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// (Source keys with 8-bit bytes are left out: on PostgreSQL one-by-one
// processing fails on them outright, before and after this change, since
// QuarantineMail cannot store the key either.)
//
// oddKeyMails: mails whose Message-ID a store may not hold
// (8-bit, NUL), some of them dropped by a filter (spam), some not; a long
// References list; each twice.
func oddKeyMails() []Delivery {
	spam := func(id string) string {
		return mailText("Compre ya.\n", "From: spam@spam.example", "To: support@example.net", "Subject: [SPAM] oferta",
			"Date: Sun, 22 Nov 2026 08:00:00 +0000", "Message-ID: <"+id+">")
	}
	var refs []string
	for i := range 3000 {
		refs = append(refs, fmt.Sprintf("<r%d@x.example>", i))
	}
	ds := []Delivery{
		{SourceKey: "ok/1", Raw: []byte(simple("a@uno.example", "uno", "ok1@x.example"))},
		{SourceKey: "spam/8bit-id", Raw: []byte(spam("\xff\xfe@spam.example"))},
		{SourceKey: "spam/nul-id", Raw: []byte(spam("a\x00b@spam.example"))},
		{SourceKey: "mail/8bit-id", Raw: []byte(simple("b@dos.example", "dos", "\xe9t\xe9@dos.example"))},
		{SourceKey: "mail/8bit-ref", Raw: []byte(simple("a@uno.example", "Re: uno", "ok2@x.example",
			"In-Reply-To: <\xff@x.example>", "References: <ok1@x.example> <\xff@x.example>"))},
		{SourceKey: "mail/long-refs", Raw: []byte(simple("a@uno.example", "Re: uno", "ok3@x.example",
			"References: <ok1@x.example> "+strings.Join(refs, " ")))},
	}
	return append(ds, ds...)
}

func runOddKeys(t *testing.T, newE func(t *testing.T) *env) {
	ds := oddKeyMails()
	one, batch := newE(t), newE(t)
	for _, e := range []*env{one, batch} {
		e.p.Filters = []Filter{{Name: "spam", Match: regexp.MustCompile(`^\[SPAM\]`), Ignore: true}}
		e.p.RateLimit = RateLimit{PerHour: -1, PerDay: -1}
	}
	var want []Result
	for _, d := range ds {
		r, err := one.p.Process(one.ctx, d)
		require.NoError(t, err, d.SourceKey)
		want = append(want, r)
	}
	got, err := batch.p.ProcessBatch(batch.ctx, ds)
	require.NoError(t, err)
	for i := range ds {
		t.Logf("mail %d %q: one by one %s (%.80q), batch %s (%.80q)", i, ds[i].SourceKey, want[i].Outcome, want[i].Reason, got[i].Outcome, got[i].Reason)
		assert.Equal(t, want[i].Outcome, got[i].Outcome, "mail %d %q: one by one %q, batch %q", i, ds[i].SourceKey,
			want[i].Reason, got[i].Reason)
		assert.Equal(t, want[i].Ticket.Number != "", got[i].Ticket.Number != "", "mail %d: ticket", i)
	}
}

func TestOddKeysBatchAsOneByOneSQLite(t *testing.T) { runOddKeys(t, newEnv) }

func TestOddKeysBatchAsOneByOnePostgres(t *testing.T) { runOddKeys(t, newPGEnv) }

// TestIgnoredSpamWithOddIDPostgres: a batch whose other mails the
// store accepts, and a spam that a filter drops whose Message-ID has 8-bit
// bytes (or a NUL). One at a time, its receipt lookup fails on
// PostgreSQL (the key is not valid text) and the mail is quarantined; in
// the batch, KnownMailKeys leaves the key out as "never stored", the
// single lookup is skipped, and the mail is Ignored.
func TestIgnoredSpamWithOddIDPostgres(t *testing.T) {
	spam := func(id string) string {
		return mailText("Compre ya.\n", "From: spam@spam.example", "To: support@example.net", "Subject: [SPAM] oferta",
			"Date: Sun, 22 Nov 2026 08:00:00 +0000", "Message-ID: <"+id+">")
	}
	ds := []Delivery{
		{SourceKey: "ok/1", Raw: []byte(simple("a@uno.example", "uno", "ok1@x.example"))},
		{SourceKey: "spam/8bit-id", Raw: []byte(spam("\xff\xfe@spam.example"))},
		{SourceKey: "spam/nul-id", Raw: []byte(spam("a\x00b@spam.example"))},
		{SourceKey: "ok/2", Raw: []byte(simple("b@dos.example", "dos", "ok2@x.example"))},
	}
	one, batch := newPGEnv(t), newPGEnv(t)
	for _, e := range []*env{one, batch} {
		e.p.Filters = []Filter{{Name: "spam", Match: regexp.MustCompile(`^\[SPAM\]`), Ignore: true}}
	}
	var want []Result
	for _, d := range ds {
		r, err := one.p.Process(one.ctx, d)
		require.NoError(t, err, d.SourceKey)
		want = append(want, r)
	}
	got, err := batch.p.ProcessBatch(batch.ctx, ds)
	require.NoError(t, err)
	for i := range ds {
		assert.Equal(t, want[i].Outcome, got[i].Outcome, "mail %d %q: one by one %.90q, batch %.90q", i, ds[i].SourceKey,
			want[i].Reason, got[i].Reason)
	}
	qOne, err := one.st.QuarantinedMails(one.ctx, 0, 10)
	require.NoError(t, err)
	qBatch, err := batch.st.QuarantinedMails(batch.ctx, 0, 10)
	require.NoError(t, err)
	assert.Equal(t, len(qOne), len(qBatch), "quarantined mails kept")
}
