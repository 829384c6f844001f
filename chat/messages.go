package chat

import (
	"fmt"
	"time"
)

// Type is a frame's type.
type Type uint8

// Frame types. See PROTOCOL.md for who sends which, and when.
const (
	TypeHello      Type = 0x01
	TypeWelcome    Type = 0x02
	TypeError      Type = 0x03
	TypePing       Type = 0x04
	TypePong       Type = 0x05
	TypeBye        Type = 0x06
	TypeSend       Type = 0x10
	TypeAck        Type = 0x11
	TypePost       Type = 0x12
	TypeTyping     Type = 0x13
	TypeRead       Type = 0x14
	TypeEvent      Type = 0x15
	TypeHistory    Type = 0x16
	TypeAccept     Type = 0x20
	TypeTransfer   Type = 0x21
	TypeClose      Type = 0x22
	TypePresence   Type = 0x23
	TypeQueue      Type = 0x24
	TypeAssigned   Type = 0x25
	TypeFileStart  Type = 0x30
	TypeFileChunk  Type = 0x31
	TypeFileEnd    Type = 0x32
	TypeFetch      Type = 0x33
	TypeTranscript Type = 0x40
)

var typeNames = map[Type]string{
	TypeHello: "HELLO", TypeWelcome: "WELCOME", TypeError: "ERROR", TypePing: "PING", TypePong: "PONG", TypeBye: "BYE",
	TypeSend: "SEND", TypeAck: "ACK", TypePost: "POST", TypeTyping: "TYPING", TypeRead: "READ", TypeEvent: "EVENT", TypeHistory: "HISTORY",
	TypeAccept: "ACCEPT", TypeTransfer: "TRANSFER", TypeClose: "CLOSE", TypePresence: "PRESENCE", TypeQueue: "QUEUE",
	TypeAssigned: "ASSIGNED", TypeFileStart: "FILE_START", TypeFileChunk: "FILE_CHUNK", TypeFileEnd: "FILE_END",
	TypeFetch: "FETCH", TypeTranscript: "TRANSCRIPT",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%#02x)", uint8(t))
}

// Message is a decoded frame payload.
type Message interface {
	Type() Type
	appendPayload(dst []byte) []byte
	decodePayload(d *decoder)
}

// Decode decodes a frame's payload. An unknown type or a malformed
// payload is a *DecodeError. Byte fields (a chunk's data) of a frame from
// FrameReader.Read share its payload; of other frames they are copies.
func Decode(f Frame) (Message, error) {
	m := newMessage(f.Type)
	if m == nil {
		return nil, &DecodeError{Type: f.Type, Err: fmt.Errorf("%w: unknown frame type", ErrMalformed)}
	}
	// A payload allocated for its frame alone (the server's large frames)
	// is aliased rather than copied: a file chunk costs one buffer.
	d := decoder{b: f.Payload, alias: f.owned, size: len(f.Payload)}
	m.decodePayload(&d)
	if d.err != nil {
		return nil, &DecodeError{Type: f.Type, Err: d.err}
	}
	return m, nil
}

func newMessage(t Type) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeWelcome:
		return new(Welcome)
	case TypeError:
		return new(Error)
	case TypePing:
		return new(Ping)
	case TypePong:
		return new(Pong)
	case TypeBye:
		return new(Bye)
	case TypeSend:
		return new(Send)
	case TypeAck:
		return new(Ack)
	case TypePost:
		return new(Post)
	case TypeTyping:
		return new(Typing)
	case TypeRead:
		return new(Read)
	case TypeEvent:
		return new(Event)
	case TypeHistory:
		return new(History)
	case TypeAccept:
		return new(Accept)
	case TypeTransfer:
		return new(Transfer)
	case TypeClose:
		return new(Close)
	case TypePresence:
		return new(PresenceUpdate)
	case TypeQueue:
		return new(Queue)
	case TypeAssigned:
		return new(Assigned)
	case TypeFileStart:
		return new(FileStart)
	case TypeFileChunk:
		return new(FileChunk)
	case TypeFileEnd:
		return new(FileEnd)
	case TypeFetch:
		return new(Fetch)
	case TypeTranscript:
		return new(TranscriptRequest)
	}
	return nil
}

