package chat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// assignLocked makes op serve cv. op's connections follow the
// conversation from its first message, held until they are told
// (releaseAll after the ASSIGNED frame).
func (h *hub) assignLocked(cv *conv, op *operator) {
	cv.operator = op
	op.active[cv.id] = cv
	for c := range op.conns {
		c.follow(cv, 1, false, true)
	}
	h.version.Add(1)
}

// unassignLocked takes cv from its operator, whose connections stop
// following it.
func (h *hub) unassignLocked(cv *conv) {
	if op := cv.operator; op != nil {
		delete(op.active, cv.id)
		for c := range op.conns {
			c.unfollow(cv.id)
		}
	}
	cv.operator = nil
	h.version.Add(1)
}

// assignment is a routing decision made under the lock and carried out
// (store, notifications) outside it.
type assignment struct {
	cv       *conv
	op       *operator
	previous *operator // for a transfer
}

// dispatch hands waiting conversations to available operators with
// capacity, least loaded first, and tells everybody in line where they
// stand. It is called whenever capacity or the line changes.
func (h *hub) dispatch(ctx context.Context) {
	var todo []assignment
	h.mu.Lock()
	for len(h.queue) > 0 {
		i := slices.IndexFunc(h.queue, func(cv *conv) bool { return len(cv.customers) > 0 })
		if i < 0 {
			break // nobody connected is waiting
		}
		op := h.pickLocked()
		if op == nil {
			break
		}
		cv := h.dequeueLocked(i)
		h.assignLocked(cv, op)
		todo = append(todo, assignment{cv: cv, op: op})
	}
	h.mu.Unlock()
	for _, a := range todo {
		h.carryOut(ctx, a)
	}
	h.announceQueue()
}

// pickLocked returns the available, connected operator with the most
// free capacity (ties: fewest conversations, then id), or nil.
func (h *hub) pickLocked() *operator {
	var best *operator
	for _, op := range h.ops {
		if op.presence != Available || len(op.conns) == 0 || len(op.active) >= op.capacity {
			continue
		}
		if best == nil || len(op.active) < len(best.active) || (len(op.active) == len(best.active) && op.id < best.id) {
			best = op
		}
	}
	return best
}

// carryOut records an assignment or transfer and tells the participants.
// If the store refuses, the conversation goes back where it was.
func (h *hub) carryOut(ctx context.Context, a assignment) {
	a.cv.life.Lock() // not while it closes: events in order
	defer a.cv.life.Unlock()
	now := time.Now()
	if err := h.srv.Store.AssignConversation(ctx, a.cv.id, a.op.id, now); err != nil {
		h.srv.logf("assigning", "conversation", a.cv.id, "operator", a.op.id, "err", err)
		h.mu.Lock()
		h.unassignLocked(a.cv)
		if a.previous != nil {
			h.assignLocked(a.cv, a.previous)
			releaseAll(connsOf(a.previous.conns), a.cv.id)
		} else if !errors.Is(err, store.ErrConflict) {
			h.enqueueLocked(a.cv, true)
		}
		h.mu.Unlock()
		return
	}
	h.mu.Lock()
	a.cv.rec.OperatorID, a.cv.rec.State, a.cv.rec.AssignedAt = a.op.id, store.ConversationActive, now
	rec := a.cv.rec
	if a.previous == nil {
		h.assignedAt = append(h.assignedAt, now)
		if len(h.assignedAt) > 64 {
			h.assignedAt = slices.Delete(h.assignedAt, 0, len(h.assignedAt)-64)
		}
	}
	opConns := connsOf(a.op.conns)
	var prevConns []*conn
	if a.previous != nil {
		prevConns = connsOf(a.previous.conns)
	}
	h.mu.Unlock()
	public := h.srv.publicOperatorID(a.op.id)
	text := a.op.displayName() + " joined the conversation"
	kind := EventAssigned
	if a.previous != nil {
		text = fmt.Sprintf("%s transferred the conversation to %s", a.previous.displayName(), a.op.displayName())
		kind = EventTransferred
		sendAll(prevConns, &Event{ConversationID: a.cv.id, Kind: EventTransferred, OperatorID: a.op.id, OperatorName: a.op.displayName(), Time: now})
	}
	sendAll(opConns, assignedOf(rec))
	releaseAll(opConns, a.cv.id) // the history follows the ASSIGNED frame
	// Stored before the customer hears of it, so that the transcript
	// has it before anything the customer says in answer.
	h.system(ctx, a.cv, text)
	cs, _ := h.participants(a.cv)
	sendConvAll(cs, a.cv.id, &Event{ConversationID: a.cv.id, Kind: kind, OperatorID: public, OperatorName: a.op.displayName(), Time: now})
	h.srv.logf("assigned", "conversation", a.cv.id, "operator", a.op.id, "transfer", a.previous != nil)
	ev := ConversationEvent{Kind: ConversationAssigned, ConversationID: rec.ID, CustomerName: rec.CustomerName,
		OperatorID: a.op.id, Verified: rec.Verified, Time: now}
	if a.previous != nil {
		ev.Kind, ev.Previous = ConversationTransferred, a.previous.id
	}
	h.srv.events.emit(ev)
}

