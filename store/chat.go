package store

import (
	"context"
	"time"
)

// ConversationState is where a chat conversation is in its life.
type ConversationState string

// Conversation states.
const (
	ConversationWaiting ConversationState = "waiting" // queued, no operator yet
	ConversationActive  ConversationState = "active"  // assigned to an operator
	ConversationClosed  ConversationState = "closed"  // ended; no more messages
)

// Conversation is one chat between a customer and the operators who served it.
type Conversation struct {
	ID            int64
	CustomerName  string
	CustomerID    string // the customer's id in the caller's system, if any
	CustomerEmail string
	OperatorID    string // current operator; "" while waiting
	State         ConversationState
	LastSeq       int64 // sequence number of the newest message; 0 when empty
	OpenedAt      time.Time
	AssignedAt    time.Time // zero until first assigned
	ClosedAt      time.Time // zero until closed
	// Verified says the customer's identity (name, id, e-mail) came from
	// a token the website signed, not from what the customer typed.
	Verified bool
	// LeftMessage says no operator was available when the customer came
	// (none online, all away, or out of hours): the customer left a
	// message, and the conversation was not routed.
	LeftMessage bool
}

// Role says who wrote a chat message.
type Role string

// Sender roles.
const (
	RoleCustomer Role = "customer"
	RoleOperator Role = "operator"
	RoleSystem   Role = "system"
)

// MessageKind says what a chat message carries.
type MessageKind string

// Message kinds.
const (
	KindText       MessageKind = "text"
	KindAttachment MessageKind = "attachment"
	KindSystem     MessageKind = "system" // queued, assigned, transferred, closed, ...
)

// Message is one entry of a conversation's transcript.
type Message struct {
	ConversationID int64
	// Seq is assigned by the store: 1 for the first message of a
	// conversation, then consecutive with no gaps.
	Seq int64
	// ClientMsgID is the sender's own id for the message. When it is not
	// empty, appending the same (conversation, sender role, sender id,
	// client id) again returns the stored message instead of a copy.
	ClientMsgID  string
	SenderRole   Role
	SenderID     string
	Kind         MessageKind
	Text         string
	AttachmentID int64 // for KindAttachment
	CreatedAt    time.Time
}

// Attachment is a file a chat participant sent. Data is nil in listings
// and filled by [ChatStore.Attachment].
type Attachment struct {
	ID             int64
	ConversationID int64
	Name           string
	MediaType      string
	Size           int64  // set by the store from Data
	SHA256         string // lowercase hex; set by the store, verified if given
	Data           []byte
	CreatedAt      time.Time
}

// ConversationFilter selects conversations for [ChatStore.Conversations].
// Zero fields do not filter.
type ConversationFilter struct {
	State      ConversationState
	OperatorID string
	CustomerID string
	AfterID    int64 // keyset pagination: only ids greater than this
	Limit      int   // 0 means 100
}

// Transcript is a whole conversation: the record, every message in order,
// and the metadata (no bytes) of its attachments.
type Transcript struct {
	Conversation Conversation
	Messages     []Message
	Attachments  []Attachment
}

// ChatOperator is an operator's chat account.
type ChatOperator struct {
	Login            string // unique; the operator's id in conversations
	Name             string
	PasswordHash     string // never the password itself (chat.HashPassword)
	MaxConversations int    // 0: the server's default
	Disabled         bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// AppendResult is what [ChatStore.AppendMessages] did with one message.
type AppendResult struct {
	Message Message // as stored, or the earlier one with the same client id
	Created bool
	Err     error
}

// ChatStore keeps chat conversations, their messages and attachments.
type ChatStore interface {
	// CreateConversation stores c (State defaults to waiting, OpenedAt to
	// now) and sets c.ID.
	CreateConversation(ctx context.Context, c *Conversation) error
	// Conversation returns one conversation or ErrNotFound.
	Conversation(ctx context.Context, id int64) (Conversation, error)
	// Conversations lists conversations by ascending id.
	Conversations(ctx context.Context, f ConversationFilter) ([]Conversation, error)
	// AssignConversation makes operatorID the conversation's operator and
	// its state active (a transfer is a second assignment). ErrConflict if
	// the conversation is closed.
	AssignConversation(ctx context.Context, id int64, operatorID string, at time.Time) error
	// CloseConversation marks the conversation closed. Closing a closed
	// conversation is a no-op.
	CloseConversation(ctx context.Context, id int64, at time.Time) error

	// AppendMessage stores m with the conversation's next sequence number,
	// allocated atomically, and returns the stored message with created
	// true. If m.ClientMsgID is set and the same sender already stored a
	// message with that id, it returns that message with created false and
	// stores nothing. ErrConflict if the conversation is closed (system
	// messages excepted), ErrNotFound if it does not exist.
	AppendMessage(ctx context.Context, m Message) (stored Message, created bool, err error)
	// AppendMessages appends ms in order, each as AppendMessage would (a
	// repeated client id, also within ms, returns the message stored
	// first), in a few statements for the whole slice: the way to
	// group-commit a chat. Refusals of single messages (ErrConflict,
	// ErrNotFound, ErrInvalid) are in their results; an error means
	// nothing was stored.
	AppendMessages(ctx context.Context, ms []Message) ([]AppendResult, error)
	// MessagesAfter returns up to limit messages with Seq > afterSeq in
	// order (limit 0 means all), for replay after a reconnect.
	MessagesAfter(ctx context.Context, conversationID, afterSeq int64, limit int) ([]Message, error)
	// Transcript reads a whole conversation.
	Transcript(ctx context.Context, conversationID int64) (Transcript, error)

	// PutChatOperator creates or replaces the account with o.Login and
	// sets its times. ErrInvalid without a login or a password hash.
	PutChatOperator(ctx context.Context, o *ChatOperator) error
	// ChatOperator returns the account with login, or ErrNotFound.
	ChatOperator(ctx context.Context, login string) (ChatOperator, error)
	// ChatOperators lists the accounts by login.
	ChatOperators(ctx context.Context) ([]ChatOperator, error)

	// PutAttachment stores a.Data, sets a.ID, a.Size, a.SHA256 and
	// a.CreatedAt. If a.SHA256 is set and does not match Data the call
	// fails with ErrInvalid and stores nothing.
	PutAttachment(ctx context.Context, a *Attachment) error
	// Attachment returns one attachment with its Data, or ErrNotFound.
	Attachment(ctx context.Context, id int64) (Attachment, error)
}
