package chattest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// MemStore is a store.ChatStore in memory, for tests. It keeps the
// contract of the real stores (sequence numbers, client message id
// deduplication, closed conversations, attachment checksums). It is safe
// for concurrent use.
type MemStore struct {
	mu       sync.Mutex
	convs    map[int64]*store.Conversation
	msgs     map[int64]*convMessages
	atts     map[int64]store.Attachment
	ops      map[string]store.ChatOperator
	nextConv int64
	nextAtt  int64
}

// convMessages is one conversation's messages, with its own lock so that
// conversations do not contend.
type convMessages struct {
	mu    sync.Mutex
	seq   int64
	list  []store.Message
	dedup map[dedupKey]store.Message
}

type dedupKey struct {
	role     store.Role
	sender   string
	clientID string
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{convs: map[int64]*store.Conversation{}, msgs: map[int64]*convMessages{},
		atts: map[int64]store.Attachment{}, ops: map[string]store.ChatOperator{}}
}

var _ store.ChatStore = (*MemStore)(nil)

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// CreateConversation implements store.ChatStore.
func (s *MemStore) CreateConversation(ctx context.Context, c *store.Conversation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextConv++
	c.ID = s.nextConv
	if c.State == "" {
		c.State = store.ConversationWaiting
	}
	if c.OpenedAt.IsZero() {
		c.OpenedAt = now()
	}
	cp := *c
	s.convs[c.ID] = &cp
	s.msgs[c.ID] = &convMessages{dedup: map[dedupKey]store.Message{}}
	return nil
}

// Conversation implements store.ChatStore.
func (s *MemStore) Conversation(ctx context.Context, id int64) (store.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return store.Conversation{}, store.ErrNotFound
	}
	return s.snapshotLocked(c), nil
}

// snapshotLocked copies a conversation with its current LastSeq (kept
// by its messages' lock). s.mu is held.
func (s *MemStore) snapshotLocked(c *store.Conversation) store.Conversation {
	out := *c
	cm := s.msgs[c.ID]
	cm.mu.Lock()
	out.LastSeq = cm.seq
	cm.mu.Unlock()
	return out
}

// Conversations implements store.ChatStore.
func (s *MemStore) Conversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []store.Conversation
	for id := f.AfterID + 1; id <= s.nextConv && len(out) < limit; id++ {
		c, ok := s.convs[id]
		if !ok || (f.State != "" && c.State != f.State) || (f.OperatorID != "" && c.OperatorID != f.OperatorID) ||
			(f.CustomerID != "" && c.CustomerID != f.CustomerID) {
			continue
		}
		out = append(out, s.snapshotLocked(c))
	}
	return out, nil
}

// AssignConversation implements store.ChatStore.
func (s *MemStore) AssignConversation(ctx context.Context, id int64, operatorID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return store.ErrNotFound
	}
	if c.State == store.ConversationClosed {
		return store.ErrConflict
	}
	c.OperatorID, c.State = operatorID, store.ConversationActive
	if c.AssignedAt.IsZero() {
		c.AssignedAt = at.UTC()
	}
	return nil
}

// CloseConversation implements store.ChatStore.
func (s *MemStore) CloseConversation(ctx context.Context, id int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[id]
	if !ok {
		return store.ErrNotFound
	}
	if c.State != store.ConversationClosed {
		c.State, c.ClosedAt = store.ConversationClosed, at.UTC()
	}
	return nil
}

// AppendMessage implements store.ChatStore.
func (s *MemStore) AppendMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	s.mu.Lock()
	c, ok := s.convs[m.ConversationID]
	cm := s.msgs[m.ConversationID]
	closed := ok && c.State == store.ConversationClosed
	s.mu.Unlock()
	if !ok {
		return store.Message{}, false, store.ErrNotFound
	}
	if closed && m.SenderRole != store.RoleSystem {
		return store.Message{}, false, store.ErrConflict
	}
	cm.mu.Lock()
	defer cm.mu.Unlock()
	key := dedupKey{m.SenderRole, m.SenderID, m.ClientMsgID}
	if m.ClientMsgID != "" {
		if prev, dup := cm.dedup[key]; dup {
			return prev, false, nil
		}
	}
	cm.seq++
	m.Seq = cm.seq
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now()
	}
	cm.list = append(cm.list, m)
	if m.ClientMsgID != "" {
		cm.dedup[key] = m
	}
	return m, true, nil
}

