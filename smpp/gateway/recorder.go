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
		var run outcomeRun
		for i, w := range batch {
			switch {
			case w.submit != nil:
				if run.receiptFor(w.submit.Result.MessageIDs) {
					if err := run.store(ctx, tx, errs); err != nil {
						return err
					}
				}
				run.addSubmit(i, *w.submit)
			case w.receipt != nil:
				run.addReceipt(*w.receipt)
			default:
				if err := run.store(ctx, tx, errs); err != nil {
					return err
				}
				errs[i] = w.apply(ctx, tx)
				if errs[i] != nil && !businessError(errs[i]) {
					return errs[i]
				}
			}
		}
		return run.store(ctx, tx, errs)
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

// outcomeRun collects consecutive accepted submissions and receipts of a
// group, to be stored with one RecordSubmits and then one ApplyReceipts.
// Storing the submissions first is storing the writes in queue order as
// long as no receipt comes before a submission that carries its message
// id (an id the SMSC reused: the receipt is an older message's, or a
// receipt overtook its own submit_sm_resp), so such a submission starts a
// new run; any other write does too, since it may end a message a
// receipt before it is about.
type outcomeRun struct {
	subs  []store.Submitted
	subAt []int // the submissions' indexes in the group
	rcs   []store.DeliveryReceipt
	ids   map[string]bool // the receipts' message ids
}

func (r *outcomeRun) addSubmit(i int, s store.Submitted) {
	r.subs, r.subAt = append(r.subs, s), append(r.subAt, i)
}

func (r *outcomeRun) addReceipt(rc store.DeliveryReceipt) {
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	r.rcs = append(r.rcs, rc)
	r.ids[rc.MessageID] = true
}

// receiptFor reports whether a receipt of the run has one of ids.
func (r *outcomeRun) receiptFor(ids []string) bool {
	for _, id := range ids {
		if r.ids[id] {
			return true
		}
	}
	return false
}

// store stores the run, submissions first, sets their results in errs,
// and empties it.
func (r *outcomeRun) store(ctx context.Context, tx store.Ops, errs []error) error {
	if len(r.subs) > 0 {
		subErrs, err := tx.RecordSubmits(ctx, r.subs)
		if err != nil {
			return err
		}
		for j, i := range r.subAt {
			errs[i] = subErrs[j]
		}
	}
	if len(r.rcs) > 0 {
		if _, err := tx.ApplyReceipts(ctx, r.rcs); err != nil {
			return err
		}
	}
	r.subs, r.subAt, r.rcs = r.subs[:0], r.subAt[:0], r.rcs[:0]
	clear(r.ids)
	return nil
}
