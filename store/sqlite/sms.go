package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
		var err error
		if op.ID, err = o.insert(ctx, `INSERT INTO sms_operators (name, host, port, system_id, password,
			system_type, bind_mode, tls, window_size, tps, enquire_link_us, binds, is_default, enabled, created_at, updated_at,
			priority, weight, kind, device, baud, pin, smsc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			op.Name, op.Host, op.Port, op.SystemID, op.Password, op.SystemType, op.BindMode, op.TLS, op.WindowSize,
			op.TPS, op.EnquireLink.Microseconds(), op.Binds, op.Default, op.Enabled, tm(op.CreatedAt),
			tm(op.UpdatedAt), op.Priority, op.Weight, op.Kind, op.Modem.Device, op.Modem.Baud, op.Modem.PIN, op.Modem.SMSC); err != nil {
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
		res, err := o.w().ExecContext(ctx, `UPDATE sms_operators SET name = ?, host = ?, port = ?, system_id = ?,
			password = ?, system_type = ?, bind_mode = ?, tls = ?, window_size = ?, tps = ?, enquire_link_us = ?,
			binds = ?, is_default = ?, enabled = ?, updated_at = MAX(?, updated_at + 1), priority = ?, weight = ?,
			kind = ?, device = ?, baud = ?, pin = ?, smsc = ? WHERE id = ?`,
			op.Name, op.Host, op.Port, op.SystemID, op.Password, op.SystemType, op.BindMode, op.TLS, op.WindowSize,
			op.TPS, op.EnquireLink.Microseconds(), op.Binds, op.Default, op.Enabled, tm(op.UpdatedAt), op.Priority,
			op.Weight, op.Kind, op.Modem.Device, op.Modem.Baud, op.Modem.PIN, op.Modem.SMSC, op.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		for _, t := range []string{"sms_operator_params", "sms_operator_prefixes", "sms_source_numbers"} {
			if _, err := o.w().ExecContext(ctx, `DELETE FROM `+t+` WHERE operator_id = ?`, op.ID); err != nil {
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
		if _, err := o.w().ExecContext(ctx, `INSERT INTO sms_operator_params (operator_id, command, name, value)
			VALUES (?, ?, ?, ?)`, op.ID, p.Command, p.Name, p.Value); err != nil {
			return err
		}
	}
	for _, p := range op.Prefixes {
		if _, err := o.w().ExecContext(ctx, `INSERT INTO sms_operator_prefixes (prefix, operator_id) VALUES (?, ?)`,
			p, op.ID); err != nil {
			return fmt.Errorf("prefix %q: %w", p, err)
		}
	}
	for _, s := range op.Sources {
		if _, err := o.w().ExecContext(ctx, `INSERT INTO sms_source_numbers (operator_id, number) VALUES (?, ?)`,
			op.ID, s); err != nil {
			return err
		}
	}
	return nil
}

func (o *ops) DeleteOperator(ctx context.Context, id int64) error {
	return wrap("delete operator", o.write(ctx, func(o *ops) error {
		res, err := o.w().ExecContext(ctx, `DELETE FROM sms_operators WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
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
		return store.Operator{}, fmt.Errorf("sqlite: operator %d: %w", id, store.ErrNotFound)
	}
	return ops[0], nil
}

func (o *ops) Operators(ctx context.Context) ([]store.Operator, error) { return o.operators(ctx, 0) }

// operators reads one operator (id > 0) or all, with their children.
func (o *ops) operators(ctx context.Context, id int64) ([]store.Operator, error) {
	var out []store.Operator
	read := func(o *ops) error {
		rows, err := o.q().QueryContext(ctx, `SELECT `+scan.OperatorCols+` FROM sms_operators WHERE ? = 0 OR id = ? ORDER BY id`, id, id)
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
			add   func(sc *sql.Rows) error
		}{
			{`SELECT operator_id, command, name, value FROM sms_operator_params ORDER BY operator_id, command, name`,
				func(sc *sql.Rows) error {
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
				func(sc *sql.Rows) error {
					return scanChild(sc, byID, func(op *store.Operator, v string) { op.Prefixes = append(op.Prefixes, v) })
				}},
			{`SELECT operator_id, number FROM sms_source_numbers ORDER BY operator_id, number`,
				func(sc *sql.Rows) error {
					return scanChild(sc, byID, func(op *store.Operator, v string) { op.Sources = append(op.Sources, v) })
				}},
		}
		for _, c := range children {
			rows, err := o.q().QueryContext(ctx, c.query)
			if err != nil {
				return wrap("operators", err)
			}
			for rows.Next() {
				if err := c.add(rows); err != nil {
					rows.Close()
					return wrap("operators", err)
				}
			}
			if err := rows.Close(); err != nil {
				return wrap("operators", err)
			}
		}
		return nil
	}
	if o.tx != nil {
		return out, read(o)
	}
	return out, o.db.readTx(ctx, read)
}

