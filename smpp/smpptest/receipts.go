package smpptest

import (
	"container/heap"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
)

// owed is a receipt the simulator has to deliver.
type owed struct {
	systemID     string
	origin       *smpp.ServerSession // the submitter: preferred when it can receive
	due          time.Time
	receipt      coding.Receipt
	source, dest string
	tries        int
}

// receiptQueue delivers owed receipts when due to a receiver bound with
// the submitter's system_id, and keeps them until acknowledged.
type receiptQueue struct {
	s      *Server
	mu     sync.Mutex
	owed   map[string]*owedHeap // by system_id: one ESME's receipts never wait behind another's
	n      int                  // receipts in owed
	flight int                  // handed to a session, not yet acknowledged
	acked  uint64               // acknowledged with ESME_ROK
	next   int                  // round robin over eligible sessions

	wakeCh chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newReceiptQueue(s *Server) *receiptQueue {
	ctx, cancel := context.WithCancel(context.Background())
	return &receiptQueue{s: s, owed: map[string]*owedHeap{}, wakeCh: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

func (q *receiptQueue) add(o owed) {
	q.mu.Lock()
	q.pushLocked(o)
	q.mu.Unlock()
	q.wake()
}

func (q *receiptQueue) pushLocked(o owed) {
	h := q.owed[o.systemID]
	if h == nil {
		h = &owedHeap{}
		q.owed[o.systemID] = h
	}
	heap.Push(h, o)
	q.n++
}

func (q *receiptQueue) wake() {
	select {
	case q.wakeCh <- struct{}{}:
	default:
	}
}

func (q *receiptQueue) counts() (acked, pending uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.acked, uint64(q.n + q.flight)
}

func (q *receiptQueue) stop() {
	q.cancel()
	q.wg.Wait()
}

// run is the delivery loop: one goroutine, plus one per receipt in flight
// (bounded by the sessions' windows).
// The caller has done q.wg.Add(1) for it.
func (q *receiptQueue) run() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Duration(-1) // until woken
		sooner := func(d time.Duration) {
			if wait < 0 || d < wait {
				wait = d
			}
		}
		q.mu.Lock()
		var o owed
		var ss *smpp.ServerSession
		for _, h := range q.owed {
			if len(*h) == 0 {
				continue
			}
			if d := time.Until((*h)[0].due); d > 0 {
				sooner(d)
			} else if ss = q.pickFor((*h)[0]); ss != nil {
				o = heap.Pop(h).(owed)
				q.n--
				q.flight++
				break
			} else {
				sooner(100 * time.Millisecond) // no receiver bound: look again on bind or soon
			}
		}
		q.mu.Unlock()
		if ss != nil {
			q.deliver(ss, o)
			continue
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-q.ctx.Done():
			return
		case <-q.wakeCh:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// pickFor returns the session that submitted o when it is still bound
// and can receive, else another receiver of the same system_id.
func (q *receiptQueue) pickFor(o owed) *smpp.ServerSession {
	if o.origin != nil {
		if st := o.origin.State(); st == smpp.StateBoundRX || st == smpp.StateBoundTRX {
			return o.origin
		}
	}
	return q.pick(o.systemID)
}

// pick returns a bound receiver session of systemID, round robin.
func (q *receiptQueue) pick(systemID string) *smpp.ServerSession {
	var eligible []*smpp.ServerSession
	for _, ss := range q.s.receivers() {
		if ss.Bind().SystemID == systemID {
			eligible = append(eligible, ss)
		}
	}
	if len(eligible) == 0 {
		return nil
	}
	slices.SortFunc(eligible, func(a, b *smpp.ServerSession) int { // a stable order for the round robin
		return strings.Compare(a.Bind().RemoteAddr.String(), b.Bind().RemoteAddr.String())
	})
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	q.next++
	return eligible[q.next%len(eligible)]
}

// deliver sends o through ss's window (waiting while it is full) and
// waits for the answer in its own goroutine; a failure puts o back.
func (q *receiptQueue) deliver(ss *smpp.ServerSession, o owed) {
	call, err := ss.Deliver(q.ctx, o.receipt.DeliverSM(o.source, o.dest))
	if err != nil {
		q.retry(o)
		return
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		_, err := call.Wait(q.ctx)
		if err != nil {
			q.retry(o)
			return
		}
		q.mu.Lock()
		q.flight--
		q.acked++
		q.mu.Unlock()
	}()
}

// retry puts back a receipt that was not acknowledged, with a backoff.
func (q *receiptQueue) retry(o owed) {
	o.tries++
	o.due = time.Now().Add(min(time.Duration(o.tries)*50*time.Millisecond, 2*time.Second))
	q.mu.Lock()
	q.flight--
	q.pushLocked(o)
	q.mu.Unlock()
	q.wake()
}

type owedHeap []owed

func (h owedHeap) Len() int           { return len(h) }
func (h owedHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h owedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *owedHeap) Push(x any)        { *h = append(*h, x.(owed)) }
func (h *owedHeap) Pop() any {
	old := *h
	o := old[len(old)-1]
	*h = old[:len(old)-1]
	return o
}