// Role is who a connection is.
type Role uint8

// Roles.
const (
	RoleCustomer Role = 1
	RoleOperator Role = 2
	RoleSystem   Role = 3 // author of system messages; never a connection
)

func (r Role) String() string {
	switch r {
	case RoleCustomer:
		return "customer"
	case RoleOperator:
		return "operator"
	case RoleSystem:
		return "system"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Hello opens a connection (client to server, first frame). A customer
// gives a name and a customer id or e-mail, or a Token signed by the
// website that vouches for them; an operator gives Login and Password. To
// resume, a client sends the Resume token of its WELCOME and the last
// sequence number it has seen.
type Hello struct {
	Role       Role
	Name       string
	CustomerID string
	Email      string
	Token      string
	Login      string
	Password   string
	Resume     string
	LastSeq    int64
	Client     string // software name and version, for logs
	// Cursors (an operator reconnecting) give, per conversation it
	// serves, the last sequence number this client has seen; the server
	// sends what follows. A conversation not listed comes from its start.
	Cursors []Cursor
	// Caps are the optional features the client understands (Cap*
	// constants); the server answers with those it shares.
	Caps []string
	// Device (operators) is the device token of an earlier WELCOME: it
	// shows the server this device has logged in before, so failed
	// logins of others never lock it out.
	Device string
}

// Cursor is where a client is in one conversation.
type Cursor struct {
	ConversationID int64
	LastSeq        int64
}

// maxCursors caps the cursors of a HELLO.
const maxCursors = 1000

func (*Hello) Type() Type { return TypeHello }
func (m *Hello) appendPayload(b []byte) []byte {
	b = append(b, byte(m.Role))
	for _, s := range []string{m.Name, m.CustomerID, m.Email, m.Token, m.Login, m.Password, m.Resume} {
		b = appendString(b, s)
	}
	b = appendUvarint(b, uint64(m.LastSeq))
	b = appendString(b, m.Client)
	if len(m.Cursors) == 0 && len(m.Caps) == 0 && m.Device == "" {
		return b // fields added later are optional: absent when empty
	}
	n := min(len(m.Cursors), maxCursors)
	b = appendUvarint(b, uint64(n))
	for _, c := range m.Cursors[:n] {
		b = appendUvarint(appendUvarint(b, uint64(c.ConversationID)), uint64(c.LastSeq))
	}
	b = appendStrings(b, m.Caps, maxCaps)
	return appendString(b, m.Device)
}
func (m *Hello) decodePayload(d *decoder) {
	m.Role = Role(d.u8("role"))
	m.Name = d.string("name", maxShort)
	m.CustomerID = d.string("customer_id", maxShort)
	m.Email = d.string("email", maxShort)
	m.Token = d.string("token", 4096)
	m.Login = d.string("login", maxShort)
	m.Password = d.string("password", maxShort)
	m.Resume = d.string("resume", maxShort)
	m.LastSeq = d.int64("last_seq")
	m.Client = d.string("client", maxShort)
	if d.more() {
		n := d.uvarint("cursors")
		if n > maxCursors {
			d.fail("cursors: %d, limit %d", n, maxCursors)
			return
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			m.Cursors = append(m.Cursors, Cursor{ConversationID: d.int64("conversation"), LastSeq: d.int64("last_seq")})
		}
		m.Caps = d.strings("caps", maxCaps, maxCapLen)
		m.Device = d.string("device", maxShort)
	}
}

// Welcome accepts a HELLO. Resume is the token to resume this session
// with after a disconnect; MaxFrame the server's payload limit; Heartbeat
// how often it pings (a client that hears nothing for 3 intervals may
// assume the connection dead).
type Welcome struct {
	Session        string
	Resume         string
	ConversationID int64 // a customer's conversation
	OperatorID     string
	MaxFrame       int
	Heartbeat      time.Duration
	Server         string
	// Version is the protocol version the connection speaks from now on
	// (0 from a server of the first version: 1).
	Version int
	// Caps are the optional features both sides understand.
	Caps []string
	// Presence is an operator's availability as the server keeps it
	// (it survives reconnects).
	Presence Presence
	// Device is an operator's device token: to keep, and to give in the
	// HELLOs of this device from then on (see Hello.Device).
	Device string
}

func (*Welcome) Type() Type { return TypeWelcome }
func (m *Welcome) appendPayload(b []byte) []byte {
	b = appendString(b, m.Session)
	b = appendString(b, m.Resume)
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendString(b, m.OperatorID)
	b = appendUvarint(b, uint64(m.MaxFrame))
	b = appendUvarint(b, uint64(m.Heartbeat/time.Millisecond))
	b = appendString(b, m.Server)
	if m.Version == 0 && len(m.Caps) == 0 && m.Presence == 0 && m.Device == "" {
		return b
	}
	b = appendUvarint(b, uint64(m.Version))
	b = appendStrings(b, m.Caps, maxCaps)
	b = append(b, byte(m.Presence))
	return appendString(b, m.Device)
}
func (m *Welcome) decodePayload(d *decoder) {
	m.Session = d.string("session", maxShort)
	m.Resume = d.string("resume", maxShort)
	m.ConversationID = d.int64("conversation")
	m.OperatorID = d.string("operator", maxShort)
	m.MaxFrame = int(d.int64("max_frame") & 0x7fffffff)
	m.Heartbeat = time.Duration(d.int64("heartbeat")&0xffffffff) * time.Millisecond
	m.Server = d.string("server", maxShort)
	if d.more() {
		m.Version = int(d.int64("version") & 0xff)
		m.Caps = d.strings("caps", maxCaps, maxCapLen)
		m.Presence = Presence(d.u8("presence"))
		m.Device = d.string("device", maxShort)
	}
}

// Error reports a refused request or a protocol error. With FlagFinal on
// its frame, the sender closes the connection after it.
type Error struct {
	Code           ErrorCode
	Text           string
	ConversationID int64
	ClientMsgID    string // the SEND it answers, if any
}

func (*Error) Type() Type { return TypeError }
func (m *Error) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.Code))
	b = appendString(b, m.Text)
	b = appendUvarint(b, uint64(m.ConversationID))
	return appendString(b, m.ClientMsgID)
}
func (m *Error) decodePayload(d *decoder) {
	m.Code = ErrorCode(d.uvarint("code") & 0xffff)
	m.Text = d.string("text", 1024)
	m.ConversationID = d.int64("conversation")
	m.ClientMsgID = d.string("client_msg_id", maxShort)
}

