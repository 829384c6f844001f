package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// The group forms, RecordSubmits and ApplyReceipts, do what the single
// ones do one after the other: the same scenario (parts, reused ids,
// receipts before their submission, repeats inside a group, refusals)
// is played with single calls on one operator and with group calls on
// another, and every transmission ends the same.
func testGroupRecording(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	now := time.Now().Truncate(time.Second)
	threeDays := now.Add(-72 * time.Hour)

	type world struct {
		matched []bool
		errs    []string
		txs     []string
		probe   []bool
	}
	play := func(op store.Operator, record func([]store.Submitted) []error,
		apply func([]store.DeliveryReceipt) []bool) world {
		var w world
		ts := make([]store.Transmission, 8)
		for i := range ts {
			ts[i] = claimOne(t, e, c.ID, op.ID, fmt.Sprintf("%s-%d", op.Name, i))
		}
		rec := func(subs []store.Submitted) {
			for _, err := range record(subs) {
				w.errs = append(w.errs, kind(err))
			}
		}
		app := func(rs []store.DeliveryReceipt) {
			for i := range rs {
				rs[i].OperatorID = op.ID
			}
			w.matched = append(w.matched, apply(rs)...)
		}
		sub := func(i int, at time.Time, ids ...string) store.Submitted {
			return store.Submitted{TransmissionID: ts[i].ID, Result: store.SubmitResult{MessageIDs: ids, At: at}}
		}
		rec([]store.Submitted{
			sub(0, now, "a1"), sub(1, now, "b1", "b2"), sub(2, threeDays, "r"), sub(3, now, "d"),
			sub(0, now, "a1"), // twice in one group: the second is refused
			{TransmissionID: ts[7].ID + 1000, Result: store.SubmitResult{MessageIDs: []string{"z"}, At: now}},
			sub(4, now), // no ids
		})
		app([]store.DeliveryReceipt{
			{MessageID: "a1", State: store.TxDelivered, DoneAt: now.Add(time.Minute)},
			{MessageID: "b1", State: store.TxDelivered, DoneAt: now.Add(time.Minute)},
			{MessageID: "b2", State: store.TxUndeliverable, ErrorCode: 5, DoneAt: now.Add(2 * time.Minute)},
			{MessageID: "d", State: store.TxDelivered, DoneAt: now.Add(time.Minute)},
			{MessageID: "d", State: store.TxDelivered, DoneAt: now.Add(time.Minute)}, // repeated in the group
			{MessageID: "r", State: store.TxExpired, ErrorCode: 9, DoneAt: now, SubmittedAt: threeDays.Add(9 * time.Hour)},
			{MessageID: "p", State: store.TxRejected, ErrorCode: 3, DoneAt: now}, // before its submission
			{MessageID: "q", State: store.TxExpired, DoneAt: now, SubmittedAt: now.Add(-50 * time.Hour)},
			{MessageID: "a1", State: store.TxDelivered, DoneAt: now.Add(30 * time.Second)}, // another: kept aside
		})
		rec([]store.Submitted{
			sub(4, now, "p"), sub(5, now, "r"), sub(6, now, "a1"), sub(7, now, "q"),
			sub(2, now, "again"), // already sent
		})
		app([]store.DeliveryReceipt{
			{MessageID: "a1", State: store.TxUndeliverable, ErrorCode: 7, DoneAt: now.Add(time.Minute)},
			{MessageID: "r", State: store.TxDelivered, DoneAt: now.Add(time.Minute), SubmittedAt: now},
			{MessageID: "r", State: store.TxExpired, ErrorCode: 9, DoneAt: now, SubmittedAt: threeDays}, // a repeat
			{MessageID: "q", State: store.TxDelivered, DoneAt: now.Add(time.Minute)},
		})
		for _, tx := range ts {
			got, err := e.Transmission(ctx, tx.ID)
			must(t, err)
			w.txs = append(w.txs, fmt.Sprintf("%s/%d/%d/%d", got.State, got.ErrorCode, got.Segments, got.DoneAt.UnixMicro()))
		}
		// Which segments wait: a receipt of another state taken by the
		// most recent submission of each id says so (a segment with its
		// receipt keeps it, and the probe is kept aside).
		for _, mid := range []string{"a1", "b1", "b2", "d", "r", "p", "q"} {
			_, matched, err := e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: mid,
				State: store.TxUnknown, DoneAt: now.Add(time.Hour)})
			must(t, err)
			w.probe = append(w.probe, matched)
		}
		return w
	}

	single := play(newOperator(t, e, "single"),
		func(subs []store.Submitted) []error {
			errs := make([]error, len(subs))
			for i, s := range subs {
				errs[i] = e.RecordSubmit(ctx, s.TransmissionID, s.Result)
			}
			return errs
		},
		func(rs []store.DeliveryReceipt) []bool {
			matched := make([]bool, len(rs))
			for i, r := range rs {
				var err error
				_, matched[i], err = e.ApplyReceipt(ctx, r)
				must(t, err)
			}
			return matched
		})
	group := play(newOperator(t, e, "group"),
		func(subs []store.Submitted) []error {
			errs, err := e.RecordSubmits(ctx, subs)
			must(t, err)
			eq(t, "a result per submission", len(errs), len(subs))
			return errs
		},
		func(rs []store.DeliveryReceipt) []bool {
			matched, err := e.ApplyReceipts(ctx, rs)
			must(t, err)
			return matched
		})
	eq(t, "errors", fmt.Sprint(group.errs), fmt.Sprint(single.errs))
	eq(t, "matched", fmt.Sprint(group.matched), fmt.Sprint(single.matched))
	eq(t, "transmissions", fmt.Sprint(group.txs), fmt.Sprint(single.txs))
	eq(t, "segments waiting", fmt.Sprint(group.probe), fmt.Sprint(single.probe))

	// The scenario says something: what the single calls did.
	eq(t, "refusals", fmt.Sprint(single.errs[4:7]), "[conflict not found invalid]")
	eq(t, "receipts matched", fmt.Sprint(single.matched[:9]), "[true true true true true true false false false]")
	eq(t, "a long message with a failed part", single.txs[1][:len("undeliverable/5/2")], "undeliverable/5/2")
	eq(t, "a receipt that came first", single.txs[4][:len("rejected/3/1")], "rejected/3/1")
	eq(t, "the old submission of a reused id", single.txs[2][:len("expired/9/1")], "expired/9/1")
	eq(t, "the new submission of a reused id", single.txs[5][:len("delivered/0/1")], "delivered/0/1")
	eq(t, "a receipt dated two days before is not this one's", single.txs[7][:len("delivered/0/1")], "delivered/0/1")

	// A group with an invalid receipt applies nothing.
	_, err := e.ApplyReceipts(ctx, []store.DeliveryReceipt{{OperatorID: 1, MessageID: "x", State: store.TxDelivered},
		{OperatorID: 1, MessageID: "", State: store.TxDelivered}})
	wantErr(t, err, store.ErrInvalid)
}

