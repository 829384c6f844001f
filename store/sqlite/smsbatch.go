package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

// The group-commit forms of RecordSubmit and ApplyReceipt. Their rows
// travel as one JSON array read with json_each, so each statement's text
// is the same whatever the batch size (one cached statement) and SQLite
// walks the array once, looking each row up by its key.

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
			if _, matched[i], err = o.applyReceipt(ctx, rs[i]); err != nil {
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

// applyReceiptsSet applies in two statements the receipts of rs that
// rules.PlanReceipts sets apart, and returns the indexes of the others.
func (o *ops) applyReceiptsSet(ctx context.Context, rs []store.DeliveryReceipt, matched []bool) (slow []int, err error) {
	keys := rules.ReceiptKeys(rs)
	keyRows := make([][2]any, len(keys))
	for i, k := range keys {
		keyRows[i] = [2]any{k.OperatorID, k.MessageID}
	}
	arg, err := json.Marshal(keyRows)
	if err != nil {
		return nil, err
	}
	rows, err := o.w().QueryContext(ctx, `SELECT s.rowid, s.operator_id, s.message_id, s.state, s.transmission_id,
			s.segment, t.segments, t.submitted_at
		FROM json_each(?) j
		JOIN sms_segments s ON s.operator_id = j.value ->> 0 AND s.message_id = j.value ->> 1
		JOIN sms_transmissions t ON t.id = s.transmission_id`, string(arg))
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
	if err := rows.Close(); err != nil {
		return nil, err
	}
	set, slow := rules.PlanReceipts(rs, cands)
	if len(set) == 0 {
		return slow, nil
	}
	segs := make([][4]any, len(set))
	txs := make([][4]any, len(set))
	for n, m := range set {
		r := rs[m.Receipt]
		state, code := rules.SettledAlone(r)
		done := r.DoneAt.UnixMicro()
		segs[n] = [4]any{m.Candidate.Order, r.State, r.ErrorCode, done}
		txs[n] = [4]any{m.Candidate.TransmissionID, state, code, done}
		matched[m.Receipt] = true
	}
	segArg, err := json.Marshal(segs)
	if err != nil {
		return nil, err
	}
	txArg, err := json.Marshal(txs)
	if err != nil {
		return nil, err
	}
	if _, err := o.w().ExecContext(ctx, `UPDATE sms_segments SET state = j.value ->> 1, error_code = j.value ->> 2,
		done_at = j.value ->> 3 FROM json_each(?) j WHERE sms_segments.rowid = j.value ->> 0`, string(segArg)); err != nil {
		return nil, err
	}
	// As settle does for a transmission of one segment, with its done
	// time (one cut to the minute of the submission but before it takes
	// the submission's time).
	if _, err := o.w().ExecContext(ctx, `UPDATE sms_transmissions SET state = j.value ->> 1, error_code = j.value ->> 2,
		done_at = CASE WHEN j.value ->> 3 < submitted_at AND j.value ->> 3 > submitted_at - 60000000
			THEN submitted_at ELSE j.value ->> 3 END
		FROM json_each(?) j WHERE sms_transmissions.id = j.value ->> 0`, string(txArg)); err != nil {
		return nil, err
	}
	return slow, nil
}

func (o *ops) RecordSubmits(ctx context.Context, subs []store.Submitted) ([]error, error) {
	errs := make([]error, len(subs))
	first := make(map[int64]int, len(subs)) // transmission id: index of its first result
	var valid [][4]any
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
		valid = append(valid, [4]any{s.TransmissionID, rules.Or(s.Result.At).UnixMicro(), len(s.Result.MessageIDs),
			s.Result.MessageIDs[0]})
	}
	err := o.write(ctx, func(o *ops) error {
		if len(valid) == 0 {
			return nil
		}
		arg, err := json.Marshal(valid)
		if err != nil {
			return err
		}
		rows, err := o.w().QueryContext(ctx, `UPDATE sms_transmissions SET state = 'sent', submitted_at = j.value ->> 1,
			segments = j.value ->> 2, message_id = j.value ->> 3, claimed_at = NULL, reason = '', error_code = 0
			FROM json_each(?) j WHERE sms_transmissions.id = j.value ->> 0 AND sms_transmissions.state = 'submitting'
			RETURNING sms_transmissions.id, sms_transmissions.operator_id`, string(arg))
		if err != nil {
			return err
		}
		recorded := make(map[int64]int64, len(valid)) // transmission id: operator id
		for rows.Next() {
			var id, op int64
			if err := rows.Scan(&id, &op); err != nil {
				rows.Close()
				return err
			}
			recorded[id] = op
		}
		if err := rows.Close(); err != nil {
			return err
		}
		var segs, keys [][4]any
		for i, s := range subs {
			if errs[i] != nil {
				continue
			}
			id := s.TransmissionID
			op, ok := recorded[id]
			if !ok || first[id] != i {
				errs[i] = o.notSubmitting(ctx, id)
				if !errors.Is(errs[i], store.ErrNotFound) && !errors.Is(errs[i], store.ErrConflict) {
					return errs[i]
				}
				continue
			}
			for n, mid := range s.Result.MessageIDs {
				segs = append(segs, [4]any{id, n + 1, op, mid})
				keys = append(keys, [4]any{op, mid, id, i})
			}
		}
		if len(segs) == 0 {
			return nil
		}
		segArg, err := json.Marshal(segs)
		if err != nil {
			return err
		}
		if _, err := o.w().ExecContext(ctx, `INSERT INTO sms_segments (transmission_id, segment, operator_id, message_id)
			SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM json_each(?) j`, string(segArg)); err != nil {
			return err
		}
		// Receipts that came first: rare, applied by RecordSubmit's own
		// path for the transmissions they name.
		keyArg, err := json.Marshal(keys)
		if err != nil {
			return err
		}
		prows, err := o.w().QueryContext(ctx, `SELECT DISTINCT j.value ->> 3 FROM json_each(?) j
			JOIN sms_pending_receipts p ON p.operator_id = j.value ->> 0 AND p.message_id = j.value ->> 1`, string(keyArg))
		if err != nil {
			return err
		}
		var pending []int
		for prows.Next() {
			var i int
			if err := prows.Scan(&i); err != nil {
				prows.Close()
				return err
			}
			pending = append(pending, i)
		}
		if err := prows.Close(); err != nil {
			return err
		}
		slices.Sort(pending)
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

// notSubmitting is RecordSubmit's error for a transmission that is not
// submitting: ErrNotFound or ErrConflict (or the read's own error).
func (o *ops) notSubmitting(ctx context.Context, id int64) error {
	var state string
	err := o.w().QueryRowContext(ctx, `SELECT state FROM sms_transmissions WHERE id = ?`, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("record submit: transmission %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("record submit: transmission %d is %s, not submitting: %w", id, state, store.ErrConflict)
}