// Ping asks for a Pong with the same nonce (either side).
type Ping struct{ Nonce uint64 }

func (*Ping) Type() Type                      { return TypePing }
func (m *Ping) appendPayload(b []byte) []byte { return appendUvarint(b, m.Nonce) }
func (m *Ping) decodePayload(d *decoder)      { m.Nonce = d.uvarint("nonce") }

// Pong answers a Ping.
type Pong struct{ Nonce uint64 }

func (*Pong) Type() Type                      { return TypePong }
func (m *Pong) appendPayload(b []byte) []byte { return appendUvarint(b, m.Nonce) }
func (m *Pong) decodePayload(d *decoder)      { m.Nonce = d.uvarint("nonce") }

// Bye ends a connection gracefully, with the reason (either side). A
// customer's BYE does not close the conversation; CLOSE does.
type Bye struct{ Reason string }

func (*Bye) Type() Type                      { return TypeBye }
func (m *Bye) appendPayload(b []byte) []byte { return appendString(b, m.Reason) }
func (m *Bye) decodePayload(d *decoder)      { m.Reason = d.string("reason", 1024) }

// Send posts a text message (client to server). ClientMsgID makes a
// retry safe: the same id in the same conversation is stored once and
// acknowledged again. A customer's ConversationID may be 0 (their own).
type Send struct {
	ConversationID int64
	ClientMsgID    string
	Text           string
}

