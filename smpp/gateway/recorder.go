package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/switchboard-go/switchboard/store"
)

// recorder writes outcomes (submit results, receipts, replies) to the
// store in group commits: whatever has queued up while the previous
// transaction ran goes into the next one. Each write's done is called
// after its transaction committed (nil) or failed, so that an SMSC's
// delivery is acknowledged only once it is stored.
type recorder struct {
	st      Store
	mu      sync.Mutex
	queue   []write
	wake    chan struct{}
	max     int
	workers int

	stop chan struct{}
	done chan struct{}
}

// write is one outcome to store. apply stores it alone; a write that is
// a receipt or an accepted submission also says so (receipt, submit),
// and a group commit stores all of those of a group in a few set-based
// statements (store.ApplyReceipts, store.RecordSubmits).
type write struct {
	apply   func(ctx context.Context, tx store.Ops) error
	receipt *store.DeliveryReceipt
	submit  *store.Submitted
	done    func(error)
}

// receiptWrite stores a receipt.
func receiptWrite(rc store.DeliveryReceipt, done func(error)) write {
	return write{
		apply:   func(ctx context.Context, tx store.Ops) error { _, _, err := tx.ApplyReceipt(ctx, rc); return err },
		receipt: &rc,
		done:    done,
	}
}

func newRecorder(st Store, batch, workers int) *recorder {
	return &recorder{st: st, wake: make(chan struct{}, 1), max: batch, workers: max(workers, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

func (r *recorder) add(w write) {
	r.mu.Lock()
	r.queue = append(r.queue, w)
	n := len(r.queue)
	r.mu.Unlock()
	if n == 1 {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// run writes, with its workers each running a transaction at a time,
// until close; then it writes what is left and returns.
func (r *recorder) run() {
	defer close(r.done)
	var wg sync.WaitGroup
	for range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work()
		}()
	}
	wg.Wait()
}

func (r *recorder) work() {
	for {
		select {
		case <-r.wake:
		case <-r.stop:
			for r.flush() > 0 {
			}
			return
		}
		for r.flush() > 0 {
		}
	}
}

func (r *recorder) close() {
	close(r.stop)
	<-r.done
}

// businessError is an outcome of one write that does not spoil the
// transaction: the state moved on meanwhile (e.g. requeued as stale).
func businessError(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrDuplicate)
}

// flush writes up to max queued writes in one transaction and returns how
// many it took. If the transaction fails, each write is tried alone.
func (r *recorder) flush() int {
	r.mu.Lock()
	n := min(len(r.queue), r.max)
	batch := append([]write(nil), r.queue[:n]...)
	r.queue = append(r.queue[:0], r.queue[n:]...)
	more := len(r.queue) > 0
	r.mu.Unlock()
	if n == 0 {
		return 0
	}
	if more { // let another worker take the rest meanwhile
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	// Writes are not cancelled by the gateway's context: an outcome the
	// SMSC gave must be stored even while shutting down.
	ctx := context.Background()
	errs := make([]error, n)
	err := r.st.InTx(ctx, func(tx store.Ops) error {
		// The other writes in order, then the accepted submissions, then
		// the receipts, each kind as a group. A receipt taken before the
		// submission it is for is kept for it by the store, so the order
		// of the two changes no outcome.
		var subs []store.Submitted
		var rcs []store.DeliveryReceipt
		var subAt []int
		for i, w := range batch {
			switch {
			case w.submit != nil:
				subs, subAt = append(subs, *w.submit), append(subAt, i)
			case w.receipt != nil:
				rcs = append(rcs, *w.receipt)
			default:
				errs[i] = w.apply(ctx, tx)
				if errs[i] != nil && !businessError(errs[i]) {
					return errs[i]
				}
			}
		}
		if len(subs) > 0 {
			subErrs, err := tx.RecordSubmits(ctx, subs)
			if err != nil {
				return err
			}
			for j, i := range subAt {
				errs[i] = subErrs[j]
			}
		}
		if len(rcs) > 0 {
			if _, err := tx.ApplyReceipts(ctx, rcs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i, w := range batch {
			errs[i] = r.st.InTx(ctx, func(tx store.Ops) error { return w.apply(ctx, tx) })
		}
	}
	for i, w := range batch {
		if w.done != nil {
			w.done(errs[i])
		}
	}
	return n
}
