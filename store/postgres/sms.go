package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// Operators -----------------------------------------------------------

func (o *ops) CreateOperator(ctx context.Context, op *store.Operator) error {
	if err := rules.Operator(op); err != nil {
		return err
	}
	op.CreatedAt = rules.Now()
	op.UpdatedAt = op.CreatedAt
	return wrap("create operator", o.write(ctx, func(o *ops) error {
		if err := o.tx.QueryRow(ctx, `INSERT INTO sms_operators (name, host, port, system_id, password,
			system_type, bind_mode, tls, window_size, tps, enquire_link_us, binds, is_default, enabled, created_at, updated_at,
			priority, weight, kind, device, baud, pin, smsc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) RETURNING id`,
			op.Name, op.Host, op.Port, op.SystemID, op.Password, op.SystemType, op.BindMode, op.TLS, op.WindowSize,
			op.TPS, op.EnquireLink.Microseconds(), op.Binds, op.Default, op.Enabled, tm(op.CreatedAt),
			tm(op.UpdatedAt), op.Priority, op.Weight, op.Kind, op.Modem.Device, op.Modem.Baud, op.Modem.PIN, op.Modem.SMSC).Scan(&op.ID); err != nil {
			return err
		}
		return o.putOperatorChildren(ctx, op)
	}))
}

func (o *ops) UpdateOperator(ctx context.Context, op *store.Operator) error {
	if err := rules.Operator(op); err != nil {
		return err
	}
	op.UpdatedAt = rules.Now()
	return wrap("update operator", o.write(ctx, func(o *ops) error {
		res, err := o.tx.Exec(ctx, `UPDATE sms_operators SET name = $1, host = $2, port = $3, system_id = $4,
			password = $5, system_type = $6, bind_mode = $7, tls = $8, window_size = $9, tps = $10, enquire_link_us = $11,
			binds = $12, is_default = $13, enabled = $14, updated_at = GREATEST($15, updated_at + interval '1 microsecond'),
			priority = $16, weight = $17, kind = $18, device = $19, baud = $20, pin = $21, smsc = $22 WHERE id = $23`,
			op.Name, op.Host, op.Port, op.SystemID, op.Password, op.SystemType, op.BindMode, op.TLS, op.WindowSize,
			op.TPS, op.EnquireLink.Microseconds(), op.Binds, op.Default, op.Enabled, tm(op.UpdatedAt), op.Priority,
			op.Weight, op.Kind, op.Modem.Device, op.Modem.Baud, op.Modem.PIN, op.Modem.SMSC, op.ID)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		for _, t := range []string{"sms_operator_params", "sms_operator_prefixes", "sms_source_numbers"} {
			if _, err := o.tx.Exec(ctx, `DELETE FROM `+t+` WHERE operator_id = $1`, op.ID); err != nil {
				return err
			}
		}
		if err := o.putOperatorChildren(ctx, op); err != nil {
			return err
		}
		stored, err := o.Operator(ctx, op.ID)
		op.CreatedAt, op.UpdatedAt = stored.CreatedAt, stored.UpdatedAt
		return err
	}))
}

func (o *ops) putOperatorChildren(ctx context.Context, op *store.Operator) error {
	for _, p := range op.Params {
		if _, err := o.tx.Exec(ctx, `INSERT INTO sms_operator_params (operator_id, command, name, value)
			VALUES ($1, $2, $3, $4)`, op.ID, p.Command, p.Name, p.Value); err != nil {
			return err
		}
	}
	for _, p := range op.Prefixes {
		if _, err := o.tx.Exec(ctx, `INSERT INTO sms_operator_prefixes (prefix, operator_id) VALUES ($1, $2)`,
			p, op.ID); err != nil {
			return fmt.Errorf("prefix %q: %w", p, err)
		}
	}
	for _, s := range op.Sources {
		if _, err := o.tx.Exec(ctx, `INSERT INTO sms_source_numbers (operator_id, number) VALUES ($1, $2)`,
			op.ID, s); err != nil {
			return err
		}
	}
	return nil
}

