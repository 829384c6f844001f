package chattest

import (
	"context"
	"errors"

	"github.com/switchboard-go/switchboard/store"
)

// ErrInjected is the error of a failure FailCommits injects.
var ErrInjected = errors.New("chattest: injected failure")

// FailCommits wraps st so that a transaction that appended a message for
// which fail returns true fails at its commit (it is rolled back and
// InTx returns ErrInjected), as a database that loses its disk or its
// connection would. Messages appended outside transactions are refused
// the same way. Use it to test what clients see when a commit fails: a
// chat.Server on it must send neither an ACK nor a POST for such a
// message.
func FailCommits(st store.Store, fail func(m store.Message) bool) store.Store {
	return &failingStore{Store: st, fail: fail}
}

type failingStore struct {
	store.Store
	fail func(store.Message) bool
}

func (f *failingStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return f.Store.InTx(ctx, func(tx store.Ops) error {
		rec := &recordingOps{Ops: tx, fail: f.fail}
		if err := fn(rec); err != nil {
			return err
		}
		if rec.failed {
			return ErrInjected // the commit fails: everything is rolled back
		}
		return nil
	})
}

func (f *failingStore) AppendMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	if f.fail(m) {
		return store.Message{}, false, ErrInjected
	}
	return f.Store.AppendMessage(ctx, m)
}

func (f *failingStore) AppendMessages(ctx context.Context, ms []store.Message) ([]store.AppendResult, error) {
	for _, m := range ms {
		if f.fail(m) {
			return nil, ErrInjected
		}
	}
	return f.Store.AppendMessages(ctx, ms)
}

// recordingOps notes whether a transaction appended a message to fail.
type recordingOps struct {
	store.Ops
	fail   func(store.Message) bool
	failed bool
}

func (r *recordingOps) AppendMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	r.failed = r.failed || r.fail(m)
	return r.Ops.AppendMessage(ctx, m)
}

func (r *recordingOps) AppendMessages(ctx context.Context, ms []store.Message) ([]store.AppendResult, error) {
	for _, m := range ms {
		r.failed = r.failed || r.fail(m)
	}
	return r.Ops.AppendMessages(ctx, ms)
}
