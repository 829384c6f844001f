package chat

import "time"

// The client hands each message of a conversation to the Handler once,
// in sequence order, whatever the connection does: it knows, per
// conversation, the first sequence number it has not handed over (next),
// the numbers above it that answered its own SENDs (own: their ACKs),
// and POSTs that came above a gap (ahead), held until the gap fills. A
// gap asks the server for the history after next-1. On a reconnect the
// client tells the server where it is (HELLO LastSeq for a customer,
// Cursors for an operator) and the server sends what follows.

// convState is where the client is in one conversation (guarded by
// Client.mu).
type convState struct {
	next    int64
	own     map[int64]struct{}
	ahead   map[int64]*Post
	askedAt time.Time
	serving bool // an operator serves it (ASSIGNED; cleared when closed or transferred away)
}

const (
	// maxAhead bounds the POSTs held above a gap; beyond it they are
	// dropped and come again with the history.
	maxAhead = 4096
	// askAgain is how long a gap waits for its history before it is
	// asked again.
	askAgain = 5 * time.Second
)

func (c *Client) stateLocked(id int64) *convState {
	st := c.convs[id]
	if st == nil {
		st = &convState{next: 1}
		c.convs[id] = st
	}
	return st
}

// advanceLocked moves next over what is already known (own ACKs, POSTs
// held above the gap) and returns the POSTs to hand over, in order.
func (st *convState) advanceLocked(ready []*Post) []*Post {
	for {
		if _, ok := st.own[st.next]; ok {
			delete(st.own, st.next)
			st.next++
			continue
		}
		if p := st.ahead[st.next]; p != nil {
			delete(st.ahead, st.next)
			ready = append(ready, p)
			st.next++
			continue
		}
		return ready
	}
}

// seenLocked reports whether seq was handed over or acknowledged.
func (st *convState) seenLocked(seq int64) bool {
	_, own := st.own[seq]
	return seq < st.next || own
}

// ownLocked records that seq answered one of this client's SENDs and
// returns the POSTs that this lets through.
func (st *convState) ownLocked(seq int64) []*Post {
	switch {
	case seq < st.next:
		return nil
	case seq == st.next:
		st.next++
		return st.advanceLocked(nil)
	}
	if st.own == nil {
		st.own = map[int64]struct{}{}
	}
	st.own[seq] = struct{}{}
	return nil
}

// postLocked takes a POST: it returns what to hand over now (in order),
// and the seq after which to ask for history when there is a gap (-1:
// none).
func (st *convState) postLocked(p *Post, now time.Time) (ready []*Post, askAfter int64) {
	if st.seenLocked(p.Seq) {
		return nil, -1
	}
	if p.Seq == st.next {
		st.next++
		return st.advanceLocked([]*Post{p}), -1
	}
	if st.ahead == nil {
		st.ahead = map[int64]*Post{}
	}
	if len(st.ahead) < maxAhead {
		st.ahead[p.Seq] = p
	}
	if now.Sub(st.askedAt) < askAgain {
		return nil, -1
	}
	st.askedAt = now
	return nil, st.next - 1
}

// cursorsLocked are the HELLO cursors of an operator reconnecting: the
// conversations it serves and where it is in each.
func (c *Client) cursorsLocked() []Cursor {
	var out []Cursor
	for id, st := range c.convs {
		if st.serving && len(out) < maxCursors {
			out = append(out, Cursor{ConversationID: id, LastSeq: st.next - 1})
		}
	}
	return out
}
