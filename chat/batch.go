package chat

import (
	"context"
	"sync"

	"github.com/switchboard-go/switchboard/store"
)

// txStore is a store that can run several operations in one transaction
// (store.Store can). With one, the server group-commits messages.
type txStore interface {
	InTx(ctx context.Context, fn func(tx store.Ops) error) error
}

// batcher appends messages in group commits: whatever queued up while the
// previous transaction ran goes into the next one. A message is
// acknowledged only after its transaction committed. Completions run in
// queue order on one goroutine (while the next transaction runs), so what
// they deliver goes out in sequence order; they must not wait for the
// batcher.
type batcher struct {
	st     txStore
	mu     sync.Mutex
	queue  []*pendingAppend
	closed bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{} // closed when every completion has run

	finished chan []*pendingAppend // committed batches, to complete
}

type pendingAppend struct {
	m       store.Message
	stored  store.Message
	created bool
	err     error
	then    func(stored store.Message, created bool, err error)
}

// maxBatch caps the messages of one transaction. A conversation's index
// pages are written once per transaction however many of its messages it
// holds, so large batches are what makes a busy server fast.
const maxBatch = 8192

func newBatcher(st txStore) *batcher {
	b := &batcher{st: st, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		finished: make(chan []*pendingAppend, 4)}
	go b.run()
	go b.complete()
	return b
}

// complete runs the completions of committed batches, in commit order,
// while the next transaction runs.
func (b *batcher) complete() {
	defer close(b.done)
	for batch := range b.finished {
		for _, p := range batch {
			p.then(p.stored, p.created, p.err)
		}
	}
}

// appendThen queues m and returns at once; then runs on the batcher's
// goroutine once m is committed or refused. After close it runs then
// with store.ErrClosed before returning.
func (b *batcher) appendThen(m store.Message, then func(stored store.Message, created bool, err error)) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		then(store.Message{}, false, store.ErrClosed)
		return
	}
	b.queue = append(b.queue, &pendingAppend{m: m, then: then})
	first := len(b.queue) == 1
	b.mu.Unlock()
	if first {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// close commits what is queued and stops; later appends fail.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	<-b.done
}

func (b *batcher) run() {
	defer close(b.finished)
	for {
		select {
		case <-b.stop:
			for b.commit() > 0 { // what is queued still goes in
			}
			return
		case <-b.wake:
		}
		for b.commit() > 0 {
		}
	}
}

// commit runs one transaction of queued appends, hands them over for
// completion and returns how many.
func (b *batcher) commit() int {
	b.mu.Lock()
	n := min(len(b.queue), maxBatch)
	batch := append([]*pendingAppend(nil), b.queue[:n]...)
	b.queue = append(b.queue[:0], b.queue[n:]...)
	b.mu.Unlock()
	if n == 0 {
		return 0
	}
	ctx := context.Background()
	ms := make([]store.Message, n)
	for i, p := range batch {
		ms[i] = p.m
	}
	err := b.st.InTx(ctx, func(tx store.Ops) error {
		res, err := tx.AppendMessages(ctx, ms)
		if err != nil {
			return err
		}
		for i, p := range batch {
			p.stored, p.created, p.err = res[i].Message, res[i].Created, res[i].Err
		}
		return nil
	})
	if err != nil { // one bad append must not fail the others
		for _, p := range batch {
			p.err = b.st.InTx(ctx, func(tx store.Ops) error {
				var err error
				p.stored, p.created, err = tx.AppendMessage(ctx, p.m)
				return err
			})
		}
	}
	b.finished <- batch
	return n
}
