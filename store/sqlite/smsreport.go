package sqlite

import (
	"context"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

func (o *ops) Batches(ctx context.Context, f store.BatchFilter) ([]store.Batch, error) {
	limit, err := rules.Limit(f.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.BatchCols+` FROM sms_batches
		WHERE (?1 = 0 OR client_id = ?1) AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3`, f.ClientID, f.BeforeID, limit)
	if err != nil {
		return nil, wrap("batches", err)
	}
	return collect(rows, scan.Batch, "batches")
}

func (o *ops) BatchQueue(ctx context.Context, batchID int64) ([]store.QueuedGroup, error) {
	var out []store.QueuedGroup
	read := func(o *ops) error {
		if _, err := o.Batch(ctx, batchID); err != nil {
			return err
		}
		rows, err := o.q().QueryContext(ctx, `SELECT operator_id, COUNT(*), MIN(next_attempt_at) FROM sms_transmissions
			WHERE batch_id = ? AND state = 'queued' GROUP BY operator_id ORDER BY operator_id`, batchID)
		if err != nil {
			return wrap("batch queue", err)
		}
		out, err = collect(rows, scan.QueuedGroup, "batch queue")
		return err
	}
	if o.tx != nil {
		return out, read(o)
	}
	return out, o.db.readTx(ctx, read)
}

const hourMicros = 3600 * 1000000

func (o *ops) TransmissionHours(ctx context.Context, q store.HourQuery) ([]store.HourCount, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT created_at / ?4 * ?4 AS hour, state, COUNT(*) FROM sms_transmissions
		WHERE created_at >= ?1 AND created_at < ?2 AND (?3 = 0 OR client_id = ?3) GROUP BY hour, state ORDER BY hour, state`,
		tm0(rules.Time(q.From)), tm0(rules.HourEnd(q.To)), q.ClientID, hourMicros)
	if err != nil {
		return nil, wrap("transmission hours", err)
	}
	return collect(rows, scan.HourCount, "transmission hours")
}