func (*Send) Type() Type { return TypeSend }
func (m *Send) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendString(b, m.ClientMsgID)
	return appendString(b, m.Text)
}
func (m *Send) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.ClientMsgID = d.string("client_msg_id", maxShort)
	m.Text = d.string("text", MaxText)
}

// Ack confirms that a SEND (or an upload) is stored, with its sequence
// number.
type Ack struct {
	ConversationID int64
	ClientMsgID    string
	Seq            int64
	Time           time.Time
}

func (*Ack) Type() Type { return TypeAck }
func (m *Ack) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendString(b, m.ClientMsgID)
	b = appendUvarint(b, uint64(m.Seq))
	return appendTime(b, m.Time)
}
func (m *Ack) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.ClientMsgID = d.string("client_msg_id", maxShort)
	m.Seq = d.int64("seq")
	m.Time = d.time("time")
}

// PostKind says what a Post carries.
type PostKind uint8

// Post kinds.
const (
	PostText       PostKind = 1
	PostAttachment PostKind = 2
	PostSystem     PostKind = 3
)

// Post is a message of a conversation, as stored, delivered to its
// participants (server to client), including on replay after a resume.
type Post struct {
	ConversationID int64
	Seq            int64
	SenderRole     Role
	SenderID       string
	SenderName     string
	Kind           PostKind
	Text           string
	ClientMsgID    string
	AttachmentID   int64
	FileName       string
	MediaType      string
	Size           int64
	Time           time.Time
}

func (*Post) Type() Type { return TypePost }
func (m *Post) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendUvarint(b, uint64(m.Seq))
	b = append(b, byte(m.SenderRole))
	b = appendString(b, m.SenderID)
	b = appendString(b, m.SenderName)
	b = append(b, byte(m.Kind))
	b = appendString(b, m.Text)
	b = appendString(b, m.ClientMsgID)
	b = appendUvarint(b, uint64(m.AttachmentID))
	b = appendString(b, m.FileName)
	b = appendString(b, m.MediaType)
	b = appendUvarint(b, uint64(m.Size))
	return appendTime(b, m.Time)
}
func (m *Post) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.Seq = d.int64("seq")
	m.SenderRole = Role(d.u8("sender_role"))
	m.SenderID = d.string("sender_id", maxShort)
	m.SenderName = d.string("sender_name", maxShort)
	m.Kind = PostKind(d.u8("kind"))
	m.Text = d.string("text", MaxText)
	m.ClientMsgID = d.string("client_msg_id", maxShort)
	m.AttachmentID = d.int64("attachment")
	m.FileName = d.string("file_name", maxShort)
	m.MediaType = d.string("media_type", maxShort)
	m.Size = d.int64("size")
	m.Time = d.time("time")
}

// Typing says a participant started (On) or stopped typing. Not stored.
type Typing struct {
	ConversationID int64
	On             bool
	Role           Role // set by the server when relaying
}

func (*Typing) Type() Type { return TypeTyping }
func (m *Typing) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendBool(b, m.On)
	return append(b, byte(m.Role))
}
func (m *Typing) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.On = d.bool("on")
	m.Role = Role(d.u8("role"))
}

// Read says a participant has read up to Seq.
type Read struct {
	ConversationID int64
	Seq            int64
	Role           Role // set by the server when relaying
}

