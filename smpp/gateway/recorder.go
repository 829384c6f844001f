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

type write struct {
	apply func(ctx context.Context, tx store.Ops) error
	done  func(error)
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
		for i, w := range batch {
			errs[i] = w.apply(ctx, tx)
			if errs[i] != nil && !businessError(errs[i]) {
				return errs[i]
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
