package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// Two processes apply the receipts of the parts of the same long messages
// in opposite orders: their ids differ, their transmissions are shared.
// They wait for each other; neither transaction is failed as deadlocked.
func TestReceiptGroupsSharingTransmissions(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	st1 := open(t, u)
	defer st1.Close()
	st2 := open(t, u)
	defer st2.Close()
	c := store.Client{Name: "c"}
	require.NoError(t, st1.CreateClient(ctx, &c))
	op := store.Operator{Name: "op", Host: "127.0.0.1", Port: 2775, SystemID: "s", BindMode: store.BindTransceiver, Enabled: true}
	require.NoError(t, st1.CreateOperator(ctx, &op))
	for round := range 10 {
		const m = 40
		ts := make([]store.Transmission, m)
		for i := range ts {
			ts[i] = store.Transmission{ExternalID: fmt.Sprintf("r%d-%d", round, i), OperatorID: op.ID, Destination: "584141234567", Text: "hi"}
		}
		_, _, err := st1.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, ts)
		require.NoError(t, err)
		got, err := st1.ClaimTransmissions(ctx, op.ID, m, time.Time{})
		require.NoError(t, err)
		require.Len(t, got, m)
		var subs []store.Submitted
		for _, tx := range got {
			subs = append(subs, store.Submitted{TransmissionID: tx.ID, Result: store.SubmitResult{
				MessageIDs: []string{fmt.Sprintf("%d-1", tx.ID), fmt.Sprintf("%d-2", tx.ID)}}})
		}
		errs, err := st1.RecordSubmits(ctx, subs)
		require.NoError(t, err)
		for _, e := range errs {
			require.NoError(t, e)
		}
		var first, second []store.DeliveryReceipt
		for i := range got {
			first = append(first, store.DeliveryReceipt{OperatorID: op.ID, MessageID: fmt.Sprintf("%d-1", got[i].ID),
				State: store.TxDelivered, DoneAt: time.Now()})
			second = append(second, store.DeliveryReceipt{OperatorID: op.ID, MessageID: fmt.Sprintf("%d-2", got[m-1-i].ID),
				State: store.TxDelivered, DoneAt: time.Now()})
		}
		var wg sync.WaitGroup
		var err1, err2 error
		wg.Add(2)
		go func() { defer wg.Done(); _, err1 = st1.ApplyReceipts(ctx, first) }()
		go func() { defer wg.Done(); _, err2 = st2.ApplyReceipts(ctx, second) }()
		wg.Wait()
		require.NoError(t, err1, "round %d", round)
		require.NoError(t, err2, "round %d", round)
		for _, tx := range got {
			tr, err := st1.Transmission(ctx, tx.ID)
			require.NoError(t, err)
			assert.Equal(t, store.TxDelivered, tr.State)
		}
	}
}
