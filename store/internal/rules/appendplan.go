package rules

import (
	"fmt"
	"sort"

	"github.com/switchboard-go/switchboard/store"
)

// DedupKey identifies a message by its sender's client id.
type DedupKey struct {
	ConversationID int64
	SenderRole     store.Role
	SenderID       string
	ClientMsgID    string
}

type convState struct {
	state   store.ConversationState
	last    int64
	touched bool
}

// AppendPlan is the backend-independent part of AppendMessages: the
// backends load what it asks for (conversations, stored duplicates), then
// it assigns sequence numbers in order with AppendMessage's rules.
type AppendPlan struct {
	ms     []store.Message
	res    []store.AppendResult
	convs  map[int64]*convState
	stored map[DedupKey]store.Message
}

// NewAppendPlan checks every message; invalid ones get their error now.
func NewAppendPlan(ms []store.Message) *AppendPlan {
	p := &AppendPlan{ms: make([]store.Message, len(ms)), res: make([]store.AppendResult, len(ms)),
		convs: map[int64]*convState{}, stored: map[DedupKey]store.Message{}}
	for i, m := range ms {
		if err := store.PrepareMessage(&m); err != nil {
			p.res[i].Err = err
		}
		p.ms[i] = m
	}
	return p
}

func key(m store.Message) DedupKey {
	return DedupKey{m.ConversationID, m.SenderRole, m.SenderID, m.ClientMsgID}
}

// Conversations are the distinct conversation ids, ascending (the lock
// order on backends that lock).
func (p *AppendPlan) Conversations() []int64 {
	seen := map[int64]bool{}
	var ids []int64
	for i, m := range p.ms {
		if p.res[i].Err == nil && !seen[m.ConversationID] {
			seen[m.ConversationID] = true
			ids = append(ids, m.ConversationID)
		}
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	return ids
}

// SetConversation records a conversation's state and last sequence number.
func (p *AppendPlan) SetConversation(id int64, s store.ConversationState, last int64) {
	p.convs[id] = &convState{state: s, last: last}
}

// DedupKeys are the distinct client-id keys of the messages that have one.
func (p *AppendPlan) DedupKeys() []DedupKey {
	seen := map[DedupKey]bool{}
	var keys []DedupKey
	for i, m := range p.ms {
		if p.res[i].Err != nil || m.ClientMsgID == "" {
			continue
		}
		if k := key(m); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// SetStored records a message already stored under a client id.
func (p *AppendPlan) SetStored(m store.Message) { p.stored[key(m)] = m }

// Assign walks the messages in order and returns those to insert (with
// their sequence numbers) and the new last sequence number of each
// conversation that gets messages.
func (p *AppendPlan) Assign() ([]store.Message, map[int64]int64) {
	inserts := make([]store.Message, 0, len(p.ms))
	last := make(map[int64]int64, len(p.convs))
	inBatch := make(map[DedupKey]int, len(p.ms)) // first message of a key in this batch
	for i, m := range p.ms {
		if p.res[i].Err != nil {
			continue
		}
		var k DedupKey
		if m.ClientMsgID != "" {
			k = key(m)
			if prev, ok := p.stored[k]; ok {
				p.res[i] = store.AppendResult{Message: prev}
				continue
			}
			if j, ok := inBatch[k]; ok {
				p.res[i] = store.AppendResult{Message: p.res[j].Message}
				continue
			}
		}
		c, ok := p.convs[m.ConversationID]
		switch {
		case !ok:
			p.res[i].Err = fmt.Errorf("conversation %d: %w", m.ConversationID, store.ErrNotFound)
			continue
		case c.state == store.ConversationClosed && m.SenderRole != store.RoleSystem:
			p.res[i].Err = fmt.Errorf("conversation %d is closed: %w", m.ConversationID, store.ErrConflict)
			continue
		}
		c.last++
		c.touched = true
		m.Seq = c.last
		last[m.ConversationID] = c.last
		inserts = append(inserts, m)
		p.res[i] = store.AppendResult{Message: m, Created: true}
		if m.ClientMsgID != "" {
			inBatch[k] = i
		}
	}
	return inserts, last
}

// Touched are the conversations that got messages, ascending.
func (p *AppendPlan) Touched() []int64 {
	var ids []int64
	for id, c := range p.convs {
		if c.touched {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	return ids
}

// Results are the outcomes, one per message.
func (p *AppendPlan) Results() []store.AppendResult { return p.res }