func (*Read) Type() Type { return TypeRead }
func (m *Read) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendUvarint(b, uint64(m.Seq))
	return append(b, byte(m.Role))
}
func (m *Read) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.Seq = d.int64("seq")
	m.Role = Role(d.u8("role"))
}

// EventKind is what happened to a conversation.
type EventKind uint8

// Events.
const (
	EventQueued      EventKind = 1 // waiting; Position is the place in line (1 = next)
	EventAssigned    EventKind = 2 // an operator took it
	EventTransferred EventKind = 3 // another operator took it over
	EventClosed      EventKind = 4
	EventAway        EventKind = 5 // the other side disconnected (it may come back)
	EventBack        EventKind = 6 // the other side reconnected
	// EventOffline tells a customer that no operator is available (none
	// online, all away, or out of hours; Text says which, and the hours):
	// what they send is kept as a message left for the team.
	EventOffline EventKind = 7
	// EventElsewhere tells a customer's connection that the conversation
	// was resumed on another device: its resume token no longer works.
	EventElsewhere EventKind = 8
	// EventMailed answers a TRANSCRIPT of FormatMail: the transcript was
	// mailed; Text is the address, partly hidden.
	EventMailed EventKind = 9
)

// Event tells a participant what happened (server to client). Events
// that change the conversation are also stored as system Posts.
type Event struct {
	ConversationID int64
	Kind           EventKind
	Position       int
	OperatorID     string
	OperatorName   string
	Text           string
	Time           time.Time
	// Wait is the expected wait in line (EventQueued; 0: unknown), from
	// how fast the line moved lately.
	Wait time.Duration
}

func (*Event) Type() Type { return TypeEvent }
func (m *Event) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = append(b, byte(m.Kind))
	b = appendUvarint(b, uint64(m.Position))
	b = appendString(b, m.OperatorID)
	b = appendString(b, m.OperatorName)
	b = appendString(b, m.Text)
	b = appendTime(b, m.Time)
	if m.Wait <= 0 {
		return b
	}
	return appendUvarint(b, uint64(m.Wait/time.Millisecond))
}
func (m *Event) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.Kind = EventKind(d.u8("kind"))
	m.Position = int(d.int64("position") & 0x7fffffff)
	m.OperatorID = d.string("operator", maxShort)
	m.OperatorName = d.string("operator_name", maxShort)
	m.Text = d.string("text", 1024)
	m.Time = d.time("time")
	if d.more() {
		m.Wait = time.Duration(d.int64("wait")&0xffffffffff) * time.Millisecond
	}
}

// History asks for a conversation's POSTs after AfterSeq (client to
// server), e.g. after a transfer or a reconnect; they come as POST frames,
// in order.
type History struct {
	ConversationID int64
	AfterSeq       int64
}

func (*History) Type() Type { return TypeHistory }
func (m *History) appendPayload(b []byte) []byte {
	return appendUvarint(appendUvarint(b, uint64(m.ConversationID)), uint64(m.AfterSeq))
}
func (m *History) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.AfterSeq = d.int64("after_seq")
}

// Accept takes a waiting conversation (operator to server): a given one,
// or with ConversationID 0 the one waiting longest.
type Accept struct{ ConversationID int64 }

func (*Accept) Type() Type                      { return TypeAccept }
func (m *Accept) appendPayload(b []byte) []byte { return appendUvarint(b, uint64(m.ConversationID)) }
func (m *Accept) decodePayload(d *decoder)      { m.ConversationID = d.int64("conversation") }

// Transfer hands a conversation to another operator (operator to server).
type Transfer struct {
	ConversationID int64
	To             string // operator id
}

func (*Transfer) Type() Type { return TypeTransfer }
func (m *Transfer) appendPayload(b []byte) []byte {
	return appendString(appendUvarint(b, uint64(m.ConversationID)), m.To)
}
func (m *Transfer) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.To = d.string("to", maxShort)
}

// Close ends a conversation (either participant).
type Close struct{ ConversationID int64 }

