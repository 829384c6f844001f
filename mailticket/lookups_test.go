package mailticket

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchMails are mails that meet each other inside one batch: the same
// mail twice (by source key and by content), the same Message-ID with
// another body from the same sender and from another, replies to a mail
// of the same batch by In-Reply-To and by References, a mail without
// Message-ID twice, and a reply to a mail stored before the batch.
func batchMails() []Delivery {
	d := func(key, raw string) Delivery { return Delivery{SourceKey: key, Raw: []byte(raw)} }
	noID := mailText("Sin identificador.\n", "From: x@siete.example", "To: support@example.net", "Subject: siete",
		"Date: Sun, 22 Nov 2026 08:00:00 +0000")
	return []Delivery{
		d("b/1", simple("a@uno.example", "uno", "b1@x.example")),
		d("b/1", simple("a@uno.example", "uno", "b1@x.example")),  // the same key again
		d("b/2", simple("a@uno.example", "uno", "b1@x.example")),  // the same content under another key
		d("b/3", simple("z@otro.example", "dos", "b3@x.example")), //
		d("b/4", simple("a@uno.example", "Re: uno", "b4@x.example", // a reply by In-Reply-To
			"In-Reply-To: <b1@x.example>")),
		d("b/5", simple("a@uno.example", "Re: Re: uno", "b5@x.example", // by References
			"References: <b1@x.example> <b4@x.example>")),
		d("b/6", mailText("Otro cuerpo.\n", "From: a@uno.example", "To: support@example.net", "Subject: uno",
			"Date: Sun, 22 Nov 2026 08:00:00 +0000", "Message-ID: <b1@x.example>")), // same Message-ID, another body
		d("b/7", mailText("Otro cuerpo más.\n", "From: m@malo.example", "To: support@example.net", "Subject: uno",
			"Date: Sun, 22 Nov 2026 08:00:00 +0000", "Message-ID: <b1@x.example>")), // ... from someone else
		d("b/8", noID),
		d("b/9", noID),
		d("b/10", simple("z@otro.example", "Re: antes", "b10@x.example", "In-Reply-To: <before@x.example>")),
		d("b/11", simple("m@malo.example", "Re: dos", "b11@x.example", "In-Reply-To: <b3@x.example>")), // not a participant
		d("b/12", "\x00\x01 not a mail"),
	}
}

// TestBatchAnswersAsOneByOne: a batch (one transaction, lookups by list)
// gives every mail the outcome, ticket and article that processing the
// mails one at a time gives, on crafted mails that meet each other in the
// batch and on the real-world corpus, shuffled into batches.
func TestBatchAnswersAsOneByOne(t *testing.T) {
	ds := batchMails()
	for _, c := range loadRealWorld(t) {
		raw, err := os.ReadFile(filepath.Join("testdata", "realworld", c.File))
		require.NoError(t, err)
		ds = append(ds, Delivery{SourceKey: "realworld/" + c.File, Raw: raw})
	}
	before := simple("z@otro.example", "antes", "before@x.example")
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			mails := append([]Delivery(nil), ds...)
			r := rand.New(rand.NewPCG(seed, seed))
			r.Shuffle(len(mails), func(i, j int) { mails[i], mails[j] = mails[j], mails[i] })
			// Repeat some mails later, as a mailbox read again would.
			for range 20 {
				mails = append(mails, mails[r.IntN(len(mails))])
			}
			one, batch := newEnv(t), newEnv(t)
			for _, e := range []*env{one, batch} {
				e.p.RateLimit = RateLimit{PerHour: -1, PerDay: -1}
				e.process("before", before)
			}
			var want []Result
			for _, d := range mails {
				res, err := one.p.Process(one.ctx, d)
				require.NoError(t, err)
				want = append(want, res)
			}
			var got []Result
			for len(got) < len(mails) {
				n := min(1+r.IntN(2*MaxBatch), len(mails)-len(got))
				rs, err := batch.p.ProcessBatch(batch.ctx, mails[len(got):len(got)+n])
				require.NoError(t, err)
				got = append(got, rs...)
			}
			require.Len(t, got, len(want))
			for i := range want {
				w, g := want[i], got[i]
				assert.Equal(t, fmt.Sprint(w.Outcome, " ", w.Reason, " ", w.Ticket.ID, " ", w.Ticket.Number, " ", w.ArticleID, " ", w.AutoResponse),
					fmt.Sprint(g.Outcome, " ", g.Reason, " ", g.Ticket.ID, " ", g.Ticket.Number, " ", g.ArticleID, " ", g.AutoResponse),
					"mail %d (%s)", i, mails[i].SourceKey)
			}
		})
	}
}
