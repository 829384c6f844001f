package chat

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// hub is the routing state: conversations in memory, the waiting line,
// and the operators. Its files: hub.go (state, participants, disconnects,
// the janitor's sweep), hub_queue.go (the line), hub_assign.go (routing
// to operators), hub_messages.go (storing and delivering messages),
// hub_lifecycle.go (resume, close); delivery.go has the per-connection
// cursors.
//
// Invariants:
//   - One mutex (mu) guards the maps, the line and every conv's and
//     operator's fields marked so; store I/O and frames go out only
//     after it is released. Lock order: hub.mu, then conn.mu.
//   - A connection is in a conversation's participant sets only while it
//     has a cursor for it (follow before adding, unfollow after removing),
//     so every delivery finds its cursor.
//   - version changes under mu whenever a participant set changes; the
//     participants cache is valid only for the version it was made at.
//   - A conversation is in the line (queue) iff it is waiting for an
//     operator: not assigned, not a message left, not closed; waiting
//     counts it per client address.
type hub struct {
	srv   *Server
	mu    sync.Mutex
	convs map[int64]*conv
	queue []*conv // waiting, first come first served
	ops   map[string]*operator
	// waiting counts the conversations in line per client address
	// (PerIPLimits.MaxWaiting).
	waiting map[string]int
	// messages counts the messages stored, by sender: customer, operator,
	// system (Stats).
	messages [3]atomic.Int64
	// assignedAt are the times of the latest assignments from the line,
	// oldest first: how fast the line moves (expectedWait).
	assignedAt []time.Time

	// Announcing the line is coalesced: at most one round per
	// announceEvery, telling each waiting customer only a changed place.
	announcing bool
	lastQueue  int // the Total last sent to operators

	batch *batcher // group commit, when the store has transactions

	// version changes (under mu) whenever who takes part in which
	// conversation changes; conversations cache their participants for
	// the version they were computed at.
	version atomic.Uint64
}

type participantsCache struct {
	version uint64
	cs, os  []*conn
}

// announceEvery bounds how often the line is announced.
const announceEvery = 100 * time.Millisecond

// conv is a conversation that is not closed.
type conv struct {
	id  int64
	rec store.Conversation
	ip  string // the client address that opened it ("" if not limited)

	// post serializes, without a batcher, append + broadcast (POSTs go
	// out in seq order); with one, the check of ending + queueing.
	post   sync.Mutex
	ending bool       // a close began: nothing but system messages is taken (guarded by post)
	life   sync.Mutex // serializes carrying out assignments and closing

	// Guarded by hub.mu.
	customers map[*conn]struct{}
	operator  *operator // nil while waiting
	leftAt    time.Time // the customer's last connection ended (zero while connected)
	tokenGen  uint64    // the current resume token generation (0: unknown, after a restart)
	tokenConn *conn     // the connection given it
	tokenAt   time.Time // when
	fileBytes int64
	toldPos   int  // the place in line the customer was last told (0: none)
	closing   bool // a sweep is closing it

	cache atomic.Pointer[participantsCache]
}

// operator is an operator known to the hub (online, or with
// conversations waiting for their return).
type operator struct {
	id       string
	name     atomic.Pointer[string] // display name, as at the last login
	capacity int
	presence Presence
	conns    map[*conn]struct{}
	active   map[int64]*conv
	goneAt   time.Time // last connection ended (zero while connected)
}

func newHub(s *Server) *hub {
	h := &hub{srv: s, convs: map[int64]*conv{}, ops: map[string]*operator{}, waiting: map[string]int{}}
	if txs, ok := s.Store.(txStore); ok {
		h.batch = newBatcher(txs)
	}
	return h
}