func (*Close) Type() Type                      { return TypeClose }
func (m *Close) appendPayload(b []byte) []byte { return appendUvarint(b, uint64(m.ConversationID)) }
func (m *Close) decodePayload(d *decoder)      { m.ConversationID = d.int64("conversation") }

// Presence is an operator's availability.
type Presence uint8

// Presence states.
const (
	Available Presence = 1 // takes new conversations
	Away      Presence = 2 // keeps its conversations, takes no new ones
)

// PresenceUpdate sets the operator's presence (operator to server); the
// server echoes it to every connection of the operator.
type PresenceUpdate struct{ State Presence }

func (*PresenceUpdate) Type() Type                      { return TypePresence }
func (m *PresenceUpdate) appendPayload(b []byte) []byte { return append(b, byte(m.State)) }
func (m *PresenceUpdate) decodePayload(d *decoder)      { m.State = Presence(d.u8("state")) }

// QueueEntry is one waiting customer.
type QueueEntry struct {
	ConversationID int64
	CustomerName   string
	Since          time.Time
}

// maxQueueEntries caps a QUEUE frame.
const maxQueueEntries = 500

// Queue lists the waiting customers, longest waiting first (server to
// operators, whenever it changes; at most 500 entries, Total counts all).
type Queue struct {
	Total   int
	Entries []QueueEntry
}

func (*Queue) Type() Type { return TypeQueue }
func (m *Queue) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.Total))
	n := min(len(m.Entries), maxQueueEntries)
	b = appendUvarint(b, uint64(n))
	for _, e := range m.Entries[:n] {
		b = appendUvarint(b, uint64(e.ConversationID))
		b = appendString(b, e.CustomerName)
		b = appendTime(b, e.Since)
	}
	return b
}
func (m *Queue) decodePayload(d *decoder) {
	m.Total = int(d.int64("total") & 0x7fffffff)
	n := d.uvarint("entries")
	if n > maxQueueEntries {
		d.fail("entries: %d, limit %d", n, maxQueueEntries)
		return
	}
	m.Entries = make([]QueueEntry, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		m.Entries = append(m.Entries, QueueEntry{ConversationID: d.int64("conversation"),
			CustomerName: d.string("customer_name", maxShort), Since: d.time("since")})
	}
}

// Assigned gives an operator a conversation it now serves (after ACCEPT,
// automatic routing, a transfer, or on resume).
type Assigned struct {
	ConversationID int64
	CustomerName   string
	CustomerID     string
	Email          string
	LastSeq        int64
	OpenedAt       time.Time
	// Verified: the customer's identity came from a token the website
	// signed. Otherwise it is what the customer typed.
	Verified bool
	// LeftMessage: the customer came when no operator was available and
	// left a message.
	LeftMessage bool
}

func (*Assigned) Type() Type { return TypeAssigned }
func (m *Assigned) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendString(b, m.CustomerName)
	b = appendString(b, m.CustomerID)
	b = appendString(b, m.Email)
	b = appendUvarint(b, uint64(m.LastSeq))
	b = appendTime(b, m.OpenedAt)
	if !m.Verified && !m.LeftMessage {
		return b
	}
	return appendBool(appendBool(b, m.Verified), m.LeftMessage)
}
func (m *Assigned) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.CustomerName = d.string("customer_name", maxShort)
	m.CustomerID = d.string("customer_id", maxShort)
	m.Email = d.string("email", maxShort)
	m.LastSeq = d.int64("last_seq")
	m.OpenedAt = d.time("opened_at")
	if d.more() {
		m.Verified = d.bool("verified")
		m.LeftMessage = d.bool("left_message")
	}
}

// FileStart opens a file transfer: an upload (client to server) or a
// download (server to client, answering FETCH or TRANSCRIPT). Chunks with
// the same TransferID follow, then FILE_END.
type FileStart struct {
	ConversationID int64
	TransferID     uint64
	Name           string
	MediaType      string
	Size           int64
	SHA256         []byte // 32 bytes
	ClientMsgID    string
}

