package mailticket

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// StatsQuery selects the statistics of a period: tickets created and
// closed in [From, To) in buckets of Period (day, week or month).
type StatsQuery struct {
	From, To time.Time
	Period   store.Period
}

// Report is the statistics the seed's company looked at every week:
// tickets created and closed per queue and per customer, first-response
// and resolution times (median and 90th percentile) of the tickets
// created in the range, and today's open backlog. Everything comes from
// the ticket event log.
type Report struct {
	Query      StatsQuery
	ByQueue    []store.TicketCount
	ByCustomer []store.TicketCount
	Times      store.ResponseTimes
	Backlog    []store.BacklogRow
}

// Statistics computes a Report from st.
func Statistics(ctx context.Context, st store.TicketStore, q StatsQuery) (Report, error) {
	r := Report{Query: q}
	var err error
	if r.ByQueue, err = st.TicketCounts(ctx, store.CountQuery{From: q.From, To: q.To, Period: q.Period, GroupBy: store.ByQueue}); err != nil {
		return r, err
	}
	if r.ByCustomer, err = st.TicketCounts(ctx, store.CountQuery{From: q.From, To: q.To, Period: q.Period, GroupBy: store.ByCustomer}); err != nil {
		return r, err
	}
	if r.Times, err = st.ResponseTimes(ctx, store.ResponseQuery{From: q.From, To: q.To}); err != nil {
		return r, err
	}
	r.Backlog, err = st.Backlog(ctx)
	return r, err
}

// WriteText writes the report as aligned plain-text tables.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := string(r.Query.Period)
	title := strings.ToUpper(p[:1]) + p[1:]
	span := fmt.Sprintf("%s to %s", r.Query.From.Format(time.DateOnly), r.Query.To.AddDate(0, 0, -1).Format(time.DateOnly))
	for _, t := range []struct {
		by   string
		rows []store.TicketCount
	}{{"queue", r.ByQueue}, {"customer", r.ByCustomer}} {
		fmt.Fprintf(tw, "Tickets per %s and %s, %s\n%s\t%s\tcreated\tclosed\n", p, t.by, span, title, t.by)
		for _, c := range t.rows {
			key := c.Key
			if key == "" {
				key = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", c.Start.Format(time.DateOnly), key, c.Created, c.Closed)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "Times of tickets created in the range\ttickets\tmedian\tp90\n")
	fmt.Fprintf(tw, "first response\t%d\t%v\t%v\n", r.Times.FirstResponse.Count, r.Times.FirstResponse.Median, r.Times.FirstResponse.P90)
	fmt.Fprintf(tw, "resolution\t%d\t%v\t%v\n", r.Times.Resolution.Count, r.Times.Resolution.Median, r.Times.Resolution.P90)
	fmt.Fprintf(tw, "\nOpen backlog\tnew\topen\tpending\n")
	for _, b := range r.Backlog {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", b.Queue, b.New, b.Open, b.Pending)
	}
	return tw.Flush()
}
