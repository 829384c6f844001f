package chat

import (
	"context"
	"slices"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// errNotOpen is attachCustomer's refusal of a conversation that is not
// open here (closed, or unknown).
const errNotOpen = "the conversation is closed"

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
// still taken while nobody holds the current one, or for a while after
// it was issued (Server.TokenGrace), for a client whose connection
// dropped before its WELCOME arrived (the server may not know yet that
// the connection is dead). After a restart the server knows no
// generation and takes the first token presented.
func (h *hub) attachCustomer(id int64, gen uint64, lastSeq int64, c *conn) (cv *conv, next uint64, others []*conn, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cv = h.convs[id]
	if cv == nil {
		return nil, 0, nil, errNotOpen
	}
	_, held := cv.customers[cv.tokenConn]
	switch {
	case cv.tokenGen == 0 || gen == cv.tokenGen:
	case gen+1 == cv.tokenGen && (!held || time.Since(cv.tokenAt) < h.srv.tokenGrace()):
	default:
		return nil, 0, nil, "this resume token was replaced by a newer one (the conversation was resumed elsewhere)"
	}
	// The next generation; the previous one taken again (its WELCOME lost
	// again) gets the current one again, so that a flapping connection
	// never falls behind, and its grace is not extended.
	if next := gen + 1; next > cv.tokenGen {
		cv.tokenGen, cv.tokenAt = next, time.Now()
	}
	cv.tokenConn = c
	others = connsOf(cv.customers)
	c.follow(cv, lastSeq+1, false, true)
	cv.customers[c] = struct{}{}
	h.version.Add(1)
	cv.leftAt = time.Time{}
	return cv, cv.tokenGen, others, ""
}

// close ends a conversation: stored, announced, capacity freed, hooks
// run. A conversation where a customer left a message goes to
// OnLeftMessage first, and the reference it gives is stored.
//
// A close is fenced: from its start nothing a participant sends is taken
// (it is refused as closed), and whatever was taken before is stored and
// delivered before the closing message; closing twice closes once.
// Assignments and closes of one conversation do not interleave (cv.life),
// so OnEvent sees them in the order they happened.
func (h *hub) close(ctx context.Context, cv *conv, by string) error {
	cv.life.Lock()
	defer cv.life.Unlock()
	cv.post.Lock()
	if cv.ending {
		cv.post.Unlock()
		return nil // closed, or being closed, by someone else
	}
	cv.ending = true
	cv.post.Unlock()
	if cv.rec.LeftMessage {
		h.leftMessage(ctx, cv)
	}
	h.system(ctx, cv, by)
	if err := h.srv.Store.CloseConversation(ctx, cv.id, time.Now()); err != nil {
		cv.post.Lock()
		cv.ending = false // not closed: the conversation goes on
		cv.post.Unlock()
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
