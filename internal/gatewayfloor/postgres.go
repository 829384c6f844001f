package gatewayfloor

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-go/switchboard/store/postgres"
)

// MeasurePostgres is Measure on the PostgreSQL database at url (which it
// migrates to the store's schema): the same life of n messages, each
// step one statement over arrays (COPY for the load), split over workers
// connections working at once, each on messages of its own operator.
func MeasurePostgres(ctx context.Context, url string, n, workers int) (float64, error) {
	st, err := postgres.Open(ctx, url, nil) // the schema
	if err != nil {
		return 0, err
	}
	st.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var client, batch int64
	if err := conn.QueryRow(ctx, `INSERT INTO sms_clients (name, created_at) VALUES ('floor', now()) RETURNING id`).
		Scan(&client); err != nil {
		return 0, err
	}
	if err := conn.QueryRow(ctx, `INSERT INTO sms_batches (client_id, name, total, created_at) VALUES ($1, 'floor', 0, now())
		RETURNING id`, client).Scan(&batch); err != nil {
		return 0, err
	}
	conns := make([]*pgx.Conn, workers)
	for w := range conns {
		if conns[w], err = pgx.Connect(ctx, url); err != nil {
			return 0, err
		}
		defer conns[w].Close(ctx)
	}
	start := time.Now()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{client, batch, int64(1 + i%workers), fmt.Sprintf("58414%07d", i), body, "queued",
			fmt.Sprintf("floor/%d", i), start}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"sms_transmissions"}, []string{"client_id", "batch_id", "operator_id",
		"destination", "body", "state", "external_id", "created_at"}, pgx.CopyFromRows(rows)); err != nil {
		return 0, err
	}
	errs := make(chan error, workers)
	for w, c := range conns {
		go func() { errs <- sendAll(ctx, c, int64(w+1)) }()
	}
	for range conns {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	elapsed := time.Since(start)
	var got int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM sms_transmissions WHERE state = 'delivered'`).Scan(&got); err != nil {
		return 0, err
	}
	if got != n {
		return 0, fmt.Errorf("gateway floor: %d of %d delivered", got, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// sendAll claims, submits and delivers the messages of an operator until
// none is queued.
func sendAll(ctx context.Context, conn *pgx.Conn, operator int64) error {
	now := time.Now()
	for {
		var ids []int64
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `UPDATE sms_transmissions SET state = 'submitting', claimed_at = $1,
				attempts = attempts + 1 WHERE id IN (SELECT id FROM sms_transmissions WHERE state = 'queued'
				AND operator_id = $3 AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
				RETURNING id, destination, body`, now, window, operator)
			if err != nil {
				return err
			}
			ids, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
				var id int64
				var destination, text string
				err := r.Scan(&id, &destination, &text)
				return id, err
			})
			return err
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		for k := 0; k < len(ids); k += chunk {
			part := ids[k:min(k+chunk, len(ids))]
			mids := make([]string, len(part))
			for i, id := range part {
				mids[i] = messageID(id)
			}
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				b := &pgx.Batch{}
				b.Queue(`UPDATE sms_transmissions t SET state = 'sent', submitted_at = $1, segments = 1, message_id = v.mid,
					claimed_at = NULL FROM unnest($2::bigint[], $3::text[]) AS v (id, mid) WHERE t.id = v.id`, now, part, mids)
				b.Queue(`INSERT INTO sms_segments (transmission_id, segment, operator_id, message_id)
					SELECT id, 1, $3, mid FROM unnest($1::bigint[], $2::text[]) AS v (id, mid)`, part, mids, operator)
				return tx.SendBatch(ctx, b).Close()
			})
			if err != nil {
				return err
			}
		}
		for k := 0; k < len(ids); k += chunk {
			part := ids[k:min(k+chunk, len(ids))]
			mids := make([]string, len(part))
			for i, id := range part {
				mids[i] = messageID(id)
			}
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				b := &pgx.Batch{}
				b.Queue(`UPDATE sms_segments SET state = 'delivered', done_at = $1
					WHERE operator_id = $3 AND message_id = ANY($2::text[])`, now, mids, operator)
				b.Queue(`UPDATE sms_transmissions SET state = 'delivered', done_at = $1 WHERE id = ANY($2::bigint[])`, now, part)
				return tx.SendBatch(ctx, b).Close()
			})
			if err != nil {
				return err
			}
		}
	}
}
