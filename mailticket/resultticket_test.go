package mailticket

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResultTicketIsStored: with a clock in another zone and below
// the microsecond (and going backwards once), the ticket a Result carries
// is the ticket as stored, on the batch and the one-by-one path, for new
// tickets (the short IngestMail path on SQLite) and follow-ups; and the
// stored tickets are the same on both stores.
func TestResultTicketIsStored(t *testing.T) {
	shapes := map[string][]string{}
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			newE := newEnv
			if backend == "postgres" {
				newE = newPGEnv
			}
			e := newE(t)
			zone := time.FixedZone("VET", -4*3600-30*60)
			base := time.Date(2026, 11, 22, 9, 0, 0, 999, zone)
			var mu sync.Mutex
			n := 0
			e.p.Now = func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				n++
				if n == 5 {
					return base.Add(-time.Hour + 1) // backwards
				}
				return base.Add(time.Duration(n)*time.Second + time.Duration(n*337))
			}
			e.p.RateLimit = RateLimit{PerHour: -1, PerDay: -1}
			ds := []Delivery{
				{SourceKey: "1", Raw: []byte(simple("ana@uno.example", "uno", "t1@x.example"))},
				{SourceKey: "2", Raw: []byte(simple("ben@dos.example", "dos", "t2@x.example"))},
				{SourceKey: "3", Raw: []byte(simple("ana@uno.example", "Re: uno", "t3@x.example", "In-Reply-To: <t1@x.example>"))},
				{SourceKey: "4", Raw: []byte(simple("cid@tres.example", "tres", "t4@x.example"))},
			}
			check := func(rs []Result) {
				for i, r := range rs {
					later := false
					for _, r2 := range rs[i+1:] {
						later = later || r2.Ticket.ID == r.Ticket.ID
					}
					if r.Ticket.ID == 0 || later {
						continue
					}
					got, err := e.st.Ticket(e.ctx, r.Ticket.ID)
					require.NoError(t, err)
					assert.Equal(t, fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", r.Ticket), "mail %d (%s)", i, r.Outcome)
				}
			}
			for i := 0; i < 3; i++ {
				rs, err := e.p.ProcessBatch(e.ctx, ds) // new tickets, then duplicates
				require.NoError(t, err)
				check(rs)
				for j := range ds {
					ds[j].SourceKey += "x"
					ds[j].Raw = append([]byte(nil), ds[j].Raw...)
					ds[j].Raw = append(ds[j].Raw, '.', '\r', '\n') // another body: a new mail
				}
			}
			r, err := e.p.Process(e.ctx, Delivery{SourceKey: "alone", Raw: []byte(simple("dan@cuatro.example", "cuatro", "t5@x.example"))})
			require.NoError(t, err)
			check([]Result{r})
			for _, tk := range e.tickets() {
				tk.ID, tk.CustomerID = 0, 0 // PostgreSQL's sequence skips ids on upserts
				evs, err := e.st.TicketEvents(e.ctx, tk.ID)
				require.NoError(t, err)
				shapes[backend] = append(shapes[backend], fmt.Sprintf("%+v %d", tk, len(evs)))
			}
		})
	}
	assert.Equal(t, shapes["sqlite"], shapes["postgres"], "tickets on both stores")
}
