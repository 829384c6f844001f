package chat

import (
	"context"
	"maps"
	"slices"

	"github.com/switchboard-go/switchboard/store"
)

// Delivery of a conversation's messages to one connection.
//
// Invariants (each guarded by the connection's mu):
//
//   - A connection follows each conversation it takes part in with one
//     cursor; next is the lowest sequence number not yet queued to it.
//     Every message below next was queued exactly once, in sequence order.
//   - POSTs of a conversation are queued to a connection by one party at a
//     time: the live path (hub.deliver, which runs in sequence order per
//     conversation) while the cursor is live, or else the cursor's
//     catch-up goroutine, which reads the store.
//   - A live delivery whose seq is not next (the connection resumed, was
//     just assigned the conversation, or asked for history) turns the
//     cursor to catch-up. The catch-up goes live only when, under the
//     lock, no delivery arrived since its last read of the store: a
//     message is committed before it is delivered, so whatever the last
//     read missed is delivered live.
//   - Events about the conversation that come while it catches up wait in
//     the cursor and go out after the POSTs, so a client never hears of a
//     close before the messages that precede it.
//   - An ACK goes out after every earlier POST of its conversation: while
//     the connection catches up, it waits in the cursor, and the catch-up
//     sends it in place of the message's POST (the sender gets its own
//     message as its ACK, never as a POST). A catch-up that reads a
//     message of the connection's own whose ACK is still on its way (the
//     message is committed before it is answered) passes it without a
//     POST; the ACK then goes out when it comes.
type cursor struct {
	cv       *conv
	next     int64
	live     bool
	behind   bool           // a delivery came while catching up: read the store again
	running  bool           // a catch-up goroutine runs
	held     bool           // catch-up waits for release (the ASSIGNED frame goes first)
	closing  bool           // the conversation closed: forget the cursor once caught up
	gone     bool           // forgotten: its catch-up, if one runs, stops
	deferred []Message      // events that came while catching up
	read     *Read          // the latest read mark that came while catching up
	acks     map[int64]*Ack // ACKs of messages the catch-up has not reached, by seq
}

// catchUpPage is how many messages a catch-up reads at a time.
const catchUpPage = 500

// maxDeferred bounds the events waiting in a cursor; beyond it the
// client is not reading and is dropped as a slow consumer.
const maxDeferred = 256

func (c *conn) cursorLocked(id int64) *cursor {
	for _, cur := range c.cursors {
		if cur.cv.id == id {
			return cur
		}
	}
	return nil
}

// follow makes c follow cv from seq next on. A live cursor takes
// deliveries at once (only for a conversation known to have no message
// at or after next); otherwise a catch-up from the store starts, or with
// held waits for release. Following a conversation already followed
// keeps its cursor (rewound to next if that is earlier).
func (c *conn) follow(cv *conv, next int64, live, held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cursorLocked(cv.id); cur != nil {
		cur.closing = false
		if next < cur.next {
			c.rewindLocked(cur, next)
		}
		return
	}
	cur := &cursor{cv: cv, next: max(next, 1), live: live, held: held}
	c.cursors = append(c.cursors, cur)
	if !live && !held {
		c.startCatchUpLocked(cur)
	}
}

// release starts the catch-up of a cursor made with held.
func (c *conn) release(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cursorLocked(id); cur != nil && cur.held {
		cur.held = false
		if !cur.live {
			c.startCatchUpLocked(cur)
		}
	}
}

// unfollow forgets a conversation c no longer takes part in (transferred
// away). Deliveries to it stop at once.
func (c *conn) unfollow(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cursors = slices.DeleteFunc(c.cursors, func(cur *cursor) bool {
		if cur.cv.id == id {
			cur.gone = true // a catch-up of it stops before its next POST
			return true
		}
		return false
	})
}

// finish forgets a closed conversation once everything up to its end is
// queued (its catch-up, if one runs, finishes first).
func (c *conn) finish(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.cursorLocked(id); cur != nil {
		if cur.live {
			cur.gone = true
			c.cursors = slices.DeleteFunc(c.cursors, func(x *cursor) bool { return x == cur })
		} else {
			cur.closing = true
		}
	}
}

// rewind makes c's cursor of conversation id go back to after+1 (a
// HISTORY request): the messages from there on are sent again, in order.
// It reports whether c follows the conversation.
func (c *conn) rewind(id, after int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.cursorLocked(id)
	if cur == nil {
		return false
	}
	if after+1 < cur.next {
		c.rewindLocked(cur, after+1)
	}
	return true
}

func (c *conn) rewindLocked(cur *cursor, next int64) {
	cur.next = max(next, 1)
	cur.live = false
	cur.behind = true
	if !cur.running && !cur.held {
		c.startCatchUpLocked(cur)
	}
}

// deliver queues the POST of message seq of cv (own: the connection sent
// it, and gets an ACK instead of the POST), in the conversation's
// sequence order. post is encoded only if it goes out now.
func (c *conn) deliver(cv *conv, seq int64, post *Post, own bool) {
	c.mu.Lock()
	if c.closed || c.closeAfter {
		c.mu.Unlock()
		return
	}
	cur := c.cursorLocked(cv.id)
	switch {
	case cur == nil || seq < cur.next:
		// Not a participant (any more), or already queued.
	case cur.live && seq == cur.next:
		cur.next++
		if !own && !c.queueLocked(post) {
			c.mu.Unlock()
			c.slowConsumer()
			return
		}
	default:
		cur.live = false
		cur.behind = true
		if !cur.running && !cur.held {
			c.startCatchUpLocked(cur)
		}
	}
	c.mu.Unlock()
}