func scanChild(sc *sql.Rows, byID map[int64]*store.Operator, add func(*store.Operator, string)) error {
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
		var err error
		c.ID, err = o.insert(ctx, `INSERT INTO sms_clients (name, created_at) VALUES (?, ?)`, c.Name, tm(c.CreatedAt))
		return err
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
	err := o.q().QueryRowContext(ctx, `SELECT id, name, created_at FROM sms_clients WHERE `+col+` = ?`, v).
		Scan(&c.ID, &c.Name, scan.Time(&c.CreatedAt))
	return c, wrap("client", err)
}

// Batches and transmissions ----------------------------------------------

func (o *ops) CreateBatch(ctx context.Context, b *store.Batch, txs []store.Transmission) (inserted, duplicates int, err error) {
	if b.ClientID == 0 {
		return 0, 0, fmt.Errorf("%w: batch without client", store.ErrInvalid)
	}
	b.CreatedAt = rules.Or(b.CreatedAt)
	err = o.write(ctx, func(o *ops) error {
		err := o.w().QueryRowContext(ctx, `INSERT INTO sms_batches (client_id, name, created_at) VALUES (?, ?, ?)
			ON CONFLICT (client_id, name) WHERE name <> '' DO UPDATE SET name = excluded.name
			RETURNING id, created_at`, b.ClientID, b.Name, tm(b.CreatedAt)).Scan(&b.ID, scan.Time(&b.CreatedAt))
		if err != nil {
			return err
		}
		stmt, err := o.prepared(ctx, `INSERT INTO sms_transmissions (external_id, client_id, batch_id,
			operator_id, source, destination, body, state, reason, error_code, next_attempt_at, created_at, done_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		for i := range txs {
			t := &txs[i]
			if err := rules.Transmission(t, b); err != nil {
				return fmt.Errorf("transmission %d: %w", i, err)
			}
			res, err := stmt.ExecContext(ctx, scan.NullStr(t.ExternalID), t.ClientID, t.BatchID, t.OperatorID, t.Source,
				t.Destination, t.Text, t.State, t.Reason, t.ErrorCode, tm0(t.NextAttempt), tm(t.CreatedAt), tm(t.DoneAt))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				inserted++
				if t.ID, err = res.LastInsertId(); err != nil {
					return err
				}
			} else {
				duplicates++
			}
		}
		return o.w().QueryRowContext(ctx, `UPDATE sms_batches SET total = (SELECT COUNT(*) FROM sms_transmissions
			WHERE batch_id = ?) WHERE id = ? RETURNING total`, b.ID, b.ID).Scan(&b.Total)
	})
	if err != nil {
		return 0, 0, wrap("create batch", err)
	}
	return inserted, duplicates, nil
}

func (o *ops) Batch(ctx context.Context, id int64) (store.Batch, error) {
	var b store.Batch
	err := o.q().QueryRowContext(ctx, `SELECT id, client_id, name, total, created_at FROM sms_batches WHERE id = ?`, id).
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
		rows, err := o.q().QueryContext(ctx, `SELECT state, COUNT(*) FROM sms_transmissions WHERE batch_id = ?1 AND (?2 = 0 AND ?3 = 0 OR id BETWEEN ?2 AND ?3)
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
	if o.tx != nil {
		return s, read(o)
	}
	return s, o.db.readTx(ctx, read)
}

func (o *ops) LoadPending(ctx context.Context, batchID, fromID, toID int64) (bool, error) {
	var pending, exists bool
	err := o.q().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sms_transmissions WHERE batch_id = ?1
			AND state IN ('queued', 'submitting', 'sent') AND (?2 = 0 AND ?3 = 0 OR id BETWEEN ?2 AND ?3)),
		EXISTS (SELECT 1 FROM sms_batches WHERE id = ?1)`, batchID, fromID, toID).Scan(&pending, &exists)
	if err == nil && !exists {
		err = fmt.Errorf("batch %d: %w", batchID, store.ErrNotFound)
	}
	return pending, wrap("load pending", err)
}

func (o *ops) Transmission(ctx context.Context, id int64) (store.Transmission, error) {
	t, err := scan.Transmission(o.q().QueryRowContext(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions WHERE id = ?`, id))
	return t, wrap("transmission", err)
}

