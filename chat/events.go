package chat

import (
	"sync"
	"time"
)

// ConversationEventKind is what happened to a conversation.
type ConversationEventKind string

// Conversation events, as Server.OnEvent receives them.
const (
	ConversationOpened      ConversationEventKind = "opened"       // a customer opened it (LeftMessage: no operator available)
	ConversationAssigned    ConversationEventKind = "assigned"     // an operator took it (OperatorID)
	ConversationTransferred ConversationEventKind = "transferred"  // from Previous to OperatorID
	ConversationLeftMessage ConversationEventKind = "left_message" // a message left while no operator was available ended (Ref)
	ConversationClosed      ConversationEventKind = "closed"
)

// ConversationEvent is a change of a conversation, for applications
// (dashboards, webhooks, metrics). It carries ids, not the messages:
// read them from the store.
type ConversationEvent struct {
	Kind           ConversationEventKind
	ConversationID int64
	CustomerName   string
	OperatorID     string // assigned, transferred: the operator who has it now
	Previous       string // transferred: the operator who had it
	Verified       bool   // the customer's identity came from a signed token
	LeftMessage    bool   // opened while no operator was available
	Ref            string // left_message: what OnLeftMessage returned
	Time           time.Time
}

// maxPendingEvents bounds the events waiting for a slow OnEvent; beyond
// it they are dropped and counted (Stats.EventsDropped).
const maxPendingEvents = 1 << 16

// eventQueue hands events to the hook one at a time, in the order they
// were recorded, on a goroutine of its own.
type eventQueue struct {
	hook    func(ConversationEvent)
	mu      sync.Mutex
	pending []ConversationEvent
	running bool
	dropped int64
	wg      *sync.WaitGroup
}

func (q *eventQueue) emit(e ConversationEvent) {
	if q.hook == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= maxPendingEvents {
		q.dropped++
		return
	}
	q.pending = append(q.pending, e)
	if !q.running {
		q.running = true
		q.wg.Add(1)
		go q.run()
	}
}

func (q *eventQueue) run() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.pending = nil
			q.mu.Unlock()
			return
		}
		e := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		q.hook(e)
	}
}

func (q *eventQueue) droppedCount() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