func (*FileStart) Type() Type { return TypeFileStart }
func (m *FileStart) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = appendUvarint(b, m.TransferID)
	b = appendString(b, m.Name)
	b = appendString(b, m.MediaType)
	b = appendUvarint(b, uint64(m.Size))
	b = appendBytes(b, m.SHA256)
	return appendString(b, m.ClientMsgID)
}
func (m *FileStart) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.TransferID = d.uvarint("transfer")
	m.Name = d.string("name", maxShort)
	m.MediaType = d.string("media_type", maxShort)
	m.Size = d.int64("size")
	m.SHA256 = d.bytes("sha256", 32)
	if d.err == nil && len(m.SHA256) != 32 {
		d.fail("sha256: %d bytes, want 32", len(m.SHA256))
	}
	m.ClientMsgID = d.string("client_msg_id", maxShort)
}

// MaxChunk caps a FILE_CHUNK's data.
const MaxChunk = 32 << 10

// FileChunk is part of a file, in order.
type FileChunk struct {
	TransferID uint64
	Data       []byte
}

func (*FileChunk) Type() Type { return TypeFileChunk }
func (m *FileChunk) appendPayload(b []byte) []byte {
	return appendBytes(appendUvarint(b, m.TransferID), m.Data)
}
func (m *FileChunk) decodePayload(d *decoder) {
	m.TransferID = d.uvarint("transfer")
	m.Data = d.bytes("data", MaxChunk)
}

// FileEnd completes a transfer; the receiver checks size and SHA-256.
type FileEnd struct{ TransferID uint64 }

func (*FileEnd) Type() Type                      { return TypeFileEnd }
func (m *FileEnd) appendPayload(b []byte) []byte { return appendUvarint(b, m.TransferID) }
func (m *FileEnd) decodePayload(d *decoder)      { m.TransferID = d.uvarint("transfer") }

// Fetch asks for an attachment's bytes (client to server); the server
// answers with a download (FILE_START, FILE_CHUNKs, FILE_END) under the
// client's TransferID.
type Fetch struct {
	AttachmentID int64
	TransferID   uint64
}

func (*Fetch) Type() Type { return TypeFetch }
func (m *Fetch) appendPayload(b []byte) []byte {
	return appendUvarint(appendUvarint(b, uint64(m.AttachmentID)), m.TransferID)
}
func (m *Fetch) decodePayload(d *decoder) {
	m.AttachmentID = d.int64("attachment")
	m.TransferID = d.uvarint("transfer")
}

// TranscriptFormat is how a transcript is exported.
type TranscriptFormat uint8

// Transcript formats.
const (
	FormatText TranscriptFormat = 1
	FormatJSON TranscriptFormat = 2
	// FormatMail asks the server to mail the transcript (text) to the
	// conversation's customer address instead: customers only, where the
	// server offers it (Server.MailTranscript). The answer is EVENT
	// mailed, or an ERROR.
	FormatMail TranscriptFormat = 3
)

// TranscriptRequest asks for a conversation's transcript (client to
// server); it comes as a download under TransferID.
type TranscriptRequest struct {
	ConversationID int64
	Format         TranscriptFormat
	TransferID     uint64
}

func (*TranscriptRequest) Type() Type { return TypeTranscript }
func (m *TranscriptRequest) appendPayload(b []byte) []byte {
	b = appendUvarint(b, uint64(m.ConversationID))
	b = append(b, byte(m.Format))
	return appendUvarint(b, m.TransferID)
}
func (m *TranscriptRequest) decodePayload(d *decoder) {
	m.ConversationID = d.int64("conversation")
	m.Format = TranscriptFormat(d.u8("format"))
	m.TransferID = d.uvarint("transfer")
}
