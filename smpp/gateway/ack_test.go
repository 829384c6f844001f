package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

var errDiskFull = errors.New("disk full")

// failingStore fails receipts and replies the way a sick database would.
type failingStore struct {
	store.Store
	mu           sync.Mutex
	receiptFails map[string]int // message id -> failures so far
	receiptLimit int            // failures per receipt
	moFail       bool
	failures     int
}

func (f *failingStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return f.Store.InTx(ctx, func(tx store.Ops) error { return fn(failingOps{tx, f}) })
}

type failingOps struct {
	store.Ops
	f *failingStore
}

func (o failingOps) ApplyReceipt(ctx context.Context, r store.DeliveryReceipt) (store.Transmission, bool, error) {
	o.f.mu.Lock()
	fail := o.f.receiptFails[r.MessageID] < o.f.receiptLimit
	if fail {
		o.f.receiptFails[r.MessageID]++
		o.f.failures++
	}
	o.f.mu.Unlock()
	if fail {
		return store.Transmission{}, false, errDiskFull
	}
	return o.Ops.ApplyReceipt(ctx, r)
}

// ApplyReceipts fails the group when one of its receipts is to fail, as
// a database failing a statement fails its transaction.
func (o failingOps) ApplyReceipts(ctx context.Context, rs []store.DeliveryReceipt) ([]bool, error) {
	for _, r := range rs {
		o.f.mu.Lock()
		fail := o.f.receiptFails[r.MessageID] < o.f.receiptLimit
		if fail {
			o.f.receiptFails[r.MessageID]++
			o.f.failures++
		}
		o.f.mu.Unlock()
		if fail {
			return nil, errDiskFull
		}
	}
	return o.Ops.ApplyReceipts(ctx, rs)
}

func (o failingOps) InsertMO(ctx context.Context, m *store.MO) error {
	o.f.mu.Lock()
	fail := o.f.moFail
	if fail {
		o.f.failures++
	}
	o.f.mu.Unlock()
	if fail {
		return errDiskFull
	}
	return o.Ops.InsertMO(ctx, m)
}

// Receipts and replies are acknowledged only once stored: when the store
// fails, the SMSC gets ESME_RX_T_APPN and delivers them again, and
// nothing is lost.
func TestStoreFailureRefusesReceiptsAndReplies(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		fs := &failingStore{Store: st, receiptFails: map[string]int{}, receiptLimit: 2}
		sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: time.Millisecond})
		defer sim.Close()
		op := addOperator(t, st, "sick", sim, func(o *store.Operator) { o.Default = true })
		g := startGateway(t, fs)
		const n = 10
		sum := waitDone(t, g, loadNumbered(t, g, "sick", n))
		assert.Equal(t, n, sum.ByState[store.TxDelivered], "%v", sum.ByState)
		fs.mu.Lock()
		assert.Equal(t, 2*n, fs.failures, "receipts refused")
		fs.mu.Unlock()
		waitFor(t, func() bool { return sim.Stats().Receipts == n })

		fs.mu.Lock()
		fs.moFail = true
		fs.mu.Unlock()
		err := sim.SendMO(ctx, smpptest.MO{From: "584140000001", To: "2020", Text: "SI"})
		var se *smpp.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, pdu.StatusXTAppn, se.Status)
		mos, err := st.MOs(ctx, store.MOFilter{})
		require.NoError(t, err)
		assert.Empty(t, mos, "a reply stored though refused")
		fs.mu.Lock()
		fs.moFail = false
		fs.mu.Unlock()
		require.NoError(t, sim.SendMO(ctx, smpptest.MO{From: "584140000001", To: "2020", Text: "SI"}))
		mos, err = st.MOs(ctx, store.MOFilter{})
		require.NoError(t, err)
		require.Len(t, mos, 1)
		assert.Equal(t, "SI", mos[0].Text)
		assert.Equal(t, op.ID, mos[0].OperatorID)
	})
}
