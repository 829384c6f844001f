package chattest

import (
	"context"
	"fmt"
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
	mu       sync.RWMutex // read-locked by AppendMessage, the hot path
	convs    map[int64]*store.Conversation
	msgs     map[int64]*convMessages
	atts     map[int64]store.Attachment
	ops      map[string]store.ChatOperator
	nextConv int64
	nextAtt  int64
}

// convMessages is one conversation's messages, with its own lock so that
// conversations do not contend. Messages live in chunks that are never
// copied to grow: the first ones small (most conversations are short),
// doubling up to chunkLen, then chunkLen each. The dedup maps hold
// sequence numbers, not copies.
type convMessages struct {
	mu     sync.Mutex
	seq    int64
	chunks [][]store.Message
	// byClientID finds a message by client id (most conversations have
	// one sender per id); others holds the rare second sender of an id.
	byClientID map[string]int64
	others     map[dedupKey]int64
}

const (
	firstChunk  = 2
	chunkLen    = 256
	smallChunks = 7                                    // firstChunk << k for k < smallChunks
	smallTotal  = firstChunk<<smallChunks - firstChunk // messages in the small chunks
)

// at returns message seq (1 <= seq <= cm.seq).
func (cm *convMessages) at(seq int64) store.Message {
	i := int(seq - 1)
	if i >= smallTotal {
		i -= smallTotal
		return cm.chunks[smallChunks+i/chunkLen][i%chunkLen]
	}
	for k := 0; ; k++ {
		if i < firstChunk<<k {
			return cm.chunks[k][i]
		}
		i -= firstChunk << k
	}
}

func (cm *convMessages) push(m store.Message) {
	if n := len(cm.chunks); n == 0 || len(cm.chunks[n-1]) == cap(cm.chunks[n-1]) {
		size := chunkLen
		if n < smallChunks {
			size = firstChunk << n
		}
		cm.chunks = append(cm.chunks, make([]store.Message, 0, size))
	}
	last := &cm.chunks[len(cm.chunks)-1]
	*last = append(*last, m)
}

// after returns up to limit messages after seq (limit <= 0: all).
func (cm *convMessages) after(seq int64, limit int) []store.Message {
	seq = max(seq, 0)
	n := cm.seq - seq
	if n <= 0 {
		return nil
	}
	if limit > 0 && int64(limit) < n {
		n = int64(limit)
	}
	out := make([]store.Message, 0, n)
	for s := seq + 1; s <= seq+n; s++ {
		out = append(out, cm.at(s))
	}
	return out
}

// claim returns the sequence number of the message stored under k, or
// records seq (the next message's) under it.
func (cm *convMessages) claim(k dedupKey, seq int64) (prev int64, dup bool) {
	first, taken := cm.byClientID[k.clientID]
	if !taken {
		cm.byClientID[k.clientID] = seq
		return 0, false
	}
	if m := cm.at(first); m.SenderRole == k.role && m.SenderID == k.sender {
		return first, true
	}
	if prev, dup = cm.others[k]; dup {
		return prev, true
	}
	if cm.others == nil {
		cm.others = map[dedupKey]int64{}
	}
	cm.others[k] = seq
	return 0, false
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
	if err := store.PrepareConversation(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextConv++
	c.ID = s.nextConv
	cp := *c
	s.convs[c.ID] = &cp
	s.msgs[c.ID] = &convMessages{byClientID: map[string]int64{}}
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
	if operatorID == "" {
		return fmt.Errorf("%w: assignment without operator", store.ErrInvalid)
	}
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
	if err := store.PrepareMessage(&m); err != nil {
		return store.Message{}, false, err
	}
	s.mu.RLock()
	c, ok := s.convs[m.ConversationID]
	cm := s.msgs[m.ConversationID]
	closed := ok && c.State == store.ConversationClosed
	s.mu.RUnlock()
	if !ok {
		return store.Message{}, false, store.ErrNotFound
	}
	if closed && m.SenderRole != store.RoleSystem {
		return store.Message{}, false, store.ErrConflict
	}
	cm.mu.Lock()
	defer cm.mu.Unlock()
	if m.ClientMsgID != "" {
		if prev, dup := cm.claim(dedupKey{m.SenderRole, m.SenderID, m.ClientMsgID}, cm.seq+1); dup {
			return cm.at(prev), false, nil
		}
	}
	cm.seq++
	m.Seq = cm.seq
	cm.push(m)
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
	return cm.after(afterSeq, limit), nil
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
	t := store.Transcript{Conversation: *c, Messages: cm.after(0, 0)}
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
	if err := store.PrepareAttachment(a); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.convs[a.ConversationID]; !ok {
		return store.ErrNotFound
	}
	s.nextAtt++
	a.ID = s.nextAtt
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