func (o *ops) DeleteOperator(ctx context.Context, id int64) error {
	return wrap("delete operator", o.write(ctx, func(o *ops) error {
		res, err := o.tx.Exec(ctx, `DELETE FROM sms_operators WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return nil
	}))
}

func (o *ops) Operator(ctx context.Context, id int64) (store.Operator, error) {
	ops, err := o.operators(ctx, id)
	if err != nil {
		return store.Operator{}, err
	}
	if len(ops) == 0 {
		return store.Operator{}, fmt.Errorf("postgres: operator %d: %w", id, store.ErrNotFound)
	}
	return ops[0], nil
}

func (o *ops) Operators(ctx context.Context) ([]store.Operator, error) { return o.operators(ctx, 0) }

// operators reads one operator (id > 0) or all, with their children.
func (o *ops) operators(ctx context.Context, id int64) ([]store.Operator, error) {
	var out []store.Operator
	read := func(o *ops) error {
		rows, err := o.q().Query(ctx, `SELECT `+scan.OperatorCols+` FROM sms_operators WHERE $1 = 0 OR id = $2 ORDER BY id`, id, id)
		if err != nil {
			return wrap("operators", err)
		}
		if out, err = collect(rows, scan.Operator, "operators"); err != nil {
			return err
		}
		byID := map[int64]*store.Operator{}
		for i := range out {
			byID[out[i].ID] = &out[i]
		}
		children := []struct {
			query string
			add   func(sc pgx.Rows) error
		}{
			{`SELECT operator_id, command, name, value FROM sms_operator_params ORDER BY operator_id, command, name`,
				func(sc pgx.Rows) error {
					var oid int64
					var p store.OperatorParam
					if err := sc.Scan(&oid, &p.Command, &p.Name, &p.Value); err != nil {
						return err
					}
					if op := byID[oid]; op != nil {
						op.Params = append(op.Params, p)
					}
					return nil
				}},
			{`SELECT operator_id, prefix FROM sms_operator_prefixes ORDER BY operator_id, prefix`,
				func(sc pgx.Rows) error {
					return scanChild(sc, byID, func(op *store.Operator, v string) { op.Prefixes = append(op.Prefixes, v) })
				}},
			{`SELECT operator_id, number FROM sms_source_numbers ORDER BY operator_id, number`,
				func(sc pgx.Rows) error {
					return scanChild(sc, byID, func(op *store.Operator, v string) { op.Sources = append(op.Sources, v) })
				}},
		}
		for _, c := range children {
			rows, err := o.q().Query(ctx, c.query)
			if err != nil {
				return wrap("operators", err)
			}
			for rows.Next() {
				if err := c.add(rows); err != nil {
					rows.Close()
					return wrap("operators", err)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return wrap("operators", err)
			}
		}
		return nil
	}
	return out, o.readTx(ctx, read)
}

func scanChild(sc pgx.Rows, byID map[int64]*store.Operator, add func(*store.Operator, string)) error {
	var oid int64
	var v string
	if err := sc.Scan(&oid, &v); err != nil {
		return err
	}
	if op := byID[oid]; op != nil {
		add(op, v)
	}
	return nil
}

// Clients ---------------------------------------------------------------

func (o *ops) CreateClient(ctx context.Context, c *store.Client) error {
	if c.Name == "" {
		return fmt.Errorf("%w: client without name", store.ErrInvalid)
	}
	c.CreatedAt = rules.Or(c.CreatedAt)
	return wrap("create client", o.write(ctx, func(o *ops) error {
		return o.tx.QueryRow(ctx, `INSERT INTO sms_clients (name, created_at) VALUES ($1, $2) RETURNING id`,
			c.Name, tm(c.CreatedAt)).Scan(&c.ID)
	}))
}

func (o *ops) Client(ctx context.Context, id int64) (store.Client, error) {
	return o.client(ctx, "id", id)
}

func (o *ops) ClientByName(ctx context.Context, name string) (store.Client, error) {
	return o.client(ctx, "name", name)
}

func (o *ops) client(ctx context.Context, col string, v any) (store.Client, error) {
	var c store.Client
	err := o.q().QueryRow(ctx, `SELECT id, name, created_at FROM sms_clients WHERE `+col+` = $1`, v).
		Scan(&c.ID, &c.Name, scan.Time(&c.CreatedAt))
	return c, wrap("client", err)
}

// Batches and transmissions ----------------------------------------------

// setInsertedIDs gives the transmissions inserted by CreateBatch their
// ids: by external id, and for those without one (never skipped) in
// order, as ids are drawn in insertion order.
func setInsertedIDs(rows pgx.Rows, txs []store.Transmission) error {
	defer rows.Close()
	byExt := map[string]int{}
	var plain []int
	for i := range txs {
		if txs[i].ExternalID != "" {
			byExt[txs[i].ExternalID] = i
		} else {
			plain = append(plain, i)
		}
	}
	var got []int64 // ids of rows without external id
	for rows.Next() {
		var id int64
		var ext *string
		if err := rows.Scan(&id, &ext); err != nil {
			return err
		}
		if ext == nil {
			got = append(got, id)
		} else if i, ok := byExt[*ext]; ok {
			txs[i].ID = id
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	slices.Sort(got)
	for k, i := range plain {
		if k < len(got) {
			txs[i].ID = got[k]
		}
	}
	return nil
}

func (o *ops) CreateBatch(ctx context.Context, b *store.Batch, txs []store.Transmission) (inserted, duplicates int, err error) {
	if b.ClientID == 0 {
		return 0, 0, fmt.Errorf("%w: batch without client", store.ErrInvalid)
	}
	b.CreatedAt = rules.Or(b.CreatedAt)
	err = o.write(ctx, func(o *ops) error {
		err := o.tx.QueryRow(ctx, `INSERT INTO sms_batches (client_id, name, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (client_id, name) WHERE name <> '' DO UPDATE SET name = excluded.name
			RETURNING id, created_at`, b.ClientID, b.Name, tm(b.CreatedAt)).Scan(&b.ID, scan.Time(&b.CreatedAt))
		if err != nil {
			return err
		}
		for i := range txs {
			if err := rules.Transmission(&txs[i], b); err != nil {
				return fmt.Errorf("transmission %d: %w", i, err)
			}
		}
		// COPY into a temporary table, then one INSERT ... SELECT that
		// skips the rows already stored: one round trip per batch instead
		// of one per row.
		if _, err := o.tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS sms_load (ord integer, external_id text,
			operator_id bigint, source text, destination text, body text, state text, reason text, error_code integer,
			next_attempt_at timestamptz, created_at timestamptz, done_at timestamptz) ON COMMIT DROP`); err != nil {
			return err
		}
		cols := []string{"ord", "external_id", "operator_id", "source", "destination", "body", "state", "reason",
			"error_code", "next_attempt_at", "created_at", "done_at"}
		if _, err := o.tx.CopyFrom(ctx, pgx.Identifier{"sms_load"}, cols, pgx.CopyFromSlice(len(txs), func(i int) ([]any, error) {
			t := &txs[i]
			return []any{i, scan.NullStr(t.ExternalID), t.OperatorID, t.Source, t.Destination, t.Text, string(t.State),
				t.Reason, t.ErrorCode, tm0(t.NextAttempt), t.CreatedAt, tm(t.DoneAt)}, nil
		})); err != nil {
			return err
		}
		rows, err := o.tx.Query(ctx, `INSERT INTO sms_transmissions (external_id, client_id, batch_id, operator_id,
			source, destination, body, state, reason, error_code, next_attempt_at, created_at, done_at)
			SELECT external_id, $1, $2, operator_id, source, destination, body, state, reason, error_code,
				next_attempt_at, created_at, done_at
			FROM sms_load ORDER BY ord ON CONFLICT DO NOTHING RETURNING id, external_id`, b.ClientID, b.ID)
		if err != nil {
			return err
		}
		if err := setInsertedIDs(rows, txs); err != nil {
			return err
		}
		inserted = int(rows.CommandTag().RowsAffected())
		duplicates = len(txs) - inserted
		if _, err := o.tx.Exec(ctx, `TRUNCATE sms_load`); err != nil {
			return err
		}
		return o.tx.QueryRow(ctx, `UPDATE sms_batches SET total = (SELECT COUNT(*) FROM sms_transmissions
			WHERE batch_id = $1) WHERE id = $2 RETURNING total`, b.ID, b.ID).Scan(&b.Total)
	})
	if err != nil {
		return 0, 0, wrap("create batch", err)
	}
	return inserted, duplicates, nil
}

func (o *ops) Batch(ctx context.Context, id int64) (store.Batch, error) {
	var b store.Batch
	err := o.q().QueryRow(ctx, `SELECT id, client_id, name, total, created_at FROM sms_batches WHERE id = $1`, id).
		Scan(&b.ID, &b.ClientID, &b.Name, &b.Total, scan.Time(&b.CreatedAt))
	return b, wrap("batch", err)
}

func (o *ops) BatchSummary(ctx context.Context, batchID int64) (store.BatchSummary, error) {
	return o.LoadSummary(ctx, batchID, 0, 0) // the whole batch: the count reads only its index
}

func (o *ops) LoadSummary(ctx context.Context, batchID, fromID, toID int64) (store.BatchSummary, error) {
	s := store.BatchSummary{ByState: map[store.TransmissionState]int{}}
	read := func(o *ops) error {
		var err error
		if s.Batch, err = o.Batch(ctx, batchID); err != nil {
			return err
		}
		rows, err := o.q().Query(ctx, `SELECT state, COUNT(*) FROM sms_transmissions WHERE batch_id = $1 AND ($2 = 0 AND $3 = 0 OR id BETWEEN $2 AND $3)
			GROUP BY state`, batchID, fromID, toID)
		if err != nil {
			return wrap("batch summary", err)
		}
		defer rows.Close()
		for rows.Next() {
			var st store.TransmissionState
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				return wrap("batch summary", err)
			}
			s.ByState[st] = n
		}
		return wrap("batch summary", rows.Err())
	}
	return s, o.readTx(ctx, read)
}

func (o *ops) LoadPending(ctx context.Context, batchID, fromID, toID int64) (bool, error) {
	var pending, exists bool
	err := o.q().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sms_transmissions WHERE batch_id = $1
			AND state IN ('queued', 'submitting', 'sent') AND ($2 = 0 AND $3 = 0 OR id BETWEEN $2 AND $3)),
		EXISTS (SELECT 1 FROM sms_batches WHERE id = $1)`, batchID, fromID, toID).Scan(&pending, &exists)
	if err == nil && !exists {
		err = fmt.Errorf("batch %d: %w", batchID, store.ErrNotFound)
	}
	return pending, wrap("load pending", err)
}

func (o *ops) Transmission(ctx context.Context, id int64) (store.Transmission, error) {
	t, err := scan.Transmission(o.q().QueryRow(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions WHERE id = $1`, id))
	return t, wrap("transmission", err)
}

