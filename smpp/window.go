package smpp

import (
	"context"
	"sync/atomic"
)

// window is a counting semaphore for a session's outstanding requests.
// Acquiring a free slot and releasing one are a few atomic operations;
// only a caller that finds the window full touches a channel.
type window struct {
	max     int64
	used    atomic.Int64
	waiters atomic.Int64
	freed   chan struct{} // a slot was released while someone waited
}

func newWindow(n int) *window {
	return &window{max: int64(n), freed: make(chan struct{}, 1)}
}

func (w *window) tryAcquire() bool {
	for {
		u := w.used.Load()
		if u >= w.max {
			return false
		}
		if w.used.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

// acquire takes a slot, waiting while the window is full until ctx ends
// or done is closed (then it returns the reason, nil for done).
func (w *window) acquire(ctx context.Context, done <-chan struct{}) (ok bool, err error) {
	if w.tryAcquire() {
		return true, nil
	}
	w.waiters.Add(1)
	defer w.waiters.Add(-1)
	for {
		// Registered as a waiter before this check: a release after it
		// signals freed, so no wake-up is lost.
		if w.tryAcquire() {
			return true, nil
		}
		select {
		case <-w.freed:
		case <-done:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

func (w *window) release() {
	w.used.Add(-1)
	if w.waiters.Load() > 0 {
		select {
		case w.freed <- struct{}{}:
		default:
		}
	}
}