func (o *ops) BatchTransmissions(ctx context.Context, batchID, afterID int64, limit int) ([]store.Transmission, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE batch_id = ? AND id > ? ORDER BY id LIMIT ?`, batchID, afterID, limit)
	if err != nil {
		return nil, wrap("batch transmissions", err)
	}
	return collect(rows, scan.Transmission, "batch transmissions")
}

func (o *ops) OrphanedOperators(ctx context.Context) ([]int64, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT DISTINCT operator_id FROM sms_transmissions
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
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE operator_id = ? AND state = 'queued' AND id > ? ORDER BY id LIMIT ?`, operatorID, afterID, limit)
	if err != nil {
		return nil, wrap("queued transmissions", err)
	}
	return collect(rows, scan.Transmission, "queued transmissions")
}

func (o *ops) RouteTransmission(ctx context.Context, txID, operatorID int64) error {
	return o.transition(ctx, "route transmission", txID, `operator_id = ?`, `state = 'queued'`, operatorID)
}

func (o *ops) ClaimTransmissions(ctx context.Context, operatorID int64, n int, now time.Time) ([]store.Transmission, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: claim count %d", store.ErrInvalid, n)
	}
	now = rules.Or(now)
	var out []store.Transmission
	err := o.write(ctx, func(o *ops) error {
		// The write transaction is exclusive, so the SELECT and UPDATE
		// cannot interleave with another claim.
		rows, err := o.w().QueryContext(ctx, `UPDATE sms_transmissions SET state = 'submitting', claimed_at = ?,
			attempts = attempts + 1 WHERE id IN (SELECT id FROM sms_transmissions
				WHERE state = 'queued' AND operator_id = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING `+scan.TransmissionCols, tm(now), operatorID, now.UnixMicro(), n)
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
	return wrap("record submit", o.write(ctx, func(o *ops) error { return o.recordSubmit(ctx, txID, r) }))
}

func (o *ops) recordSubmit(ctx context.Context, txID int64, r store.SubmitResult) error {
	at := rules.Or(r.At)
	t, err := o.Transmission(ctx, txID)
	if err != nil {
		return err
	}
	if t.State != store.TxSubmitting {
		return fmt.Errorf("transmission %d is %s, not submitting: %w", txID, t.State, store.ErrConflict)
	}
	if _, err := o.w().ExecContext(ctx, `UPDATE sms_transmissions SET state = 'sent', submitted_at = ?, segments = ?,
		message_id = ?, claimed_at = NULL, reason = '', error_code = 0 WHERE id = ?`,
		tm(at), len(r.MessageIDs), r.MessageIDs[0], txID); err != nil {
		return err
	}
	for i, mid := range r.MessageIDs {
		if _, err := o.w().ExecContext(ctx, `INSERT INTO sms_segments (transmission_id, segment, operator_id, message_id)
			VALUES (?, ?, ?, ?)`, txID, i+1, t.OperatorID, mid); err != nil {
			return err
		}
	}
	return o.applyPending(ctx, txID, t.OperatorID, r.MessageIDs, at)
}

// applyPending applies to a transmission just recorded as submitted at
// the receipts kept for its message ids, if any.
func (o *ops) applyPending(ctx context.Context, txID, operatorID int64, mids []string, at time.Time) error {
	pending := false
	for i, mid := range mids {
		var state string
		var code int
		var done int64
		err := o.w().QueryRowContext(ctx, `DELETE FROM sms_pending_receipts WHERE operator_id = ? AND message_id = ?
			AND received_at >= ? AND (submitted_at IS NULL OR abs(submitted_at - ?) <= COALESCE(date_tolerance, ?))
			RETURNING state, error_code, done_at`,
			operatorID, mid, tm(at.Add(-store.PendingReceiptWindow)), tm(at), store.ReceiptDateTolerance.Microseconds()).
			Scan(&state, &code, &done)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		pending = true
		if _, err := o.w().ExecContext(ctx, `UPDATE sms_segments SET state = ?, error_code = ?, done_at = ?
			WHERE transmission_id = ? AND segment = ?`, state, code, done, txID, i+1); err != nil {
			return err
		}
	}
	if !pending {
		return nil
	}
	_, err := o.settle(ctx, txID)
	return err
}

// settle recomputes a sent transmission's state from its segments.
func (o *ops) settle(ctx context.Context, txID int64) (store.Transmission, error) {
	rows, err := o.w().QueryContext(ctx, `SELECT state, error_code, done_at FROM sms_segments WHERE transmission_id = ?
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
	if err := rows.Close(); err != nil {
		return store.Transmission{}, err
	}
	state := rules.Aggregate(states)
	if !state.Final() {
		done = time.Time{}
	}
	// Receipt times are often cut to the minute: one in the minute of the
	// submission but before it takes the submission's time.
	return scan.Transmission(o.w().QueryRowContext(ctx, `UPDATE sms_transmissions SET state = ?1, error_code = ?2,
		done_at = CASE WHEN ?3 < submitted_at AND ?3 > submitted_at - 60000000 THEN submitted_at ELSE ?3 END
		WHERE id = ?4 RETURNING `+scan.TransmissionCols, state, code, tm(done), txID))
}

func (o *ops) RetryTransmission(ctx context.Context, txID int64, next time.Time, errorCode int, reason string) error {
	return o.transition(ctx, "retry transmission", txID, `state = 'queued', next_attempt_at = ?, error_code = ?,
		reason = ?, claimed_at = NULL`, `state = 'submitting'`, tm0(rules.Time(next)), errorCode, reason)
}

func (o *ops) FailTransmission(ctx context.Context, txID int64, errorCode int, reason string, at time.Time) error {
	return o.EndTransmission(ctx, txID, store.TxFailed, errorCode, reason, at)
}

func (o *ops) EndTransmission(ctx context.Context, txID int64, state store.TransmissionState, errorCode int, reason string, at time.Time) error {
	if !state.Final() {
		return fmt.Errorf("%w: end transmission %d as %q, not a final state", store.ErrInvalid, txID, state)
	}
	return o.transition(ctx, "end transmission", txID, `state = ?, error_code = ?, reason = ?, done_at = ?,
		claimed_at = NULL`, `state IN ('queued', 'submitting', 'sent')`, string(state), errorCode, reason, tm(rules.Or(at)))
}

// transition updates a transmission that is in an expected state, telling
// ErrNotFound from ErrConflict when it is not.
func (o *ops) transition(ctx context.Context, what string, txID int64, set, cond string, args ...any) error {
	return wrap(what, o.write(ctx, func(o *ops) error {
		res, err := o.w().ExecContext(ctx, `UPDATE sms_transmissions SET `+set+` WHERE id = ? AND `+cond,
			append(args, txID)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
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
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, err
	}
	var n int64
	err = o.write(ctx, func(o *ops) error {
		res, err := o.w().ExecContext(ctx, `UPDATE sms_transmissions SET claimed_at = ?
			WHERE id IN (SELECT value FROM json_each(?)) AND state = 'submitting'`, tm0(rules.Or(now)), string(list))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return int(n), wrap("renew claims", err)
}

func (o *ops) RequeueStale(ctx context.Context, claimedBefore time.Time) (int, error) {
	var n int64
	err := o.write(ctx, func(o *ops) error {
		res, err := o.w().ExecContext(ctx, `UPDATE sms_transmissions SET state = 'queued', claimed_at = NULL,
			reason = ? WHERE state = 'submitting' AND claimed_at < ?`, store.ReasonStaleClaim, tm0(rules.Time(claimedBefore)))
		if err == nil {
			n, err = res.RowsAffected()
		}
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
		var err error
		t, matched, err = o.applyReceipt(ctx, r)
		return err
	})
	return t, matched, wrap("apply receipt", err)
}

func (o *ops) applyReceipt(ctx context.Context, r store.DeliveryReceipt) (store.Transmission, bool, error) {
	var txID int64
	// The most recent submission of the id (of those whose time fits
	// the receipt's submit date, when it names one), if it waits.
	err := o.w().QueryRowContext(ctx, `UPDATE sms_segments SET state = ?, error_code = ?, done_at = ?
		WHERE rowid = (SELECT s.rowid FROM sms_segments s WHERE s.operator_id = ? AND s.message_id = ?
			AND (? IS NULL OR abs((SELECT submitted_at FROM sms_transmissions WHERE id = s.transmission_id) - ?) <= ?)
			ORDER BY s.rowid DESC LIMIT 1) AND state = ''
		RETURNING transmission_id`,
		r.State, r.ErrorCode, tm(r.DoneAt), r.OperatorID, r.MessageID,
		tm(r.SubmittedAt), tm(r.SubmittedAt), r.DateTolerance.Microseconds()).Scan(&txID)
	if errors.Is(err, sql.ErrNoRows) {
		// The same receipt again (its acknowledgment was lost): it
		// changes nothing and is not kept for a later submission.
		var dupOf int64
		var state store.TransmissionState
		var done time.Time
		err := o.w().QueryRowContext(ctx, `SELECT s.transmission_id, s.state, s.done_at FROM sms_segments s
			WHERE s.operator_id = ? AND s.message_id = ?
			AND (? IS NULL OR abs((SELECT submitted_at FROM sms_transmissions WHERE id = s.transmission_id) - ?) <= ?)
			ORDER BY s.rowid DESC LIMIT 1`, r.OperatorID, r.MessageID,
			tm(r.SubmittedAt), tm(r.SubmittedAt), r.DateTolerance.Microseconds()).
			Scan(&dupOf, &state, scan.Time(&done))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return store.Transmission{}, false, err
		}
		if err == nil && state == r.State && done.Equal(r.DoneAt) {
			t, err := o.Transmission(ctx, dupOf)
			return t, true, err
		}
		_, err = o.w().ExecContext(ctx, `INSERT INTO sms_pending_receipts (operator_id, message_id, state, error_code,
			done_at, received_at, raw, submitted_at, date_tolerance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET state = excluded.state,
			error_code = excluded.error_code, done_at = excluded.done_at, received_at = excluded.received_at,
			raw = excluded.raw, submitted_at = excluded.submitted_at, date_tolerance = excluded.date_tolerance`,
			r.OperatorID, r.MessageID, r.State, r.ErrorCode, tm(r.DoneAt), tm(rules.Now()), r.Raw, tm(r.SubmittedAt),
			r.DateTolerance.Microseconds())
		return store.Transmission{}, false, err
	}
	if err != nil {
		return store.Transmission{}, false, err
	}
	t, err := o.settle(ctx, txID)
	return t, true, err
}

func (o *ops) UnsettledSegments(ctx context.Context, operatorID int64, submittedBefore time.Time, afterID int64, limit int) ([]store.SentSegment, error) {
	limit, err := rules.Limit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.SentSegmentCols+` FROM sms_transmissions t
			JOIN sms_segments s ON s.transmission_id = t.id
			WHERE t.operator_id = ? AND t.state = 'sent' AND t.submitted_at < ? AND t.id > ?
			AND s.state = '' ORDER BY t.id, s.segment LIMIT ?`, operatorID, tm0(rules.Time(submittedBefore)), afterID, limit)
	if err != nil {
		return nil, wrap("unsettled segments", err)
	}
	return collect(rows, scan.SentSegment, "unsettled segments")
}

func (o *ops) LastTransmissionTo(ctx context.Context, destination string) (store.Transmission, error) {
	t, err := scan.Transmission(o.q().QueryRowContext(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE destination = ? ORDER BY id DESC LIMIT 1`, destination))
	return t, wrap("last transmission", err)
}

func (o *ops) LastClientTransmissionTo(ctx context.Context, clientID int64, destination string) (store.Transmission, error) {
	t, err := scan.Transmission(o.q().QueryRowContext(ctx, `SELECT `+scan.TransmissionCols+` FROM sms_transmissions
		WHERE destination = ? AND client_id = ? ORDER BY id DESC LIMIT 1`, destination, clientID))
	return t, wrap("last transmission", err)
}

// MO ------------------------------------------------------------------

func (o *ops) InsertMO(ctx context.Context, m *store.MO) error {
	if m.From == "" {
		return fmt.Errorf("%w: MO without source number", store.ErrInvalid)
	}
	m.ReceivedAt = rules.Or(m.ReceivedAt)
	return wrap("insert MO", o.write(ctx, func(o *ops) error {
		if m.TransmissionID == 0 {
			err := o.w().QueryRowContext(ctx, `SELECT id FROM sms_transmissions WHERE destination = ?
				AND state NOT IN ('queued', 'submitting', 'failed') ORDER BY source = ? DESC, id DESC LIMIT 1`,
				m.From, m.To).Scan(&m.TransmissionID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var err error
		m.ID, err = o.insert(ctx, `INSERT INTO sms_mo (operator_id, source, short_code, body, received_at,
			transmission_id) VALUES (?, ?, ?, ?, ?, ?)`,
			m.OperatorID, m.From, m.To, m.Text, tm(m.ReceivedAt), m.TransmissionID)
		return err
	}))
}

func (o *ops) MOs(ctx context.Context, f store.MOFilter) ([]store.MO, error) {
	limit, err := rules.Limit(f.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.MOCols+` FROM sms_mo WHERE id > ?1 AND (?2 = '' OR source = ?2)
		AND received_at >= ?3 AND (?4 = 0 OR transmission_id = ?4) ORDER BY id LIMIT ?5`,
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
		rows, err := o.q().QueryContext(ctx, `SELECT operator_id, state, COUNT(*) FROM sms_transmissions
			WHERE created_at >= ? GROUP BY operator_id, state ORDER BY operator_id`, t)
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
		rows, err = o.q().QueryContext(ctx, `SELECT operator_id, COUNT(*) FROM sms_transmissions
			WHERE created_at >= ?1 AND submitted_at >= ?1 GROUP BY operator_id`, t)
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
	if o.tx != nil {
		return out, wrap("operator counts", read(o))
	}
	return out, wrap("operator counts", o.db.readTx(ctx, read))
}

func (o *ops) ReportOperatorHealth(ctx context.Context, h store.OperatorHealth) error {
	if err := rules.Health(&h); err != nil {
		return err
	}
	return wrap("report operator health", o.write(ctx, func(o *ops) error {
		// Only for an operator that exists: ErrNotFound without a foreign
		// key failure, which would end an enclosing PostgreSQL transaction.
		res, err := o.w().ExecContext(ctx, `INSERT INTO sms_operator_health (operator_id, process, bound, binds, unbound_since,
			last_error, throughput, reported_at, interval_ms, stopped)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM sms_operators WHERE id = ?)
			ON CONFLICT (operator_id, process) DO UPDATE SET bound = excluded.bound, binds = excluded.binds,
			unbound_since = excluded.unbound_since, last_error = excluded.last_error, throughput = excluded.throughput,
			reported_at = excluded.reported_at, interval_ms = excluded.interval_ms, stopped = excluded.stopped`,
			h.OperatorID, h.Process, h.Bound, h.Binds, tm(h.UnboundSince), h.LastError, h.Throughput, tm(h.ReportedAt),
			h.Interval.Milliseconds(), h.Stopped, h.OperatorID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, store.ErrNotFound)
		}
		_, err = o.w().ExecContext(ctx, `DELETE FROM sms_operator_health WHERE operator_id = ? AND reported_at < ?`,
			h.OperatorID, tm(h.ReportedAt.Add(-rules.HealthKeep)))
		return err
	}))
}

func (o *ops) OperatorHealths(ctx context.Context, since time.Time) ([]store.OperatorHealth, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT operator_id, process, bound, binds, unbound_since, last_error, throughput,
		reported_at, interval_ms, stopped FROM sms_operator_health WHERE reported_at >= ? ORDER BY operator_id, process`,
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