func (o *ops) BatchTransmissions(ctx context.Context, batchID, afterID int64, limit int) ([]store.Transmission, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE batch_id = $1 AND id > $2 ORDER BY id LIMIT $3`, batchID, afterID, limit)
	if err != nil {
		return nil, wrap("batch transmissions", err)
	}
	return collect(rows, scan.Transmission, "batch transmissions")
}

func (o *ops) OrphanedOperators(ctx context.Context) ([]int64, error) {
	rows, err := o.q().Query(ctx, `SELECT DISTINCT operator_id FROM sms_transmissions
		WHERE state IN ('queued', 'sent') AND operator_id <> 0 AND operator_id NOT IN (SELECT id FROM sms_operators)
		ORDER BY operator_id`)
	if err != nil {
		return nil, wrap("orphaned operators", err)
	}
	return collect(rows, func(sc scan.Row) (int64, error) {
		var id int64
		return id, sc.Scan(&id)
	}, "orphaned operators")
}

func (o *ops) QueuedTransmissions(ctx context.Context, operatorID, afterID int64, limit int) ([]store.Transmission, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE operator_id = $1 AND state = 'queued' AND id > $2 ORDER BY id LIMIT $3`, operatorID, afterID, limit)
	if err != nil {
		return nil, wrap("queued transmissions", err)
	}
	return collect(rows, scan.Transmission, "queued transmissions")
}

