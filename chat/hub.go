package chat

import (
	"cmp"
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
	// waiting counts the conversations in line per client address
	// (PerIPLimits.MaxWaiting).
	waiting map[string]int
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

	post sync.Mutex // without a batcher, serializes append + broadcast: POSTs go out in seq order

	// Guarded by hub.mu.
	customers map[*conn]struct{}
	operator  *operator // nil while waiting
	leftAt    time.Time // the customer's last connection ended (zero while connected)
	tokenGen  uint64    // the current resume token generation (0: unknown, after a restart)
	tokenConn *conn     // the connection given it
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

// appendThen stores m and delivers its POST to the conversation's other
// connections (not from), then calls then with the outcome. With a
// batching store it returns at once and then runs later on the batcher's
// completion goroutine, in sequence order; otherwise it runs before appendThen
// returns. then must not block.
func (h *hub) appendThen(ctx context.Context, cv *conv, m store.Message, senderName string, from *conn, att *store.Attachment,
	then func(stored store.Message, created bool, err error)) {
	if h.batch == nil {
		h.appendDirect(ctx, cv, m, senderName, from, att, then)
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
		cv.post.Lock()
		defer cv.post.Unlock()
		stored, created, err := h.srv.Store.AppendMessage(ctx, m)
		if err == nil && created {
			h.deliver(ctx, cv, stored, senderName, from, att)
		}
		return stored, created, err
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
// POSTs, and then (the ACK), in sequence order.
func (h *hub) appendDirect(ctx context.Context, cv *conv, m store.Message, senderName string, from *conn, att *store.Attachment,
	then func(stored store.Message, created bool, err error)) {
	cv.post.Lock()
	defer cv.post.Unlock()
	stored, created, err := h.srv.Store.AppendMessage(ctx, m)
	if err == nil && created {
		h.deliver(ctx, cv, stored, senderName, from, att)
	}
	then(stored, created, err)
}

// deliver queues the POST of a stored message to every connection of its
// conversation (to from, the sender's own, it only counts: the ACK
// answers it). Customers see an operator by its public id, not its login.
func (h *hub) deliver(ctx context.Context, cv *conv, stored store.Message, senderName string, from *conn, att *store.Attachment) {
	p := h.srv.post(ctx, stored, senderName, att)
	pc := p
	if stored.SenderRole == store.RoleOperator {
		pc = postPool.Get().(*Post)
		*pc = *p
		pc.SenderID = h.srv.publicOperatorID(stored.SenderID)
	}
	cs, os := h.participants(cv)
	for _, c := range cs {
		c.deliver(cv, stored.Seq, pc, c == from)
	}
	for _, c := range os {
		c.deliver(cv, stored.Seq, p, c == from)
	}
	if pc != p {
		putPost(pc)
	}
	putPost(p) // deliver encoded it: nothing keeps it
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

// enqueueLocked puts cv in line: last, or first (a conversation that
// was served before goes back to the front).
func (h *hub) enqueueLocked(cv *conv, front bool) {
	if front {
		h.queue = slices.Insert(h.queue, 0, cv)
	} else {
		h.queue = append(h.queue, cv)
	}
	if cv.ip != "" {
		h.waiting[cv.ip]++
	}
}

// dequeueLocked takes the i-th conversation out of the line.
func (h *hub) dequeueLocked(i int) *conv {
	cv := h.queue[i]
	h.queue = slices.Delete(h.queue, i, i+1)
	if cv.ip != "" {
		if h.waiting[cv.ip]--; h.waiting[cv.ip] <= 0 {
			delete(h.waiting, cv.ip)
		}
	}
	return cv
}

// mayWait reports whether another conversation from ip may wait in line.
func (h *hub) mayWait(ip string) bool {
	if ip == "" {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiting[ip] < h.srv.PerIP.maxWaiting()
}

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

// enqueue adds a new waiting conversation for a connected customer. The
// conversation is new, so the customer follows it live from seq 1.
func (h *hub) enqueue(cv *conv, c *conn) {
	c.follow(cv, 1, true, false)
	cv.tokenGen, cv.tokenConn = 1, c
	h.mu.Lock()
	cv.customers[c] = struct{}{}
	h.version.Add(1)
	h.convs[cv.id] = cv
	h.enqueueLocked(cv, false)
	h.mu.Unlock()
}

// openOffline adds a new conversation whose customer leaves a message:
// open, followed live, not in line.
func (h *hub) openOffline(cv *conv, c *conn) {
	c.follow(cv, 1, true, false)
	cv.tokenGen, cv.tokenConn = 1, c
	h.mu.Lock()
	cv.customers[c] = struct{}{}
	h.version.Add(1)
	h.convs[cv.id] = cv
	h.mu.Unlock()
}

// offlineReason says why no operator can take a new customer now ("":
// one can, or the line will reach one): out of hours, or nobody online
// and available.
func (h *hub) offlineReason(now time.Time) string {
	hours := h.srv.Hours
	if !hours.Open(now) {
		why := "we are closed now; our hours are " + hours.Describe()
		if next := hours.NextOpen(now); !next.IsZero() {
			why += "; we open again " + next.Format("Monday 2 January 15:04 MST")
		}
		return why
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	online := false
	for _, op := range h.ops {
		if len(op.conns) == 0 {
			continue
		}
		online = true
		if op.presence == Available {
			return ""
		}
	}
	if online {
		return "every operator is away now"
	}
	return "no operator is online now"
}

// expectedWaitLocked estimates the wait of place pos in line from the
// assignments of the last 15 minutes (0: too few to tell).
func (h *hub) expectedWaitLocked(pos int, now time.Time) time.Duration {
	i := 0
	for i < len(h.assignedAt) && now.Sub(h.assignedAt[i]) > 15*time.Minute {
		i++
	}
	recent := h.assignedAt[i:]
	if len(recent) < 3 {
		return 0
	}
	span := now.Sub(recent[0])
	return (span * time.Duration(pos) / time.Duration(len(recent))).Round(time.Millisecond)
}

// attachCustomer adds a resuming connection to a conversation, if its
// token's generation gen is the conversation's current one; it follows
// the conversation from after lastSeq, held until released (after
// WELCOME). It returns the generation of the token to give the
// connection and the other customer connections (which are told their
// token is revoked), or a refusal.
//
// Resume tokens are bound to their holder: each resume issues the next
// generation and revokes the earlier ones, so a token copied elsewhere
// stops working once its owner resumes (and the owner learns of it when
// a copy is used first). The one before the current generation is
// still taken while nobody holds the current one, for a client whose
// connection dropped before its WELCOME arrived. After a restart the
// server knows no generation and takes the first token presented.
func (h *hub) attachCustomer(id int64, gen uint64, lastSeq int64, c *conn) (cv *conv, next uint64, others []*conn, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cv = h.convs[id]
	if cv == nil {
		return nil, 0, nil, "the conversation is closed"
	}
	_, held := cv.customers[cv.tokenConn]
	switch {
	case cv.tokenGen == 0 || gen == cv.tokenGen:
	case gen+1 == cv.tokenGen && !held:
	default:
		return nil, 0, nil, "this resume token was replaced by a newer one (the conversation was resumed elsewhere)"
	}
	cv.tokenGen = max(cv.tokenGen, gen) + 1
	cv.tokenConn = c
	others = connsOf(cv.customers)
	c.follow(cv, lastSeq+1, false, true)
	cv.customers[c] = struct{}{}
	h.version.Add(1)
	cv.leftAt = time.Time{}
	return cv, cv.tokenGen, others, ""
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
		wait  time.Duration
	}
	var tells []tell
	now := time.Now()
	for i, cv := range h.queue {
		if cv.toldPos == i+1 {
			continue
		}
		cv.toldPos = i + 1
		tells = append(tells, tell{pos: i + 1, id: cv.id, conns: connsOf(cv.customers), wait: h.expectedWaitLocked(i+1, now)})
	}
	changed := len(tells) > 0 || len(h.queue) != h.lastQueue
	h.lastQueue = len(h.queue)
	var q *Queue
	var ops []*conn
	if changed {
		q = h.queueLocked()
		for _, op := range h.ops {
			ops = append(ops, connsOf(op.conns)...)
		}
	}
	h.mu.Unlock()
	for _, t := range tells {
		sendConvAll(t.conns, t.id, &Event{ConversationID: t.id, Kind: EventQueued, Position: t.pos, Wait: t.wait})
	}
	if q != nil {
		sendAll(ops, q)
	}
}

// queueLocked is the QUEUE frame of the line as it is.
func (h *hub) queueLocked() *Queue {
	q := &Queue{Total: len(h.queue)}
	for _, cv := range h.queue[:min(len(h.queue), maxQueueEntries)] {
		q.Entries = append(q.Entries, QueueEntry{ConversationID: cv.id, CustomerName: cv.rec.CustomerName, Since: cv.rec.OpenedAt})
	}
	return q
}

// tellLine sends the line to one operator connection (at login) and the
// place in line to one customer connection (at resume), now.
func (h *hub) tellLine(c *conn) {
	h.mu.Lock()
	var m Message
	if c.op != nil {
		m = h.queueLocked()
	} else if c.conv != nil {
		if i := slices.Index(h.queue, c.conv); i >= 0 {
			m = &Event{ConversationID: c.conv.id, Kind: EventQueued, Position: i + 1, Wait: h.expectedWaitLocked(i+1, time.Now())}
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

// close ends a conversation: stored, announced, capacity freed, hooks
// run. A conversation where a customer left a message goes to
// OnLeftMessage first, and the reference it gives is stored.
func (h *hub) close(ctx context.Context, cv *conv, by string) error {
	if cv.rec.LeftMessage {
		h.leftMessage(ctx, cv)
	}
	h.system(ctx, cv, by)
	if err := h.srv.Store.CloseConversation(ctx, cv.id, time.Now()); err != nil {
		return err
	}
	cs, os := h.participants(cv)
	ev := &Event{ConversationID: cv.id, Kind: EventClosed, Text: by, Time: time.Now()}
	sendConvAll(cs, cv.id, ev)
	sendConvAll(os, cv.id, ev)
	for _, c := range os {
		c.finish(cv.id)
	}
	h.mu.Lock()
	delete(h.convs, cv.id)
	if i := slices.Index(h.queue, cv); i >= 0 {
		h.dequeueLocked(i)
	}
	if cv.operator != nil {
		delete(cv.operator.active, cv.id)
	}
	h.mu.Unlock()
	h.srv.events.emit(ConversationEvent{Kind: ConversationClosed, ConversationID: cv.id, CustomerName: cv.rec.CustomerName,
		OperatorID: cv.rec.OperatorID, Verified: cv.rec.Verified, LeftMessage: cv.rec.LeftMessage})
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

// leftMessage hands a message-left conversation in which the customer
// wrote something to OnLeftMessage, and stores the reference it returns.
func (h *hub) leftMessage(ctx context.Context, cv *conv) {
	hook := h.srv.OnLeftMessage
	if hook == nil {
		return
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	t, err := h.srv.Store.Transcript(hctx, cv.id)
	if err != nil {
		h.srv.logf("transcript of a left message", "conversation", cv.id, "err", err)
		return
	}
	if !slices.ContainsFunc(t.Messages, func(m store.Message) bool { return m.SenderRole == store.RoleCustomer }) {
		return // the customer left without a word
	}
	ref, err := hook(hctx, t)
	if err != nil {
		h.srv.logf("left message hook", "conversation", cv.id, "err", err)
		return
	}
	if ref != "" {
		h.system(ctx, cv, "Your message was recorded: "+ref)
	}
	h.srv.events.emit(ConversationEvent{Kind: ConversationLeftMessage, ConversationID: cv.id, CustomerName: cv.rec.CustomerName,
		Verified: cv.rec.Verified, LeftMessage: true, Ref: ref})
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
			if cv.operator != nil {
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