// load brings back the conversations a previous run left open: waiting
// ones queue again (in id order), active ones wait for their operator,
// messages left wait for their customer's grace to end.
func (h *hub) load(ctx context.Context) error {
	for _, state := range []store.ConversationState{store.ConversationWaiting, store.ConversationActive} {
		var after int64
		for {
			page, err := h.srv.Store.Conversations(ctx, store.ConversationFilter{State: state, AfterID: after, Limit: 500})
			if err != nil {
				return fmt.Errorf("chat: loading open conversations: %w", err)
			}
			h.mu.Lock()
			for _, rec := range page {
				if _, ok := h.convs[rec.ID]; ok {
					continue
				}
				cv := &conv{id: rec.ID, rec: rec, customers: map[*conn]struct{}{}, leftAt: time.Now()}
				h.convs[rec.ID] = cv
				switch {
				case state == store.ConversationWaiting && rec.LeftMessage:
					// not routed; it ends when its grace is over
				case state == store.ConversationWaiting:
					h.enqueueLocked(cv, false)
				default:
					op := h.operatorLocked(rec.OperatorID, h.srv.operatorName(ctx, rec.OperatorID))
					op.active[cv.id] = cv
					cv.operator = op
					h.version.Add(1)
				}
			}
			h.mu.Unlock()
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	return nil
}

func (op *operator) displayName() string { return *op.name.Load() }

// operatorLocked returns the operator's state, creating it (offline).
func (h *hub) operatorLocked(id, name string) *operator {
	op := h.ops[id]
	if op == nil {
		op = &operator{id: id, capacity: h.srv.defaultCapacity(), presence: Available,
			conns: map[*conn]struct{}{}, active: map[int64]*conv{}, goneAt: time.Now()}
		op.name.Store(&name)
		h.ops[id] = op
	}
	return op
}

// participants returns the connections of a conversation's customer and
// operator. The slices are shared: callers must not change them.
func (h *hub) participants(cv *conv) (customers, operators []*conn) {
	if p := cv.cache.Load(); p != nil && p.version == h.version.Load() {
		return p.cs, p.os
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range cv.customers {
		customers = append(customers, c)
	}
	if cv.operator != nil {
		for c := range cv.operator.conns {
			operators = append(operators, c)
		}
	}
	cv.cache.Store(&participantsCache{version: h.version.Load(), cs: customers, os: operators})
	return customers, operators
}

func sendAll(conns []*conn, m Message) {
	for _, c := range conns {
		c.send(m)
	}
}

func connsOf(set map[*conn]struct{}) []*conn {
	out := make([]*conn, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	return out
}

// sendConvAll queues an event about conversation id to conns, after
// whatever of the conversation they are still catching up on.
func sendConvAll(conns []*conn, id int64, m Message) {
	for _, c := range conns {
		c.sendConv(id, m)
	}
}

func releaseAll(conns []*conn, id int64) {
	for _, c := range conns {
		c.release(id)
	}
}

// disconnected forgets a connection; the other side hears of it when the
// last connection of a participant ends.
func (h *hub) disconnected(c *conn) {
	now := time.Now()
	type tell struct {
		id    int64
		conns []*conn
		ev    *Event
	}
	var tells []tell
	h.mu.Lock()
	switch {
	case c.conv != nil:
		cv := c.conv
		delete(cv.customers, c)
		h.version.Add(1)
		if len(cv.customers) == 0 {
			cv.leftAt = now
			if cv.operator != nil && h.convs[cv.id] == cv { // a closed conversation has no news
				tells = append(tells, tell{cv.id, connsOf(cv.operator.conns),
					&Event{ConversationID: cv.id, Kind: EventAway, Text: "the customer disconnected", Time: now}})
			}
		}
	case c.op != nil:
		op := c.op
		delete(op.conns, c)
		h.version.Add(1)
		if len(op.conns) == 0 {
			op.goneAt = now
			public := h.srv.publicOperatorID(op.id)
			for _, cv := range op.active {
				tells = append(tells, tell{cv.id, connsOf(cv.customers), &Event{ConversationID: cv.id, Kind: EventAway,
					OperatorID: public, OperatorName: op.displayName(), Text: "the operator disconnected", Time: now}})
			}
		}
	}
	h.mu.Unlock()
	for _, t := range tells {
		sendConvAll(t.conns, t.id, t.ev)
	}
}

// sweep closes waiting conversations whose customer left more than
// ResumeTTL ago, and requeues the conversations of operators gone for
// more than OperatorGrace.
func (h *hub) sweep(now time.Time) {
	ctx := context.Background()
	var abandoned []*conv
	requeued := false
	h.mu.Lock()
	var left []*conv
	for _, cv := range h.convs {
		if len(cv.customers) > 0 || cv.leftAt.IsZero() || cv.operator != nil || cv.closing {
			continue
		}
		switch {
		case cv.rec.LeftMessage && now.Sub(cv.leftAt) > h.srv.leftMessageGrace():
			cv.closing = true
			left = append(left, cv)
		case !cv.rec.LeftMessage && now.Sub(cv.leftAt) > h.srv.resumeTTL():
			abandoned = append(abandoned, cv)
		}
	}
	for _, op := range h.ops {
		if len(op.conns) == 0 && !op.goneAt.IsZero() && now.Sub(op.goneAt) > h.srv.operatorGrace() && len(op.active) > 0 {
			for _, cv := range op.active {
				h.unassignLocked(cv)
				h.enqueueLocked(cv, true)
				requeued = true
			}
		}
	}
	h.mu.Unlock()
	for _, cv := range abandoned {
		if err := h.close(ctx, cv, "the customer left before an operator was free"); err != nil {
			h.srv.logf("closing an abandoned conversation", "conversation", cv.id, "err", err)
		}
	}
	for _, cv := range left { // the hook may take its time: not on the janitor
		h.srv.wg.Add(1)
		go func() {
			defer h.srv.wg.Done()
			if err := h.close(ctx, cv, "the customer left a message"); err != nil {
				h.srv.logf("closing a left message", "conversation", cv.id, "err", err)
				h.mu.Lock()
				cv.closing = false
				h.mu.Unlock()
			}
		}()
	}
	if requeued {
		h.dispatch(ctx)
	}
}
