package chat

import (
	"context"
	"fmt"
	"sync"

	"github.com/switchboard-go/switchboard/store"
)

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
	// Queued under cv.post, so that nothing a participant sends is queued
	// after the close began (see hub.close).
	cv.post.Lock()
	defer cv.post.Unlock()
	if cv.ending && m.SenderRole != store.RoleSystem {
		then(store.Message{}, false, errClosing)
		return
	}
	h.batch.appendThen(m, func(stored store.Message, created bool, err error) {
		if err == nil && created {
			h.deliver(ctx, cv, stored, senderName, from, att)
		}
		then(stored, created, err)
	})
}

// errClosing refuses a message to a conversation whose close has begun.
var errClosing = fmt.Errorf("chat: the conversation is closing: %w", store.ErrConflict)

// append is appendThen waiting for the outcome.
func (h *hub) append(ctx context.Context, cv *conv, m store.Message, senderName string, from *conn, att *store.Attachment) (store.Message, bool, error) {
	if h.batch == nil {
		cv.post.Lock()
		defer cv.post.Unlock()
		if cv.ending && m.SenderRole != store.RoleSystem {
			return store.Message{}, false, errClosing
		}
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
	if cv.ending && m.SenderRole != store.RoleSystem {
		then(store.Message{}, false, errClosing)
		return
	}
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
	switch stored.SenderRole {
	case store.RoleCustomer:
		h.messages[0].Add(1)
	case store.RoleOperator:
		h.messages[1].Add(1)
	default:
		h.messages[2].Add(1)
	}
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
