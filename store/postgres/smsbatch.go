package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// The group-commit forms of RecordSubmit and ApplyReceipt: a few
// statements over arrays (unnest) for the whole group. A group of
// receipts locks its message ids in one statement, then the
// transmissions they may settle in another, each in one global order,
// so that two processes applying groups that share ids or transmissions
// wait for each other instead of deadlocking. (A single ApplyReceipt
// running beside a group can still deadlock with it; PostgreSQL then
// fails one transaction, and the gateway's recorder stores its writes
// again one by one.)

func (o *ops) ApplyReceipts(ctx context.Context, rs []store.DeliveryReceipt) ([]bool, error) {
	rs = slices.Clone(rs)
	for i := range rs {
		if err := rules.Receipt(&rs[i]); err != nil {
			return nil, fmt.Errorf("receipt %d: %w", i, err)
		}
	}
	matched := make([]bool, len(rs))
	if len(rs) == 0 {
		return matched, nil
	}
	err := o.write(ctx, func(o *ops) error {
		slow, err := o.applyReceiptsSet(ctx, rs, matched)
		if err != nil {
			return err
		}
		for _, i := range slow {
			if _, matched[i], err = o.ApplyReceipt(ctx, rs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("apply receipts", err)
	}
	return matched, nil
}

// applyReceiptsSet locks the group's message ids, applies in two
// statements the receipts that rules.PlanReceipts sets apart, and
// returns the indexes of the others.
func (o *ops) applyReceiptsSet(ctx context.Context, rs []store.DeliveryReceipt, matched []bool) ([]int, error) {
	keys := rules.ReceiptKeys(rs)
	ops := make([]int64, len(keys))
	mids := make([]string, len(keys))
	locks := make([]string, len(keys))
	for i, k := range keys {
		ops[i], mids[i] = k.OperatorID, k.MessageID
		locks[i] = "receipt:" + strconv.FormatInt(k.OperatorID, 10) + ":" + k.MessageID
	}
	if err := o.advisoryLocks(ctx, locks); err != nil {
		return nil, err
	}
	rows, err := o.tx.Query(ctx, `SELECT s.seq, s.operator_id, s.message_id, s.state, s.transmission_id, s.segment,
			t.segments, t.submitted_at
		FROM unnest($1::bigint[], $2::text[]) AS k (operator_id, message_id)
		JOIN sms_segments s ON s.operator_id = k.operator_id AND s.message_id = k.message_id
		JOIN sms_transmissions t ON t.id = s.transmission_id`, ops, mids)
	if err != nil {
		return nil, err
	}
	cands := make(map[rules.ReceiptKey][]rules.ReceiptCandidate, len(keys))
	for rows.Next() {
		var c rules.ReceiptCandidate
		var k rules.ReceiptKey
		if err := rows.Scan(&c.Order, &k.OperatorID, &k.MessageID, &c.State, &c.TransmissionID, &c.Segment, &c.Segments,
			scan.Time(&c.SubmittedAt)); err != nil {
			rows.Close()
			return nil, err
		}
		cands[k] = append(cands[k], c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The transmissions the receipts may settle, locked in one order
	// before any is: two groups whose ids differ but share transmissions
	// (the parts of long messages) would otherwise lock their rows in
	// opposite orders and deadlock.
	var txLocks []string
	for _, cs := range cands {
		for _, c := range cs {
			txLocks = append(txLocks, "transmission:"+strconv.FormatInt(c.TransmissionID, 10))
		}
	}
	if len(txLocks) > 0 {
		if err := o.advisoryLocks(ctx, txLocks); err != nil {
			return nil, err
		}
	}
	set, slow := rules.PlanReceipts(rs, cands)
	if len(set) == 0 {
		return slow, nil
	}
	n := len(set)
	txIDs, states, codes, txCodes, dones := make([]int64, n), make([]string, n), make([]int64, n), make([]int64, n),
		make([]time.Time, n)
	for i, m := range set {
		r := rs[m.Receipt]
		state, code := rules.SettledAlone(r)
		txIDs[i], states[i], codes[i], txCodes[i], dones[i] = m.Candidate.TransmissionID, string(state),
			int64(r.ErrorCode), int64(code), r.DoneAt
		matched[m.Receipt] = true
	}
	// The chosen segments are the only ones of their transmissions.
	b := &pgx.Batch{}
	b.Queue(`UPDATE sms_segments s SET state = v.state, error_code = v.code, done_at = v.done
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::timestamptz[]) AS v (id, state, code, done)
		WHERE s.transmission_id = v.id AND s.segment = 1`, txIDs, states, codes, dones)
	// As settle does for a transmission of one segment, with its done
	// time (one cut to the minute of the submission but before it takes
	// the submission's time).
	b.Queue(`UPDATE sms_transmissions t SET state = v.state, error_code = v.code,
		done_at = CASE WHEN v.done < t.submitted_at AND v.done > t.submitted_at - interval '1 minute'
			THEN t.submitted_at ELSE v.done END
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::timestamptz[]) AS v (id, state, code, done)
		WHERE t.id = v.id`, txIDs, states, txCodes, dones)
	if err := o.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return slow, nil
}

func (o *ops) RecordSubmits(ctx context.Context, subs []store.Submitted) ([]error, error) {
	errs := make([]error, len(subs))
	first := make(map[int64]int, len(subs)) // transmission id: index of its first result
	var ids, ns []int64
	var ats []time.Time
	var firstIDs []string
	subs = slices.Clone(subs)
	for i, s := range subs {
		subs[i].Result = rules.SubmitIDs(s.Result)
		s = subs[i]
		if len(s.Result.MessageIDs) == 0 {
			errs[i] = fmt.Errorf("%w: submit result without message ids", store.ErrInvalid)
			continue
		}
		if _, ok := first[s.TransmissionID]; ok {
			continue // decided after the first is recorded
		}
		first[s.TransmissionID] = i
		ids, ns = append(ids, s.TransmissionID), append(ns, int64(len(s.Result.MessageIDs)))
		ats, firstIDs = append(ats, rules.Or(s.Result.At)), append(firstIDs, s.Result.MessageIDs[0])
	}
	err := o.write(ctx, func(o *ops) error {
		if len(ids) == 0 {
			return nil
		}
		rows, err := o.tx.Query(ctx, `UPDATE sms_transmissions t SET state = 'sent', submitted_at = v.at, segments = v.n,
			message_id = v.mid, claimed_at = NULL, reason = '', error_code = 0
			FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[]) AS v (id, at, n, mid)
			WHERE t.id = v.id AND t.state = 'submitting'
			RETURNING t.id, t.operator_id`, ids, ats, ns, firstIDs)
		if err != nil {
			return err
		}
		recorded := make(map[int64]int64, len(ids)) // transmission id: operator id
		for rows.Next() {
			var id, op int64
			if err := rows.Scan(&id, &op); err != nil {
				rows.Close()
				return err
			}
			recorded[id] = op
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var segTx, segN, segOp, keyIdx []int64
		var segMid, locks []string
		for i, s := range subs {
			if errs[i] != nil {
				continue
			}
			id := s.TransmissionID
			op, ok := recorded[id]
			if !ok || first[id] != i {
				if errs[i] = o.notSubmitting(ctx, id); !businessErr(errs[i]) {
					return errs[i]
				}
				continue
			}
			for n, mid := range s.Result.MessageIDs {
				segTx, segN, segOp, segMid = append(segTx, id), append(segN, int64(n+1)), append(segOp, op), append(segMid, mid)
				keyIdx = append(keyIdx, int64(i))
			}
			locks = append(locks, receiptKeys(op, s.Result.MessageIDs)...)
		}
		if len(segTx) == 0 {
			return nil
		}
		// Locked before the segments are stored, as RecordSubmit does: a
		// receipt applied meanwhile in another transaction either sees
		// them or is kept where the lookup below finds it.
		if err := o.advisoryLocks(ctx, locks); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO sms_segments (transmission_id, segment, operator_id, message_id)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])`, segTx, segN, segOp, segMid)
		// Receipts that came first: rare, applied one transmission at a
		// time.
		b.Queue(`SELECT DISTINCT k.idx FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS k (operator_id, message_id, idx)
			JOIN sms_pending_receipts p ON p.operator_id = k.operator_id AND p.message_id = k.message_id
			ORDER BY k.idx`, segOp, segMid, keyIdx)
		br := o.tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		prows, err := br.Query()
		if err != nil {
			br.Close()
			return err
		}
		pending, err := pgx.CollectRows(prows, pgx.RowTo[int64])
		if err != nil {
			br.Close()
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		for _, i := range pending {
			s := subs[i]
			if err := o.applyPending(ctx, s.TransmissionID, recorded[s.TransmissionID], s.Result.MessageIDs,
				rules.Or(s.Result.At)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("record submits", err)
	}
	return errs, nil
}

func businessErr(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict)
}

// notSubmitting is RecordSubmit's error for a transmission that is not
// submitting: ErrNotFound or ErrConflict (or the read's own error).
func (o *ops) notSubmitting(ctx context.Context, id int64) error {
	var state string
	err := o.tx.QueryRow(ctx, `SELECT state FROM sms_transmissions WHERE id = $1`, id).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("record submit: transmission %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("record submit: transmission %d is %s, not submitting: %w", id, state, store.ErrConflict)
}

// applyPending applies to segments just stored, of a transmission
// recorded as submitted at, the receipts kept for their message ids.
func (o *ops) applyPending(ctx context.Context, txID, operatorID int64, mids []string, at time.Time) error {
	pending := false
	for i, mid := range mids {
		tag, err := o.tx.Exec(ctx, `WITH p AS (DELETE FROM sms_pending_receipts WHERE operator_id = $3 AND message_id = $4
				AND received_at >= $5 AND (submitted_at IS NULL OR abs(extract(epoch FROM submitted_at - $6::timestamptz)) <= COALESCE(date_tolerance, $7))
				RETURNING state, error_code, done_at)
			UPDATE sms_segments s SET state = p.state, error_code = p.error_code, done_at = p.done_at
			FROM p WHERE s.transmission_id = $1 AND s.segment = $2`,
			txID, i+1, operatorID, mid, at.Add(-store.PendingReceiptWindow), at, store.ReceiptDateTolerance.Seconds())
		if err != nil {
			return err
		}
		pending = pending || tag.RowsAffected() > 0
	}
	if !pending {
		return nil
	}
	_, err := o.settle(ctx, txID)
	return err
}