// ack queues the ACK of message a.Seq of cv (which c sent), after every
// earlier POST of cv to c: at once while c is caught up with cv, else
// from the catch-up, in the message's place. a may be reused once ack
// returns.
func (c *conn) ack(cv *conv, a *Ack) {
	c.mu.Lock()
	if c.closed || c.closeAfter {
		c.mu.Unlock()
		return
	}
	if cur := c.cursorLocked(cv.id); cur != nil && (!cur.live || cur.held) && a.Seq >= cur.next {
		if cur.acks == nil {
			cur.acks = map[int64]*Ack{}
		}
		cp := *a
		cur.acks[a.Seq] = &cp
		if len(cur.acks) > maxDeferred+maxInflight {
			c.mu.Unlock()
			c.slowConsumer()
			return
		}
		c.mu.Unlock()
		return
	}
	if !c.queueLocked(a) {
		c.mu.Unlock()
		c.slowConsumer()
		return
	}
	c.mu.Unlock()
}

// sendConv queues an event about a conversation: at once while the
// connection is caught up with it, else after the catch-up. Typing
// notices are dropped while catching up, and only the latest read mark
// is kept.
func (c *conn) sendConv(id int64, m Message) {
	c.mu.Lock()
	if cur := c.cursorLocked(id); cur != nil && (!cur.live || cur.held) && !c.closed && !c.closeAfter {
		switch m := m.(type) {
		case *Typing:
		case *Read:
			cur.read = m
		default:
			cur.deferred = append(cur.deferred, m)
			if len(cur.deferred) > maxDeferred {
				c.mu.Unlock()
				c.slowConsumer()
				return
			}
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.send(m)
}

func (c *conn) startCatchUpLocked(cur *cursor) {
	cur.running = true
	c.srv.wg.Add(1)
	go c.catchUp(cur)
}

// catchUp sends the cursor's conversation from the store until it is
// caught up with the live deliveries, then makes the cursor live. It
// waits for room in the outbound queue (a long history never trips the
// slow-consumer limit) and ends with the connection.
func (c *conn) catchUp(cur *cursor) {
	defer c.srv.wg.Done()
	ctx := context.Background()
	stop := func() {
		c.mu.Lock()
		cur.running = false
		c.mu.Unlock()
	}
	for {
		c.mu.Lock()
		if c.closed || c.closeAfter || cur.gone {
			cur.running = false
			c.mu.Unlock()
			return
		}
		from := cur.next
		cur.behind = false
		c.mu.Unlock()
		msgs, err := c.srv.Store.MessagesAfter(ctx, cur.cv.id, from-1, catchUpPage)
		if err != nil {
			stop()
			c.srv.logf("reading a conversation to catch up", "conversation", cur.cv.id, "err", err)
			c.fail(CodeInternal, "cannot read the conversation now; reconnect")
			return
		}
		reread := false
		for _, m := range msgs {
			if !c.waitRoom() {
				stop()
				return
			}
			p := c.srv.postFor(ctx, c, cur.cv, m, nil)
			c.mu.Lock()
			switch {
			case cur.gone: // transferred away meanwhile: not one more POST
				reread = true
			case m.Seq < cur.next:
			case m.Seq == cur.next:
				cur.next++
				if a := cur.acks[m.Seq]; a != nil { // the connection sent it: its ACK instead
					delete(cur.acks, m.Seq)
					c.appendLocked(a)
				} else if !slices.Contains(c.sending, sendKeyOf(m)) { // else its ACK, on its way, answers it
					c.appendLocked(p) // waitRoom made room
				}
			default: // rewound meanwhile
				reread = true
			}
			c.mu.Unlock()
			putPost(p)
			if reread {
				break
			}
		}
		if reread || len(msgs) == catchUpPage {
			continue
		}
		c.mu.Lock()
		if cur.behind { // delivered or rewound since the read
			c.mu.Unlock()
			continue
		}
		cur.live, cur.running = true, false
		for _, seq := range slices.Sorted(maps.Keys(cur.acks)) { // passed by a rewind: repeated ACKs
			c.appendLocked(cur.acks[seq])
		}
		cur.acks = nil
		for _, m := range cur.deferred {
			c.appendLocked(m)
		}
		if cur.read != nil {
			c.appendLocked(cur.read)
		}
		cur.deferred, cur.read = nil, nil
		if cur.closing {
			cur.gone = true
			c.cursors = slices.DeleteFunc(c.cursors, func(x *cursor) bool { return x == cur })
		}
		c.mu.Unlock()
		return
	}
}

// sendKey names a SEND of the connection: its conversation, sender and
// client message id (as the stored message has them).
type sendKey struct {
	conv     int64
	role     store.Role
	sender   string
	clientID string
}

func sendKeyOf(m store.Message) sendKey {
	return sendKey{m.ConversationID, m.SenderRole, m.SenderID, m.ClientMsgID}
}

// sendingStarts records a SEND of the connection from its reading until
// its answer (sendingEnds), so that a catch-up passes its message. SENDs
// are answered in the order they are read, so the first is the oldest.
func (c *conn) sendingStarts(k sendKey) {
	c.mu.Lock()
	c.sending = append(c.sending, k)
	c.mu.Unlock()
}

func (c *conn) sendingEnds(k sendKey) {
	c.mu.Lock()
	if i := slices.Index(c.sending, k); i >= 0 {
		c.sending = slices.Delete(c.sending, i, i+1)
	}
	c.mu.Unlock()
}
