package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// queuePatterns fill the series of per-queue charts (cycled past six).
var queuePatterns = []string{"p-solid", "p-diag", "p-dots", "p-cross", "p-vert", "p-blank"}

type responseRow struct {
	Queue string
	store.ResponseTimes
}

// stats shows tickets created and closed per period and queue (charts
// and tables), first-response and resolution times (median and p90) per
// queue, and the backlog now. ?period=day|week|month, ?from and ?to
// (YYYY-MM-DD, UTC; default the last 30 days).
func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	period := store.Period(q.Get("period"))
	switch period {
	case "":
		period = store.Day
	case store.Day, store.Week, store.Month:
	default:
		http.Error(w, "period: want day, week or month", http.StatusBadRequest)
		return
	}
	day := func(name string, def time.Time) (time.Time, bool) {
		v := q.Get(name)
		if v == "" {
			return def, true
		}
		t, err := time.Parse("2006-01-02", v)
		return t, err == nil
	}
	today := store.PeriodStart(s.now(), store.Day)
	from, ok1 := day("from", today.AddDate(0, 0, -29))
	to, ok2 := day("to", today)
	if !ok1 || !ok2 || to.Before(from) || to.Sub(from) > 400*24*time.Hour {
		http.Error(w, "from and to: dates as 2026-01-31, from before to, at most 400 days apart", http.StatusBadRequest)
		return
	}
	end := to.AddDate(0, 0, 1) // to is inclusive
	counts, err := s.Store.TicketCounts(ctx, store.CountQuery{From: from, To: end, Period: period, GroupBy: store.ByQueue})
	if err != nil {
		s.fail(w, err)
		return
	}
	n, err := s.names(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	created, closed := periodCharts(counts, n.queueList, from, end, period)
	rows := []responseRow{}
	all, err := s.Store.ResponseTimes(ctx, store.ResponseQuery{From: from, To: end})
	if err != nil {
		s.fail(w, err)
		return
	}
	for _, qu := range n.queueList {
		rt, err := s.Store.ResponseTimes(ctx, store.ResponseQuery{From: from, To: end, QueueID: qu.ID})
		if err != nil {
			s.fail(w, err)
			return
		}
		if rt.FirstResponse.Count+rt.Resolution.Count > 0 {
			rows = append(rows, responseRow{Queue: qu.Name, ResponseTimes: rt})
		}
	}
	backlog, err := s.Store.Backlog(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "stats", http.StatusOK, map[string]any{"Period": string(period), "From": from.Format("2006-01-02"),
		"To": to.Format("2006-01-02"), "Created": created, "Closed": closed, "All": all, "Responses": rows, "Backlog": backlog})
}

// periodCharts are the created and closed tickets per period (the
// periods from from to end) stacked by queue.
func periodCharts(counts []store.TicketCount, queues []store.Queue, from, end time.Time, p store.Period) (created, closed barChart) {
	var starts []time.Time
	for t := store.PeriodStart(from, p); t.Before(end); t = next(t, p) {
		starts = append(starts, t)
	}
	index := map[int64]int{}
	var ser []series
	for i, q := range queues {
		index[q.ID] = i
		ser = append(ser, series{Name: q.Name, Pattern: queuePatterns[i%len(queuePatterns)]})
	}
	mk := func() barChart {
		c := barChart{Series: ser, Labels: make([]string, len(starts)), Values: make([][]int, len(starts))}
		for i, t := range starts {
			c.Labels[i] = t.Format("01-02")
			if p == store.Month {
				c.Labels[i] = t.Format("2006-01")
			}
			c.Values[i] = make([]int, len(ser))
		}
		return c
	}
	created, closed = mk(), mk()
	for _, c := range counts {
		qi, ok := index[c.KeyID]
		if !ok {
			continue
		}
		for i, t := range starts {
			if t.Equal(c.Start) {
				created.Values[i][qi] += c.Created
				closed.Values[i][qi] += c.Closed
			}
		}
	}
	return created, closed
}

func next(t time.Time, p store.Period) time.Time {
	switch p {
	case store.Week:
		return t.AddDate(0, 0, 7)
	case store.Month:
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

// dur writes a duration for people: 0 as "–", else minutes, hours or days.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
}
