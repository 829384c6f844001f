package postgres

import (
	"context"
	"math"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// truncUnit maps a period to date_trunc's unit; PostgreSQL weeks are ISO
// weeks, starting on Monday.
var truncUnit = map[store.Period]string{store.Day: "day", store.Week: "week", store.Month: "month"}

func (o *ops) TicketCounts(ctx context.Context, q store.CountQuery) ([]store.TicketCount, error) {
	if err := rules.Period(q.Period); err != nil {
		return nil, err
	}
	if err := rules.GroupBy(q.GroupBy); err != nil {
		return nil, err
	}
	key, join := `t.queue_id, k.name`, `JOIN ticket_queues k ON k.id = t.queue_id`
	if q.GroupBy == store.ByCustomer {
		key, join = `COALESCE(t.customer_id, 0), COALESCE(k.email, '')`, `LEFT JOIN ticket_customers k ON k.id = t.customer_id`
	}
	rows, err := o.q().Query(ctx, `SELECT date_trunc($1, e.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, `+key+`,
			COUNT(*) FILTER (WHERE e.kind = 'created'), COUNT(*) FILTER (WHERE e.kind = 'closed')
		FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id `+join+`
		WHERE e.kind IN ('created', 'closed') AND e.at >= $2 AND e.at < $3
		GROUP BY 1, 2, 3 ORDER BY 1, 2`, truncUnit[q.Period], tm0(rules.Time(q.From)), tm0(rules.Time(q.To)))
	if err != nil {
		return nil, wrap("ticket counts", err)
	}
	return collect(rows, func(sc scan.Row) (store.TicketCount, error) {
		var c store.TicketCount
		err := sc.Scan(&c.Start, &c.KeyID, &c.Key, &c.Created, &c.Closed)
		c.Start = c.Start.UTC()
		return c, err
	}, "ticket counts")
}

func (o *ops) ResponseTimes(ctx context.Context, q store.ResponseQuery) (store.ResponseTimes, error) {
	var rt store.ResponseTimes
	// percentile_cont interpolates linearly, like store.Percentile;
	// durations are taken in microseconds, the stored precision.
	err := o.q().QueryRow(ctx, `WITH t AS (
			SELECT extract(epoch FROM first_response_at - created_at) * 1e6 AS fr,
				extract(epoch FROM CASE WHEN state = 'closed' THEN closed_at END - created_at) * 1e6 AS res
			FROM tickets WHERE created_at >= $1 AND created_at < $2 AND ($3 = 0 OR queue_id = $3))
		SELECT count(fr), COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY fr::float8), 0),
			COALESCE(percentile_cont(0.9) WITHIN GROUP (ORDER BY fr::float8), 0),
			count(res), COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY res::float8), 0),
			COALESCE(percentile_cont(0.9) WITHIN GROUP (ORDER BY res::float8), 0)
		FROM t`, tm0(rules.Time(q.From)), tm0(rules.Time(q.To)), q.QueueID).
		Scan(&rt.FirstResponse.Count, micro{&rt.FirstResponse.Median}, micro{&rt.FirstResponse.P90},
			&rt.Resolution.Count, micro{&rt.Resolution.Median}, micro{&rt.Resolution.P90})
	return rt, wrap("response times", err)
}

// micro scans a float of microseconds into a duration.
type micro struct{ d *time.Duration }

func (m micro) Scan(v any) error {
	f, _ := v.(float64)
	*m.d = time.Duration(math.Round(f)) * time.Microsecond
	return nil
}

func (o *ops) Backlog(ctx context.Context) ([]store.BacklogRow, error) {
	rows, err := o.q().Query(ctx, `SELECT q.id, q.name, COUNT(*) FILTER (WHERE t.state = 'new'),
		COUNT(*) FILTER (WHERE t.state = 'open'), COUNT(*) FILTER (WHERE t.state = 'pending')
		FROM tickets t JOIN ticket_queues q ON q.id = t.queue_id
		WHERE t.state <> 'closed' GROUP BY q.id, q.name ORDER BY q.id`)
	if err != nil {
		return nil, wrap("backlog", err)
	}
	return collect(rows, scan.Backlog, "backlog")
}