func assignedOf(rec store.Conversation) *Assigned {
	return &Assigned{ConversationID: rec.ID, CustomerName: rec.CustomerName, CustomerID: rec.CustomerID,
		Email: rec.CustomerEmail, LastSeq: rec.LastSeq, OpenedAt: rec.OpenedAt, Verified: rec.Verified, LeftMessage: rec.LeftMessage}
}

// accept lets an operator take a waiting conversation (0: the first
// one whose customer is connected).
func (h *hub) accept(ctx context.Context, op *operator, id int64) (ErrorCode, string) {
	h.mu.Lock()
	if capacity := op.capacity; len(op.active) >= capacity {
		h.mu.Unlock()
		return CodeConflict, fmt.Sprintf("already serving %d conversations, the maximum", capacity)
	}
	i := slices.IndexFunc(h.queue, func(cv *conv) bool { return (id == 0 && len(cv.customers) > 0) || cv.id == id })
	if i < 0 {
		h.mu.Unlock()
		if id == 0 {
			return CodeNotFound, "nobody is waiting"
		}
		return CodeConflict, "the conversation is not waiting (taken or closed)"
	}
	cv := h.dequeueLocked(i)
	h.assignLocked(cv, op)
	h.mu.Unlock()
	h.carryOut(ctx, assignment{cv: cv, op: op})
	h.announceQueue()
	return 0, ""
}

// transfer hands a conversation from one operator to another connected
// one with room.
func (h *hub) transfer(ctx context.Context, from *operator, id int64, to string) (ErrorCode, string) {
	h.mu.Lock()
	cv := from.active[id]
	target := h.ops[to]
	switch {
	case cv == nil:
		h.mu.Unlock()
		return CodeForbidden, "not your conversation"
	case target == nil || len(target.conns) == 0:
		h.mu.Unlock()
		return CodeNotFound, "no such operator online"
	case target == from:
		h.mu.Unlock()
		return CodeConflict, "already yours"
	case len(target.active) >= target.capacity:
		h.mu.Unlock()
		return CodeConflict, "that operator has no room"
	}
	h.unassignLocked(cv)
	h.assignLocked(cv, target)
	h.mu.Unlock()
	h.carryOut(ctx, assignment{cv: cv, op: target, previous: from})
	h.dispatch(ctx) // from has room now
	return 0, ""
}

// operatorOnline registers an operator's connection and returns the
// conversations it serves (after a reconnect). The connection follows
// each from after the seq the client says it has seen (cursors), from
// the start otherwise, held until released (after the ASSIGNED frames).
func (h *hub) operatorOnline(acct OperatorAccount, c *conn, cursors map[int64]int64) (*operator, []store.Conversation) {
	h.mu.Lock()
	op := h.operatorLocked(acct.ID, acct.Name)
	op.name.Store(&acct.Name)
	op.capacity = orInt(acct.MaxConversations, h.srv.defaultCapacity())
	for _, cv := range op.active {
		c.follow(cv, cursors[cv.id]+1, false, true)
	}
	op.conns[c] = struct{}{}
	h.version.Add(1)
	back := !op.goneAt.IsZero()
	op.goneAt = time.Time{}
	var recs []store.Conversation
	type tell struct {
		id    int64
		conns []*conn
	}
	var customers []tell
	for _, cv := range op.active {
		recs = append(recs, cv.rec)
		if back {
			customers = append(customers, tell{cv.id, connsOf(cv.customers)})
		}
	}
	h.mu.Unlock()
	slices.SortFunc(recs, func(a, b store.Conversation) int { return cmp.Compare(a.ID, b.ID) })
	public := h.srv.publicOperatorID(op.id)
	for _, t := range customers {
		sendConvAll(t.conns, t.id, &Event{ConversationID: t.id, Kind: EventBack, OperatorID: public, OperatorName: op.displayName(), Time: time.Now()})
	}
	return op, recs
}

// setPresence sets an operator's presence and returns its connections
// (to tell them all).
func (h *hub) setPresence(op *operator, p Presence) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.presence = p
	return connsOf(op.conns)
}