// kind names a recording error by the store sentinel it wraps.
func kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	case errors.Is(err, store.ErrNotFound):
		return "not found"
	case errors.Is(err, store.ErrInvalid):
		return "invalid"
	}
	return err.Error()
}

// LoadPending says whether a batch, or one load of it, still has a
// message that is not final, as its summary would.
func testLoadPending(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	op := newOperator(t, e, "op")
	b := loadBatch(t, e, c.ID, op.ID, "b", 2)
	ts, err := e.BatchTransmissions(ctx, b.ID, 0, 10)
	must(t, err)
	eq(t, "loaded", len(ts), 2)
	pending := func(from, to int64) bool {
		p, err := e.LoadPending(ctx, b.ID, from, to)
		must(t, err)
		return p
	}
	eq(t, "queued", pending(0, 0), true)
	claimed, err := e.ClaimTransmissions(ctx, op.ID, 2, time.Time{})
	must(t, err)
	eq(t, "claimed", len(claimed), 2)
	eq(t, "submitting", pending(0, 0), true)
	for i, tx := range ts {
		must(t, e.RecordSubmit(ctx, tx.ID, store.SubmitResult{MessageIDs: []string{fmt.Sprint("lp", i)}}))
	}
	eq(t, "sent", pending(0, 0), true)
	_, _, err = e.ApplyReceipt(ctx, store.DeliveryReceipt{OperatorID: op.ID, MessageID: "lp0", State: store.TxDelivered})
	must(t, err)
	eq(t, "the first load of one", pending(ts[0].ID, ts[0].ID), false)
	eq(t, "the whole batch", pending(0, 0), true)
	must(t, e.FailTransmission(ctx, ts[1].ID, 1, "gone", time.Now()))
	eq(t, "all final", pending(0, 0), false)
	eq(t, "an empty range", pending(-1, -1), false)
	_, err = e.LoadPending(ctx, b.ID+1000, 0, 0)
	wantErr(t, err, store.ErrNotFound)
}

// Message ids as a hostile SMSC may give them (bytes that are not UTF-8,
// NUL, quotes, JSON's own characters) are kept by both stores, alone and
// in groups, so that a receipt carrying the same bytes finds its message;
// a receipt time finer than a microsecond repeated is still a repeat.
func testHostileMessageIDs(t *testing.T, e *env) {
	ctx := e.ctx(t)
	c := newClient(t, e, "acme")
	ids := []string{"\xff\xfe", "\xc3", "a\x00b", `a"b\c`, `["x"]`, "é\u2028", strings.Repeat("L", 2000)}
	for _, group := range []bool{false, true} {
		op := newOperator(t, e, fmt.Sprint("op-", group))
		ts := make([]store.Transmission, len(ids))
		for i := range ids {
			ts[i] = claimOne(t, e, c.ID, op.ID, fmt.Sprintf("%v-%d", group, i))
		}
		var subs []store.Submitted
		for i, id := range ids {
			subs = append(subs, store.Submitted{TransmissionID: ts[i].ID, Result: store.SubmitResult{MessageIDs: []string{id}}})
		}
		var rs []store.DeliveryReceipt
		done := time.Now().Add(time.Minute).Add(123 * time.Nanosecond)
		for _, id := range ids {
			rs = append(rs, store.DeliveryReceipt{OperatorID: op.ID, MessageID: id, State: store.TxDelivered, DoneAt: done})
		}
		if group {
			errs, err := e.RecordSubmits(ctx, subs)
			must(t, err)
			for _, err := range errs {
				must(t, err)
			}
			matched, err := e.ApplyReceipts(ctx, rs)
			must(t, err)
			eq(t, "receipts matched", fmt.Sprint(matched), fmt.Sprint(slices.Repeat([]bool{true}, len(ids))))
		} else {
			for _, s := range subs {
				must(t, e.RecordSubmit(ctx, s.TransmissionID, s.Result))
			}
			for _, r := range rs {
				_, matched, err := e.ApplyReceipt(ctx, r)
				must(t, err)
				eq(t, "receipt matched", matched, true)
			}
		}
		for i := range ids {
			got, err := e.Transmission(ctx, ts[i].ID)
			must(t, err)
			eq(t, fmt.Sprintf("message %d delivered", i), got.State, store.TxDelivered)
		}
		// The same receipts again: repeats, nothing kept aside.
		for _, r := range rs {
			_, matched, err := e.ApplyReceipt(ctx, r)
			must(t, err)
			eq(t, "a repeat is matched", matched, true)
		}
	}
}
