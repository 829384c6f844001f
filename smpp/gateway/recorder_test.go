package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// claimed returns n transmissions of a new operator, claimed.
func claimed(t *testing.T, st store.Store, name string, n int) (store.Operator, []store.Transmission) {
	t.Helper()
	ctx := context.Background()
	c := store.Client{Name: "c-" + name}
	require.NoError(t, st.CreateClient(ctx, &c))
	op := store.Operator{Name: name, Host: "127.0.0.1", Port: 2775, SystemID: "s", BindMode: store.BindTransceiver, Enabled: true}
	require.NoError(t, st.CreateOperator(ctx, &op))
	ts := make([]store.Transmission, n)
	for i := range ts {
		ts[i] = store.Transmission{ExternalID: fmt.Sprintf("%s-%d", name, i), OperatorID: op.ID, Destination: "584141234567", Text: "hi"}
	}
	_, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: c.ID, Name: name}, ts)
	require.NoError(t, err)
	got, err := st.ClaimTransmissions(ctx, op.ID, n, time.Time{})
	require.NoError(t, err)
	require.Len(t, got, n)
	return op, got
}

func submitWrite(s store.Submitted, done func(error)) write {
	return write{apply: func(ctx context.Context, tx store.Ops) error {
		return tx.RecordSubmit(ctx, s.TransmissionID, s.Result)
	}, submit: &s, done: done}
}

// A group commit stores its writes as they would be stored one by one in
// queue order, although it records submissions and receipts by kind: a
// receipt queued before the submission that reuses its message id stays
// the older message's, and a receipt queued before a message's end
// settles it before the end is refused.
func TestGroupCommitKeepsQueueOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		type outcome struct{ old, fresh, ended store.Transmission }
		play := func(name string, group bool) (outcome, error) {
			op, ts := claimed(t, st, name, 3)
			now := time.Now()
			require.NoError(t, st.RecordSubmit(ctx, ts[0].ID, store.SubmitResult{MessageIDs: []string{"K"}, At: now.Add(-time.Hour)}))
			require.NoError(t, st.RecordSubmit(ctx, ts[2].ID, store.SubmitResult{MessageIDs: []string{"E"}, At: now}))
			var endErr error
			ws := []write{
				receiptWrite(store.DeliveryReceipt{OperatorID: op.ID, MessageID: "K", State: store.TxDelivered,
					DoneAt: now.Add(-time.Minute), SubmittedAt: now.Add(-time.Hour)}, nil),
				submitWrite(store.Submitted{TransmissionID: ts[1].ID, Result: store.SubmitResult{MessageIDs: []string{"K"}, At: now}}, nil),
				receiptWrite(store.DeliveryReceipt{OperatorID: op.ID, MessageID: "E", State: store.TxDelivered, DoneAt: now}, nil),
				{apply: func(ctx context.Context, tx store.Ops) error {
					return tx.EndTransmission(ctx, ts[2].ID, store.TxUnknown, 0, "no receipt", time.Now())
				}, done: func(err error) { endErr = err }},
			}
			if group {
				r := newRecorder(st, 500, 1)
				for _, w := range ws {
					r.add(w)
				}
				r.flush()
			} else {
				for _, w := range ws {
					err := st.InTx(ctx, func(tx store.Ops) error { return w.apply(ctx, tx) })
					if w.done != nil {
						w.done(err)
					}
				}
			}
			var o outcome
			o.old, _ = st.Transmission(ctx, ts[0].ID)
			o.fresh, _ = st.Transmission(ctx, ts[1].ID)
			o.ended, _ = st.Transmission(ctx, ts[2].ID)
			return o, endErr
		}
		alone, aloneErr := play("alone", false)
		group, groupErr := play("group", true)
		assert.Equal(t, store.TxDelivered, alone.old.State, "one by one: the old message's receipt")
		assert.Equal(t, store.TxSent, alone.fresh.State)
		assert.ErrorIs(t, aloneErr, store.ErrConflict, "one by one: the end comes after the receipt")
		assert.Equal(t, alone.old.State, group.old.State, "the old message")
		assert.Equal(t, alone.fresh.State, group.fresh.State, "the new message")
		assert.Equal(t, alone.ended.State, group.ended.State, "the ended message")
		assert.Equal(t, alone.ended.Reason, group.ended.Reason)
		assert.ErrorIs(t, groupErr, store.ErrConflict)
	})
}
