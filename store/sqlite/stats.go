package sqlite

import (
	"context"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// bucketExpr is the SQL for the start (Unix seconds, UTC) of the period
// holding the microsecond timestamp column col.
func bucketExpr(p store.Period, col string) string {
	day := `(` + col + ` / 86400000000)`
	switch p {
	case store.Week:
		// 1970-01-01 was a Thursday: Monday-based week start.
		return `((` + day + ` - ((` + day + ` + 3) % 7)) * 86400)`
	case store.Month:
		return `CAST(strftime('%s', ` + col + ` / 1000000, 'unixepoch', 'start of month') AS INTEGER)`
	}
	return `(` + day + ` * 86400)`
}

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
	rows, err := o.q().QueryContext(ctx, `SELECT `+bucketExpr(q.Period, "e.at")+` AS bucket, `+key+`,
			SUM(e.kind = 'created'), SUM(e.kind = 'closed')
		FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id `+join+`
		WHERE e.kind IN ('created', 'closed') AND e.at >= ? AND e.at < ?
		GROUP BY 1, 2 ORDER BY 1, 2`, tm0(rules.Time(q.From)), tm0(rules.Time(q.To)))
	if err != nil {
		return nil, wrap("ticket counts", err)
	}
	return collect(rows, func(sc scan.Row) (store.TicketCount, error) {
		var c store.TicketCount
		var start int64
		err := sc.Scan(&start, &c.KeyID, &c.Key, &c.Created, &c.Closed)
		c.Start = time.Unix(start, 0).UTC()
		return c, err
	}, "ticket counts")
}

func (o *ops) ResponseTimes(ctx context.Context, q store.ResponseQuery) (store.ResponseTimes, error) {
	var rt store.ResponseTimes
	read := func(o *ops) error {
		for _, m := range []struct {
			end  string
			into *store.DurationStats
		}{
			{`first_response_at`, &rt.FirstResponse},
			{`CASE WHEN state = 'closed' THEN closed_at END`, &rt.Resolution},
		} {
			rows, err := o.q().QueryContext(ctx, `SELECT d FROM (SELECT `+m.end+` - created_at AS d FROM tickets
				WHERE created_at >= ? AND created_at < ? AND (? = 0 OR queue_id = ?)) WHERE d IS NOT NULL`,
				tm0(rules.Time(q.From)), tm0(rules.Time(q.To)), q.QueueID, q.QueueID)
			if err != nil {
				return wrap("response times", err)
			}
			ds, err := collect(rows, func(sc scan.Row) (time.Duration, error) {
				var us int64
				err := sc.Scan(&us)
				return time.Duration(us) * time.Microsecond, err
			}, "response times")
			if err != nil {
				return err
			}
			*m.into = store.Summarize(ds)
			m.into.Median, m.into.P90 = rules.RoundMicro(m.into.Median), rules.RoundMicro(m.into.P90)
		}
		return nil
	}
	if o.tx != nil {
		return rt, read(o)
	}
	return rt, o.db.readTx(ctx, read)
}

func (o *ops) Backlog(ctx context.Context) ([]store.BacklogRow, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT q.id, q.name, SUM(t.state = 'new'), SUM(t.state = 'open'),
		SUM(t.state = 'pending') FROM tickets t JOIN ticket_queues q ON q.id = t.queue_id
		WHERE t.state <> 'closed' GROUP BY q.id, q.name ORDER BY q.id`)
	if err != nil {
		return nil, wrap("backlog", err)
	}
	return collect(rows, scan.Backlog, "backlog")
}