// MessagesAfter implements store.ChatStore.
func (s *MemStore) MessagesAfter(ctx context.Context, conversationID, afterSeq int64, limit int) ([]store.Message, error) {
	s.mu.Lock()
	cm := s.msgs[conversationID]
	s.mu.Unlock()
	if cm == nil {
		return nil, store.ErrNotFound
	}
	cm.mu.Lock()
	defer cm.mu.Unlock()
	var out []store.Message
	for _, m := range cm.list {
		if m.Seq > afterSeq && (limit <= 0 || len(out) < limit) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Transcript implements store.ChatStore.
func (s *MemStore) Transcript(ctx context.Context, conversationID int64) (store.Transcript, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[conversationID]
	if !ok {
		return store.Transcript{}, store.ErrNotFound
	}
	cm := s.msgs[conversationID]
	cm.mu.Lock()
	t := store.Transcript{Conversation: *c, Messages: append([]store.Message(nil), cm.list...)}
	t.Conversation.LastSeq = cm.seq
	cm.mu.Unlock()
	for id := int64(1); id <= s.nextAtt; id++ {
		if a, ok := s.atts[id]; ok && a.ConversationID == conversationID {
			a.Data = nil
			t.Attachments = append(t.Attachments, a)
		}
	}
	return t, nil
}

// PutAttachment implements store.ChatStore.
func (s *MemStore) PutAttachment(ctx context.Context, a *store.Attachment) error {
	sum := sha256.Sum256(a.Data)
	got := hex.EncodeToString(sum[:])
	if a.SHA256 != "" && a.SHA256 != got {
		return store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.convs[a.ConversationID]; !ok {
		return store.ErrNotFound
	}
	s.nextAtt++
	a.ID, a.Size, a.SHA256, a.CreatedAt = s.nextAtt, int64(len(a.Data)), got, now()
	cp := *a
	cp.Data = append([]byte(nil), a.Data...)
	s.atts[a.ID] = cp
	return nil
}

// Attachment implements store.ChatStore.
func (s *MemStore) Attachment(ctx context.Context, id int64) (store.Attachment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.atts[id]
	if !ok {
		return store.Attachment{}, store.ErrNotFound
	}
	a.Data = append([]byte(nil), a.Data...)
	return a, nil
}

// PutChatOperator implements store.ChatStore.
func (s *MemStore) PutChatOperator(ctx context.Context, o *store.ChatOperator) error {
	if o.Login == "" || o.PasswordHash == "" {
		return store.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.ops[o.Login]; ok {
		o.CreatedAt = prev.CreatedAt
	} else {
		o.CreatedAt = now()
	}
	o.UpdatedAt = now()
	s.ops[o.Login] = *o
	return nil
}

// ChatOperator implements store.ChatStore.
func (s *MemStore) ChatOperator(ctx context.Context, login string) (store.ChatOperator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.ops[login]
	if !ok {
		return store.ChatOperator{}, store.ErrNotFound
	}
	return o, nil
}

// ChatOperators implements store.ChatStore.
func (s *MemStore) ChatOperators(ctx context.Context) ([]store.ChatOperator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]store.ChatOperator, 0, len(s.ops))
	for _, o := range s.ops {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b store.ChatOperator) int { return strings.Compare(a.Login, b.Login) })
	return out, nil
}

// AppendMessages implements store.ChatStore, one AppendMessage after the
// other.
func (s *MemStore) AppendMessages(ctx context.Context, ms []store.Message) ([]store.AppendResult, error) {
	out := make([]store.AppendResult, len(ms))
	for i, m := range ms {
		out[i].Message, out[i].Created, out[i].Err = s.AppendMessage(ctx, m)
	}
	return out, nil
}
