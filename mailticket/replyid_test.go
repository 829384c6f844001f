package mailticket

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// TestReplyIDCollisions: mails that carry the Message-ID of our
// automatic reply (the reply looping back, a customer's reply to it, a
// stranger quoting it, a mail that reuses it as its own Message-ID), in
// one batch after the mail that caused the reply, and in the batch that
// holds that mail itself; the batch gives what one-by-one gives.
func TestReplyIDCollisions(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			newE := newEnv
			if backend == "postgres" {
				newE = newPGEnv
			}
			one, batch := newE(t), newE(t)
			run := func(e *env, byOne bool) []Result {
				e.p.RateLimit = RateLimit{PerHour: -1, PerDay: -1}
				first := []Delivery{
					{SourceKey: "a", Raw: []byte(simple("ana@uno.example", "Falla", "a@uno.example"))},
					{SourceKey: "b", Raw: []byte(simple("ben@dos.example", "Otra", "b@dos.example"))},
				}
				var rs []Result
				if byOne {
					for _, d := range first {
						r, err := e.p.Process(e.ctx, d)
						require.NoError(t, err)
						rs = append(rs, r)
					}
				} else {
					r, err := e.p.ProcessBatch(e.ctx, first)
					require.NoError(t, err)
					rs = append(rs, r...)
				}
				var reply string
				for _, a := range e.articles(rs[0].Ticket.ID) {
					if a.Direction == store.Outbound {
						reply = a.MessageID
					}
				}
				require.NotEmpty(t, reply)
				second := []Delivery{
					{SourceKey: "loop", Raw: []byte(mailText("Loop.\n", "From: support@example.net", "To: ana@uno.example",
						"Subject: Re: Falla", "Date: Sun, 22 Nov 2026 08:00:00 +0000", "Message-ID: <"+reply+">"))},
					{SourceKey: "c", Raw: []byte(simple("ana@uno.example", "Re: Falla", "c@uno.example", "In-Reply-To: <"+reply+">"))},
					{SourceKey: "d", Raw: []byte(simple("eve@tres.example", "Re: Falla", "d@tres.example", "References: <"+reply+">"))},
					{SourceKey: "e", Raw: []byte(simple("ana@uno.example", "Otra cosa", reply))}, // reuses our id
					{SourceKey: "c2", Raw: []byte(simple("ben@dos.example", "Re: Otra", "c2@dos.example", "References: <b@dos.example> <"+reply+">"))},
				}
				if byOne {
					for _, d := range second {
						r, err := e.p.Process(e.ctx, d)
						require.NoError(t, err)
						rs = append(rs, r)
					}
				} else {
					r, err := e.p.ProcessBatch(e.ctx, second)
					require.NoError(t, err)
					rs = append(rs, r...)
				}
				return rs
			}
			want, got := run(one, true), run(batch, false)
			for i := range want {
				assert.Equal(t, fmt.Sprint(want[i].Outcome, " ", want[i].AutoResponse, " ", want[i].Ticket.ID, " ", want[i].ArticleID),
					fmt.Sprint(got[i].Outcome, " ", got[i].AutoResponse, " ", got[i].Ticket.ID, " ", got[i].ArticleID),
					"mail %d: %s | %s", i, want[i].Reason, got[i].Reason)
			}
		})
	}
}