func (o *ops) RouteTransmission(ctx context.Context, txID, operatorID int64) error {
	return o.transition(ctx, "route transmission", txID, `operator_id = $1`, `state = 'queued'`, operatorID)
}

func (o *ops) ClaimTransmissions(ctx context.Context, operatorID int64, n int, now time.Time) ([]store.Transmission, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: claim count %d", store.ErrInvalid, n)
	}
	now = rules.Or(now)
	var out []store.Transmission
	err := o.write(ctx, func(o *ops) error {
		// SKIP LOCKED: concurrent claimers (other connections, other
		// processes) pass over the rows being claimed instead of waiting
		// for them; the state check is repeated on the locked row.
		rows, err := o.tx.Query(ctx, `UPDATE sms_transmissions SET state = 'submitting', claimed_at = $1,
			attempts = attempts + 1 WHERE id IN (SELECT id FROM sms_transmissions
				WHERE state = 'queued' AND operator_id = $2 AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3
				FOR UPDATE SKIP LOCKED)
			RETURNING `+scan.TransmissionCols, now, operatorID, n)
		if err != nil {
			return err
		}
		out, err = collect(rows, scan.Transmission, "claim")
		return err
	})
	if err != nil {
		return nil, wrap("claim", err)
	}
	slices.SortFunc(out, func(a, b store.Transmission) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func (o *ops) RecordSubmit(ctx context.Context, txID int64, r store.SubmitResult) error {
	if len(r.MessageIDs) == 0 {
		return fmt.Errorf("%w: submit result without message ids", store.ErrInvalid)
	}
	r = rules.SubmitIDs(r)
	at := rules.Or(r.At)
	return wrap("record submit", o.write(ctx, func(o *ops) error {
		// One round trip marks it sent if it is submitting...
		var operatorID int64
		err := o.tx.QueryRow(ctx, `UPDATE sms_transmissions SET state = 'sent', submitted_at = $1, segments = $2,
			message_id = $3, claimed_at = NULL, reason = '', error_code = 0 WHERE id = $4 AND state = 'submitting'
			RETURNING operator_id`, tm(at), len(r.MessageIDs), r.MessageIDs[0], txID).Scan(&operatorID)
		if errors.Is(err, pgx.ErrNoRows) {
			t, err := o.Transmission(ctx, txID)
			if err != nil {
				return err
			}
			return fmt.Errorf("transmission %d is %s, not submitting: %w", txID, t.State, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		// ...and one batch locks its message ids, then stores each segment
		// with the receipt that arrived before it, if any.
		b := &pgx.Batch{}
		b.Queue(advisoryLockSQL, receiptKeys(operatorID, r.MessageIDs))
		for i, mid := range r.MessageIDs {
			b.Queue(`WITH p AS (DELETE FROM sms_pending_receipts WHERE operator_id = $3 AND message_id = $4
					AND received_at >= $5 AND (submitted_at IS NULL OR abs(extract(epoch FROM submitted_at - $6::timestamptz)) <= COALESCE(date_tolerance, $7))
					RETURNING state, error_code, done_at)
				INSERT INTO sms_segments (transmission_id, segment, operator_id, message_id, state, error_code, done_at)
				SELECT $1, $2, $3, $4, COALESCE(p.state, ''), COALESCE(p.error_code, 0), p.done_at
				FROM (SELECT 1) AS one LEFT JOIN p ON true
				RETURNING state <> ''`, txID, i+1, operatorID, mid, tm(at.Add(-store.PendingReceiptWindow)), at,
				store.ReceiptDateTolerance.Seconds())
		}
		br := o.tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		pending := false
		for range r.MessageIDs {
			var had bool
			if err := br.QueryRow().Scan(&had); err != nil {
				br.Close()
				return err
			}
			pending = pending || had
		}
		if err := br.Close(); err != nil {
			return err
		}
		if pending {
			_, err := o.settle(ctx, txID)
			return err
		}
		return nil
	}))
}

// lockReceipts serializes, until the transaction ends, the recording of
// message ids with the receipts for them. Without it a receipt could miss a
// segment that is inserted but not yet committed, and park itself as
// pending after RecordSubmit looked for pending receipts: lost.
func (o *ops) lockReceipts(ctx context.Context, operatorID int64, messageIDs ...string) error {
	return o.advisoryLocks(ctx, receiptKeys(operatorID, messageIDs))
}

func receiptKeys(operatorID int64, messageIDs []string) []string {
	keys := make([]string, len(messageIDs))
	for i, m := range messageIDs {
		keys[i] = "receipt:" + strconv.FormatInt(operatorID, 10) + ":" + m
	}
	return keys
}

// settle recomputes a sent transmission's state from its segments.
func (o *ops) settle(ctx context.Context, txID int64) (store.Transmission, error) {
	rows, err := o.tx.Query(ctx, `SELECT state, error_code, done_at FROM sms_segments WHERE transmission_id = $1
		ORDER BY segment`, txID)
	if err != nil {
		return store.Transmission{}, err
	}
	var states []store.TransmissionState
	var code int
	var done time.Time
	for rows.Next() {
		var s store.TransmissionState
		var c int
		var d time.Time
		if err := rows.Scan(&s, &c, scan.Time(&d)); err != nil {
			rows.Close()
			return store.Transmission{}, err
		}
		states = append(states, s)
		if s != "" && s != store.TxDelivered && code == 0 {
			code = c
		}
		if d.After(done) {
			done = d
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Transmission{}, err
	}
	state := rules.Aggregate(states)
	if !state.Final() {
		done = time.Time{}
	}
	// Receipt times are often cut to the minute: one in the minute of the
	// submission but before it takes the submission's time.
	return scan.Transmission(o.tx.QueryRow(ctx, `UPDATE sms_transmissions SET state = $1, error_code = $2,
		done_at = CASE WHEN $3::timestamptz < submitted_at AND $3::timestamptz > submitted_at - interval '1 minute'
			THEN submitted_at ELSE $3::timestamptz END
		WHERE id = $4 RETURNING `+scan.TransmissionCols, state, code, tm(done), txID))
}

func (o *ops) RetryTransmission(ctx context.Context, txID int64, next time.Time, errorCode int, reason string) error {
	return o.transition(ctx, "retry transmission", txID, `state = 'queued', next_attempt_at = $1, error_code = $2,
		reason = $3, claimed_at = NULL`, `state = 'submitting'`, tm0(rules.Time(next)), errorCode, reason)
}

func (o *ops) FailTransmission(ctx context.Context, txID int64, errorCode int, reason string, at time.Time) error {
	return o.EndTransmission(ctx, txID, store.TxFailed, errorCode, reason, at)
}

func (o *ops) EndTransmission(ctx context.Context, txID int64, state store.TransmissionState, errorCode int, reason string, at time.Time) error {
	if !state.Final() {
		return fmt.Errorf("%w: end transmission %d as %q, not a final state", store.ErrInvalid, txID, state)
	}
	return o.transition(ctx, "end transmission", txID, `state = $1, error_code = $2, reason = $3, done_at = $4,
		claimed_at = NULL`, `state IN ('queued', 'submitting', 'sent')`, string(state), errorCode, reason, tm(rules.Or(at)))
}

// transition updates a transmission that is in an expected state, telling
// ErrNotFound from ErrConflict when it is not.
func (o *ops) transition(ctx context.Context, what string, txID int64, set, cond string, args ...any) error {
	return wrap(what, o.write(ctx, func(o *ops) error {
		res, err := o.tx.Exec(ctx, `UPDATE sms_transmissions SET `+set+` WHERE id = $`+strconv.Itoa(len(args)+1)+` AND `+cond,
			append(args, txID)...)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 1 {
			return nil
		}
		t, err := o.Transmission(ctx, txID)
		if err != nil {
			return err
		}
		return fmt.Errorf("transmission %d is %s: %w", txID, t.State, store.ErrConflict)
	}))
}

func (o *ops) RenewClaims(ctx context.Context, ids []int64, now time.Time) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := o.write(ctx, func(o *ops) error {
		tag, err := o.tx.Exec(ctx, `UPDATE sms_transmissions SET claimed_at = $1
			WHERE id = ANY($2) AND state = 'submitting'`, tm0(rules.Or(now)), ids)
		n = tag.RowsAffected()
		return err
	})
	return int(n), wrap("renew claims", err)
}

func (o *ops) RequeueStale(ctx context.Context, claimedBefore time.Time) (int, error) {
	var n int64
	err := o.write(ctx, func(o *ops) error {
		res, err := o.tx.Exec(ctx, `UPDATE sms_transmissions SET state = 'queued', claimed_at = NULL,
			reason = $2 WHERE state = 'submitting' AND claimed_at < $1`, tm0(rules.Time(claimedBefore)), store.ReasonStaleClaim)
		n = res.RowsAffected()
		return err
	})
	return int(n), wrap("requeue stale", err)
}

func (o *ops) ApplyReceipt(ctx context.Context, r store.DeliveryReceipt) (store.Transmission, bool, error) {
	if err := rules.Receipt(&r); err != nil {
		return store.Transmission{}, false, err
	}
	var t store.Transmission
	matched := false
	err := o.write(ctx, func(o *ops) error {
		if err := o.lockReceipts(ctx, r.OperatorID, r.MessageID); err != nil {
			return err
		}
		var txID int64
		// The most recent submission of the id (of those whose time fits
		// the receipt's submit date, when it names one), if it waits.
		err := o.tx.QueryRow(ctx, `UPDATE sms_segments SET state = $1, error_code = $2, done_at = $3
			WHERE operator_id = $4 AND message_id = $5 AND state = ''
				AND seq = (SELECT max(s.seq) FROM sms_segments s WHERE s.operator_id = $4 AND s.message_id = $5
					AND ($6::timestamptz IS NULL OR abs(extract(epoch FROM
						(SELECT submitted_at FROM sms_transmissions WHERE id = s.transmission_id) - $6::timestamptz)) <= $7))
			RETURNING transmission_id`,
			r.State, r.ErrorCode, tm(r.DoneAt), r.OperatorID, r.MessageID,
			tm(r.SubmittedAt), r.DateTolerance.Seconds()).Scan(&txID)
		if errors.Is(err, pgx.ErrNoRows) {
			// The same receipt again (its acknowledgment was lost): it
			// changes nothing and is not kept for a later submission.
			var dupOf int64
			var state store.TransmissionState
			var done time.Time
			err := o.tx.QueryRow(ctx, `SELECT s.transmission_id, s.state, s.done_at FROM sms_segments s
				WHERE s.operator_id = $1 AND s.message_id = $2
				AND ($3::timestamptz IS NULL OR abs(extract(epoch FROM
					(SELECT submitted_at FROM sms_transmissions WHERE id = s.transmission_id) - $3::timestamptz)) <= $4)
				ORDER BY s.seq DESC LIMIT 1`, r.OperatorID, r.MessageID, tm(r.SubmittedAt), r.DateTolerance.Seconds()).
				Scan(&dupOf, &state, scan.Time(&done))
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if err == nil && state == r.State && done.Equal(r.DoneAt) {
				matched = true
				t, err = o.Transmission(ctx, dupOf)
				return err
			}
			_, err = o.tx.Exec(ctx, `INSERT INTO sms_pending_receipts (operator_id, message_id, state, error_code,
				done_at, received_at, raw, submitted_at, date_tolerance) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (operator_id, message_id)
				DO UPDATE SET state = excluded.state, error_code = excluded.error_code, done_at = excluded.done_at,
				received_at = excluded.received_at, raw = excluded.raw, submitted_at = excluded.submitted_at,
				date_tolerance = excluded.date_tolerance`,
				r.OperatorID, r.MessageID, r.State, r.ErrorCode, tm(r.DoneAt), tm(rules.Now()), r.Raw, tm(r.SubmittedAt),
				r.DateTolerance.Seconds())
			return err
		}
		if err != nil {
			return err
		}
		matched = true
		t, err = o.settle(ctx, txID)
		return err
	})
	return t, matched, wrap("apply receipt", err)
}

func (o *ops) UnsettledSegments(ctx context.Context, operatorID int64, submittedBefore time.Time, afterID int64, limit int) ([]store.SentSegment, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.SentSegmentCols+` FROM sms_transmissions t
			JOIN sms_segments s ON s.transmission_id = t.id
			WHERE t.operator_id = $1 AND t.state = 'sent' AND t.submitted_at < $2 AND t.id > $3
			AND s.state = '' ORDER BY t.id, s.segment LIMIT $4`, operatorID, tm0(rules.Time(submittedBefore)), afterID, limit)
	if err != nil {
		return nil, wrap("unsettled segments", err)
	}
	return collect(rows, scan.SentSegment, "unsettled segments")
}

func (o *ops) LastTransmissionTo(ctx context.Context, destination string) (store.Transmission, error) {
	t, err := scan.Transmission(o.q().QueryRow(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE destination = $1 ORDER BY id DESC LIMIT 1`, destination))
	return t, wrap("last transmission", err)
}

func (o *ops) LastClientTransmissionTo(ctx context.Context, clientID int64, destination string) (store.Transmission, error) {
	t, err := scan.Transmission(o.q().QueryRow(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE destination = $1 AND client_id = $2 ORDER BY id DESC LIMIT 1`, destination, clientID))
	return t, wrap("last transmission", err)
}

// MO ------------------------------------------------------------------

func (o *ops) InsertMO(ctx context.Context, m *store.MO) error {
	if m.From == "" {
		return fmt.Errorf("%w: MO without source number", store.ErrInvalid)
	}
	m.ReceivedAt = rules.Or(m.ReceivedAt)
	return wrap("insert MO", o.write(ctx, func(o *ops) error {
		// One MO insert at a time, until its transaction ends: ids then
		// commit in order, so a reader that has seen id n has seen every
		// id below it (MOFilter.AfterID polling misses nothing). Readers
		// are not held up; replies are few.
		if _, err := o.tx.Exec(ctx, `LOCK TABLE sms_mo IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		if m.TransmissionID == 0 {
			err := o.tx.QueryRow(ctx, `SELECT id FROM sms_transmissions WHERE destination = $1
				AND state NOT IN ('queued', 'submitting', 'failed') ORDER BY source = $2 DESC, id DESC LIMIT 1`,
				m.From, m.To).Scan(&m.TransmissionID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		return o.tx.QueryRow(ctx, `INSERT INTO sms_mo (operator_id, source, short_code, body, received_at,
			transmission_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			m.OperatorID, m.From, m.To, m.Text, tm(m.ReceivedAt), m.TransmissionID).Scan(&m.ID)
	}))
}

func (o *ops) MOs(ctx context.Context, f store.MOFilter) ([]store.MO, error) {
	limit, err := rules.Limit(f.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().Query(ctx, `SELECT `+scan.MOCols+` FROM sms_mo WHERE id > $1 AND ($2 = '' OR source = $2)
		AND received_at >= $3 AND ($4 = 0 OR transmission_id = $4) ORDER BY id LIMIT $5`,
		f.AfterID, f.From, tm0(rules.Time(f.Since)), f.TransmissionID, limit)
	if err != nil {
		return nil, wrap("MOs", err)
	}
	return collect(rows, scan.MO, "MOs")
}

func (o *ops) OperatorCounts(ctx context.Context, since time.Time) ([]store.OperatorCount, error) {
	var out []store.OperatorCount
	read := func(o *ops) error {
		out = out[:0]
		idx := map[int64]int{}
		get := func(id int64) *store.OperatorCount {
			i, ok := idx[id]
			if !ok {
				i = len(out)
				idx[id] = i
				out = append(out, store.OperatorCount{OperatorID: id, ByState: map[store.TransmissionState]int{}})
			}
			return &out[i]
		}
		t := tm0(rules.Time(since))
		rows, err := o.q().Query(ctx, `SELECT operator_id, state, COUNT(*) FROM sms_transmissions
			WHERE created_at >= $1 GROUP BY operator_id, state ORDER BY operator_id`, t)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var st store.TransmissionState
			var n int
			if err := rows.Scan(&id, &st, &n); err != nil {
				rows.Close()
				return err
			}
			get(id).ByState[st] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = o.q().Query(ctx, `SELECT operator_id, COUNT(*) FROM sms_transmissions
			WHERE created_at >= $1 AND submitted_at >= $1 GROUP BY operator_id`, t)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			get(id).Submitted = n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		slices.SortFunc(out, func(a, b store.OperatorCount) int { return cmp.Compare(a.OperatorID, b.OperatorID) })
		return nil
	}
	return out, wrap("operator counts", o.readTx(ctx, read))
}

func (o *ops) ReportOperatorHealth(ctx context.Context, h store.OperatorHealth) error {
	if err := rules.Health(&h); err != nil {
		return err
	}
	return wrap("report operator health", o.write(ctx, func(o *ops) error {
		// Only for an operator that exists: ErrNotFound without a foreign
		// key failure, which would end an enclosing transaction.
		tag, err := o.tx.Exec(ctx, `INSERT INTO sms_operator_health (operator_id, process, bound, binds, unbound_since,
			last_error, throughput, reported_at, interval_ms, stopped)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM sms_operators WHERE id = $1)
			ON CONFLICT (operator_id, process) DO UPDATE SET bound = excluded.bound, binds = excluded.binds,
			unbound_since = excluded.unbound_since, last_error = excluded.last_error, throughput = excluded.throughput,
			reported_at = excluded.reported_at, interval_ms = excluded.interval_ms, stopped = excluded.stopped`,
			h.OperatorID, h.Process, h.Bound, h.Binds, tm(h.UnboundSince), h.LastError, h.Throughput, tm(h.ReportedAt),
			h.Interval.Milliseconds(), h.Stopped)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = o.tx.Exec(ctx, `DELETE FROM sms_operator_health WHERE operator_id = $1 AND reported_at < $2`,
			h.OperatorID, tm(h.ReportedAt.Add(-rules.HealthKeep)))
		return err
	}))
}

func (o *ops) OperatorHealths(ctx context.Context, since time.Time) ([]store.OperatorHealth, error) {
	rows, err := o.q().Query(ctx, `SELECT operator_id, process, bound, binds, unbound_since, last_error, throughput,
		reported_at, interval_ms, stopped FROM sms_operator_health WHERE reported_at >= $1 ORDER BY operator_id, process`,
		tm0(rules.Time(since)))
	if err != nil {
		return nil, wrap("operator healths", err)
	}
	return collect(rows, scanHealth, "operator healths")
}

func scanHealth(sc scan.Row) (store.OperatorHealth, error) {
	var h store.OperatorHealth
	var ms int64
	err := sc.Scan(&h.OperatorID, &h.Process, &h.Bound, &h.Binds, scan.Time(&h.UnboundSince), &h.LastError, &h.Throughput,
		scan.Time(&h.ReportedAt), &ms, &h.Stopped)
	h.Interval = time.Duration(ms) * time.Millisecond
	return h, err
}
