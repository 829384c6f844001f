package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// hub is the routing state: conversations in memory, the waiting line,
// and the operators. One mutex guards it; store I/O happens outside it.
type hub struct {
	srv   *Server
	mu    sync.Mutex
	convs map[int64]*conv
	queue []*conv // waiting, first come first served
	ops   map[string]*operator

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

	post sync.Mutex // without a batcher, serializes append + broadcast: POSTs go out in seq order

	// Guarded by hub.mu.
	customers map[*conn]struct{}
	operator  *operator // nil while waiting
	leftAt    time.Time // the customer's last connection ended (zero while connected)
	fileBytes int64
	toldPos   int // the place in line the customer was last told (0: none)

	cache atomic.Pointer[participantsCache]
}

// operator is an operator known to the hub (online, or with
// conversations waiting for their return).
type operator struct {
	id, name string
	capacity int
	presence Presence
	conns    map[*conn]struct{}
	active   map[int64]*conv
	goneAt   time.Time // last connection ended (zero while connected)
}

func newHub(s *Server) *hub {
	h := &hub{srv: s, convs: map[int64]*conv{}, ops: map[string]*operator{}}
	if txs, ok := s.Store.(txStore); ok {
		h.batch = newBatcher(txs)
	}
	return h
}

// load brings back the conversations a previous run left open: waiting
// ones queue again (in id order), active ones wait for their operator.
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
				if state == store.ConversationWaiting {
					h.queue = append(h.queue, cv)
				} else {
					op := h.operatorLocked(rec.OperatorID, rec.OperatorID)
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

// operatorLocked returns the operator's state, creating it (offline).
func (h *hub) operatorLocked(id, name string) *operator {
	op := h.ops[id]
	if op == nil {
		op = &operator{id: id, name: name, capacity: h.srv.defaultCapacity(), presence: Available,
			conns: map[*conn]struct{}{}, active: map[int64]*conv{}, goneAt: time.Now()}
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

// appendThen stores m and delivers its POST to the conversation's other
// connections (not from), then calls then with the outcome. With a
// batching store it returns at once and then runs later on the batcher's
// completion goroutine, in sequence order; otherwise it runs before appendThen
// returns. then must not block.
func (h *hub) appendThen(ctx context.Context, cv *conv, m store.Message, senderName string, from *conn, att *store.Attachment,
	then func(stored store.Message, created bool, err error)) {
	if h.batch == nil {
		then(h.appendDirect(ctx, cv, m, senderName, from, att))
		return
	}
	ctx = context.WithoutCancel(ctx) // the sender may be gone by then
	h.batch.appendThen(m, func(stored store.Message, created bool, err error) {
		if err == nil && created {
			h.deliver(ctx, cv, stored, senderName, from, att)
		}
		then(stored, created, err)
	})
}

// append is appendThen waiting for the outcome.
func (h *hub) append(ctx context.Context, cv *conv, m store.Message, senderName string, from *conn, att *store.Attachment) (store.Message, bool, error) {
	if h.batch == nil {
		return h.appendDirect(ctx, cv, m, senderName, from, att)
	}
	var stored store.Message
	var created bool
	var err error
	done := make(chan struct{})
	h.appendThen(ctx, cv, m, senderName, from, att, func(s store.Message, c bool, e error) {
		stored, created, err = s, c, e
		close(done)
	})
	<-done
	return stored, created, err
}

// appendDirect stores and delivers without a batcher; cv.post keeps the
// POSTs in sequence order.
func (h *hub) appendDirect(ctx context.Context, cv *conv, m store.Message, senderName string, from *conn, att *store.Attachment) (store.Message, bool, error) {
	cv.post.Lock()
	defer cv.post.Unlock()
	stored, created, err := h.srv.Store.AppendMessage(ctx, m)
	if err == nil && created {
		h.deliver(ctx, cv, stored, senderName, from, att)
	}
	return stored, created, err
}

// deliver sends the POST of a stored message to every connection of its
// conversation but from.
func (h *hub) deliver(ctx context.Context, cv *conv, stored store.Message, senderName string, from *conn, att *store.Attachment) {
	p := h.srv.post(ctx, stored, senderName, att)
	cs, os := h.participants(cv)
	for _, c := range cs {
		if c != from {
			c.send(p)
		}
	}
	for _, c := range os {
		if c != from {
			c.send(p)
		}
	}
	putPost(p) // send encoded it: nothing keeps it
}

// Posts and acks are encoded at once by conn.send and then dropped: pooled,
// they are not garbage (fewer collections, shorter latency tails).
var (
	postPool = sync.Pool{New: func() any { return new(Post) }}
	ackPool  = sync.Pool{New: func() any { return new(Ack) }}
)

func putPost(p *Post) {
	*p = Post{}
	postPool.Put(p)
}

// system stores and delivers a system message.
func (h *hub) system(ctx context.Context, cv *conv, text string) {
	if _, _, err := h.append(ctx, cv, store.Message{ConversationID: cv.id, SenderRole: store.RoleSystem, Kind: store.KindSystem, Text: text}, "", nil, nil); err != nil {
		h.srv.logf("storing a system message", "conversation", cv.id, "err", err)
	}
}

// post makes the POST of a stored message. An attachment message carries
// the file's name, type and size: from att, or read from the store.
func (s *Server) post(ctx context.Context, m store.Message, senderName string, att *store.Attachment) *Post {
	p := postOf(m, senderName)
	if m.Kind == store.KindAttachment {
		if att == nil {
			if a, err := s.Store.Attachment(ctx, m.AttachmentID); err == nil {
				att = &a
			}
		}
		if att != nil {
			p.FileName, p.MediaType, p.Size = att.Name, att.MediaType, att.Size
		}
	}
	return p
}

func postOf(m store.Message, senderName string) *Post {
	p := postPool.Get().(*Post)
	*p = Post{ConversationID: m.ConversationID, Seq: m.Seq, SenderID: m.SenderID, SenderName: senderName, Text: m.Text,
		ClientMsgID: m.ClientMsgID, AttachmentID: m.AttachmentID, Time: m.CreatedAt}
	switch m.SenderRole {
	case store.RoleCustomer:
		p.SenderRole = RoleCustomer
	case store.RoleOperator:
		p.SenderRole = RoleOperator
	default:
		p.SenderRole = RoleSystem
	}
	switch m.Kind {
	case store.KindAttachment:
		p.Kind = PostAttachment
	case store.KindSystem:
		p.Kind = PostSystem
	default:
		p.Kind = PostText
	}
	return p
}

// enqueue adds a new waiting conversation for a connected customer.
func (h *hub) enqueue(cv *conv, c *conn) {
	h.mu.Lock()
	cv.customers[c] = struct{}{}
	h.version.Add(1)
	h.convs[cv.id] = cv
	h.queue = append(h.queue, cv)
	h.mu.Unlock()
}

// attachCustomer adds a connection to a conversation; ok is false when
// the conversation is not open here (closed, or unknown).
func (h *hub) attachCustomer(ctx context.Context, id int64, c *conn) (*conv, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cv := h.convs[id]
	if cv == nil {
		return nil, false
	}
	cv.customers[c] = struct{}{}
	h.version.Add(1)
	cv.leftAt = time.Time{}
	return cv, true
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
		cv := h.queue[i]
		h.queue = slices.Delete(h.queue, i, i+1)
		cv.operator = op
		h.version.Add(1)
		op.active[cv.id] = cv
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
	now := time.Now()
	if err := h.srv.Store.AssignConversation(ctx, a.cv.id, a.op.id, now); err != nil {
		h.srv.logf("assigning", "conversation", a.cv.id, "operator", a.op.id, "err", err)
		h.mu.Lock()
		delete(a.op.active, a.cv.id)
		if a.previous != nil {
			a.cv.operator = a.previous
			h.version.Add(1)
			a.previous.active[a.cv.id] = a.cv
		} else {
			a.cv.operator = nil
			h.version.Add(1)
			if !errors.Is(err, store.ErrConflict) {
				h.queue = append([]*conv{a.cv}, h.queue...)
			}
		}
		h.mu.Unlock()
		return
	}
	h.mu.Lock()
	a.cv.rec.OperatorID, a.cv.rec.State, a.cv.rec.AssignedAt = a.op.id, store.ConversationActive, now
	rec := a.cv.rec
	var opConns, prevConns []*conn
	for c := range a.op.conns {
		opConns = append(opConns, c)
	}
	if a.previous != nil {
		for c := range a.previous.conns {
			prevConns = append(prevConns, c)
		}
	}
	h.mu.Unlock()
	text := a.op.name + " joined the conversation"
	kind := EventAssigned
	if a.previous != nil {
		text = fmt.Sprintf("%s transferred the conversation to %s", a.previous.name, a.op.name)
		kind = EventTransferred
		sendAll(prevConns, &Event{ConversationID: a.cv.id, Kind: EventTransferred, OperatorID: a.op.id, OperatorName: a.op.name, Time: now})
	}
	sendAll(opConns, &Assigned{ConversationID: rec.ID, CustomerName: rec.CustomerName, CustomerID: rec.CustomerID,
		Email: rec.CustomerEmail, LastSeq: rec.LastSeq, OpenedAt: rec.OpenedAt})
	// Stored before the customer hears of it, so that the transcript
	// has it before anything the customer says in answer.
	h.system(ctx, a.cv, text)
	cs, _ := h.participants(a.cv)
	sendAll(cs, &Event{ConversationID: a.cv.id, Kind: kind, OperatorID: a.op.id, OperatorName: a.op.name, Time: now})
	h.srv.logf("assigned", "conversation", a.cv.id, "operator", a.op.id, "transfer", a.previous != nil)
}

// announceQueue schedules telling waiting customers their place in line
// (only those whose place changed, and newcomers) and operators the line.
// Rounds are coalesced: a burst of arrivals costs one round, not one per
// customer per arrival.
func (h *hub) announceQueue() {
	h.mu.Lock()
	if h.announcing {
		h.mu.Unlock()
		return
	}
	h.announcing = true
	h.mu.Unlock()
	time.AfterFunc(announceEvery, h.announceNow)
}

func (h *hub) announceNow() {
	h.mu.Lock()
	h.announcing = false
	type tell struct {
		conns []*conn
		pos   int
		id    int64
	}
	var tells []tell
	for i, cv := range h.queue {
		if cv.toldPos == i+1 {
			continue
		}
		cv.toldPos = i + 1
		t := tell{pos: i + 1, id: cv.id}
		for c := range cv.customers {
			t.conns = append(t.conns, c)
		}
		tells = append(tells, t)
	}
	changed := len(tells) > 0 || len(h.queue) != h.lastQueue
	h.lastQueue = len(h.queue)
	var q Queue
	var ops []*conn
	if changed {
		q.Total = len(h.queue)
		for _, cv := range h.queue[:min(len(h.queue), maxQueueEntries)] {
			q.Entries = append(q.Entries, QueueEntry{ConversationID: cv.id, CustomerName: cv.rec.CustomerName, Since: cv.rec.OpenedAt})
		}
		for _, op := range h.ops {
			for c := range op.conns {
				ops = append(ops, c)
			}
		}
	}
	h.mu.Unlock()
	for _, t := range tells {
		sendAll(t.conns, &Event{ConversationID: t.id, Kind: EventQueued, Position: t.pos})
	}
	sendAll(ops, &q)
}

// tellLine sends the line to one operator connection (at login) and the
// place in line to one customer connection (at resume), now.
func (h *hub) tellLine(c *conn) {
	h.mu.Lock()
	var m Message
	if c.op != nil {
		q := &Queue{Total: len(h.queue)}
		for _, cv := range h.queue[:min(len(h.queue), maxQueueEntries)] {
			q.Entries = append(q.Entries, QueueEntry{ConversationID: cv.id, CustomerName: cv.rec.CustomerName, Since: cv.rec.OpenedAt})
		}
		m = q
	} else if c.conv != nil {
		if i := slices.Index(h.queue, c.conv); i >= 0 {
			m = &Event{ConversationID: c.conv.id, Kind: EventQueued, Position: i + 1}
		}
	}
	h.mu.Unlock()
	if m != nil {
		c.send(m)
	}
}

// accept lets an operator take a waiting conversation (0: the first
// one whose customer is connected).
func (h *hub) accept(ctx context.Context, op *operator, id int64) (ErrorCode, string) {
	h.mu.Lock()
	if len(op.active) >= op.capacity {
		h.mu.Unlock()
		return CodeConflict, fmt.Sprintf("already serving %d conversations, the maximum", op.capacity)
	}
	i := slices.IndexFunc(h.queue, func(cv *conv) bool { return (id == 0 && len(cv.customers) > 0) || cv.id == id })
	if i < 0 {
		h.mu.Unlock()
		if id == 0 {
			return CodeNotFound, "nobody is waiting"
		}
		return CodeConflict, "the conversation is not waiting (taken or closed)"
	}
	cv := h.queue[i]
	h.queue = slices.Delete(h.queue, i, i+1)
	cv.operator = op
	h.version.Add(1)
	op.active[cv.id] = cv
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
	delete(from.active, id)
	target.active[id] = cv
	cv.operator = target
	h.version.Add(1)
	h.mu.Unlock()
	h.carryOut(ctx, assignment{cv: cv, op: target, previous: from})
	h.dispatch(ctx) // from has room now
	return 0, ""
}

// close ends a conversation: stored, announced, capacity freed, hook run.
func (h *hub) close(ctx context.Context, cv *conv, by string) error {
	h.system(ctx, cv, by)
	if err := h.srv.Store.CloseConversation(ctx, cv.id, time.Now()); err != nil {
		return err
	}
	cs, os := h.participants(cv)
	ev := &Event{ConversationID: cv.id, Kind: EventClosed, Text: by, Time: time.Now()}
	sendAll(cs, ev)
	sendAll(os, ev)
	h.mu.Lock()
	delete(h.convs, cv.id)
	if i := slices.Index(h.queue, cv); i >= 0 {
		h.queue = slices.Delete(h.queue, i, i+1)
	}
	if cv.operator != nil {
		delete(cv.operator.active, cv.id)
	}
	h.mu.Unlock()
	if hook := h.srv.OnClose; hook != nil {
		go func() {
			tctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if t, err := h.srv.Store.Transcript(tctx, cv.id); err == nil {
				hook(tctx, t)
			} else {
				h.srv.logf("transcript for the close hook", "conversation", cv.id, "err", err)
			}
		}()
	}
	h.dispatch(ctx)
	return nil
}

// operatorOnline registers an operator's connection; it returns the
// conversations it serves (after a reconnect).
func (h *hub) operatorOnline(acct OperatorAccount, c *conn) (*operator, []store.Conversation) {
	h.mu.Lock()
	op := h.operatorLocked(acct.ID, acct.Name)
	op.name = acct.Name
	op.capacity = orInt(acct.MaxConversations, h.srv.defaultCapacity())
	op.conns[c] = struct{}{}
	h.version.Add(1)
	back := !op.goneAt.IsZero()
	op.goneAt = time.Time{}
	var recs []store.Conversation
	var customers []*conn
	for _, cv := range op.active {
		recs = append(recs, cv.rec)
		if back {
			for cc := range cv.customers {
				customers = append(customers, cc)
			}
		}
	}
	h.mu.Unlock()
	slices.SortFunc(recs, func(a, b store.Conversation) int { return int(a.ID - b.ID) })
	for _, cc := range customers {
		cc.send(&Event{ConversationID: cc.conv.id, Kind: EventBack, OperatorID: op.id, OperatorName: op.name, Time: time.Now()})
	}
	return op, recs
}

func (h *hub) setPresence(op *operator, p Presence) {
	h.mu.Lock()
	op.presence = p
	h.mu.Unlock()
}

// disconnected forgets a connection; the other side hears of it when the
// last connection of a participant ends.
func (h *hub) disconnected(c *conn) {
	now := time.Now()
	h.mu.Lock()
	var tell []*conn
	var ev *Event
	switch {
	case c.conv != nil:
		cv := c.conv
		delete(cv.customers, c)
		h.version.Add(1)
		if len(cv.customers) == 0 {
			cv.leftAt = now
			if cv.operator != nil {
				for oc := range cv.operator.conns {
					tell = append(tell, oc)
				}
				ev = &Event{ConversationID: cv.id, Kind: EventAway, Text: "the customer disconnected", Time: now}
			}
		}
	case c.op != nil:
		op := c.op
		delete(op.conns, c)
		h.version.Add(1)
		if len(op.conns) == 0 {
			op.goneAt = now
			for _, cv := range op.active {
				for cc := range cv.customers {
					cc.send(&Event{ConversationID: cv.id, Kind: EventAway, OperatorID: op.id, OperatorName: op.name,
						Text: "the operator disconnected", Time: now})
				}
			}
		}
	}
	h.mu.Unlock()
	if ev != nil {
		sendAll(tell, ev)
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
	for _, cv := range h.convs {
		if len(cv.customers) == 0 && !cv.leftAt.IsZero() && now.Sub(cv.leftAt) > h.srv.resumeTTL() && cv.operator == nil {
			abandoned = append(abandoned, cv)
		}
	}
	for _, op := range h.ops {
		if len(op.conns) == 0 && !op.goneAt.IsZero() && now.Sub(op.goneAt) > h.srv.operatorGrace() && len(op.active) > 0 {
			for id, cv := range op.active {
				delete(op.active, id)
				cv.operator = nil
				h.version.Add(1)
				h.queue = append([]*conv{cv}, h.queue...)
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
	if requeued {
		h.dispatch(ctx)
	}
}
