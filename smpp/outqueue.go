package smpp

import "sync"

// outQueue carries PDUs to a session's writer. Producers append under a
// mutex; the writer swaps the whole queue out at once, so a batch costs
// it one lock, not one channel receive per PDU. Requests are bounded by
// the window before they get here; responses (which the peer's requests
// cause) are bounded by limit, so a peer that sends without reading
// stalls its own reader instead of growing the queue.
type outQueue struct {
	mu    sync.Mutex
	items []outItem
	limit int
	full  int           // producers waiting for room
	wake  chan struct{} // the queue went from empty to not empty
	space chan struct{} // the writer took the queue while producers waited
}

func newOutQueue(limit int) *outQueue {
	return &outQueue{limit: limit, items: make([]outItem, 0, 64),
		wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
}

// put queues it. With bounded, it waits while the queue is full, until
// done is closed (then it reports false).
func (q *outQueue) put(it outItem, bounded bool, done <-chan struct{}) bool {
	for {
		q.mu.Lock()
		if !bounded || len(q.items) < q.limit {
			q.items = append(q.items, it)
			n := len(q.items)
			q.mu.Unlock()
			if n == 1 {
				select {
				case q.wake <- struct{}{}:
				default:
				}
			}
			return true
		}
		q.full++
		q.mu.Unlock()
		var ok bool
		select {
		case <-q.space:
			ok = true
		case <-done:
		}
		q.mu.Lock()
		q.full--
		q.mu.Unlock()
		if !ok {
			return false
		}
	}
}

// take returns everything queued and keeps spare (emptied) as the next
// queue's storage.
func (q *outQueue) take(spare []outItem) []outItem {
	q.mu.Lock()
	out := q.items
	q.items = spare[:0]
	if q.full > 0 {
		select {
		case q.space <- struct{}{}:
		default:
		}
	}
	q.mu.Unlock()
	return out
}
