package chat

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by a Client's methods after Close or when its
// connection is gone for good.
var ErrClosed = errors.New("chat: client closed")

// ClientOptions configure Dial.
type ClientOptions struct {
	// Role is RoleCustomer (the default) or RoleOperator.
	Role Role
	// A customer's identity: Name and CustomerID or Email, or a Token
	// signed by the website (SignCustomer).
	Name, CustomerID, Email, Token string
	// An operator's credentials. Device is the device token of an
	// earlier login of this device (Client.Device, kept by the
	// application): failed logins of others never lock it out. The
	// client keeps the newest one for its reconnects by itself.
	Login, Password, Device string
	// TLSConfig, when set, makes Dial use TLS.
	TLSConfig *tls.Config
	// DialTimeout bounds connecting and the handshake (default 10s).
	DialTimeout time.Duration
	// Dialer, when set, makes the connections instead of net.Dialer
	// (proxies, tests); TLSConfig then does not apply.
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
	// Handler receives what the server sends besides answers: POST,
	// EVENT, QUEUE, ASSIGNED, TYPING, READ, and ERRORs that answer
	// nothing pending. It runs on the client's reader goroutine, in
	// order: it must not block for long.
	Handler func(m Message)
	// Reconnect makes the client reconnect after a lost connection, with
	// backoff up to MaxReconnectDelay (default 30s), resuming where it
	// left off: missed POSTs are replayed and unacknowledged SENDs are
	// sent again (the server stores each once).
	Reconnect         bool
	MaxReconnectDelay time.Duration
	// Client names the software in HELLO.
	Client string
}

// Client is a chat connection, as a customer or an operator. Its methods
// are safe for concurrent use.
type Client struct {
	addr string
	o    ClientOptions

	mu       sync.Mutex
	nc       net.Conn
	welcome  Welcome
	convs    map[int64]*convState // see client_state.go
	sends    map[string]*pendingSend
	waits    []*waiter
	nextID   uint64
	closed   bool
	err      error
	connGen  int
	connDone chan struct{}

	done chan struct{}
	wg   sync.WaitGroup
}

type pendingSend struct {
	conv  int64  // the conversation (a customer's own resolved)
	frame []byte // SEND, written again after a reconnect; nil for a file
	gen   int    // the connection a file upload started on
	res   chan result
}

type result struct {
	m   Message
	err error
}

// waiter waits for a frame that matches.
type waiter struct {
	match func(Message) bool
	res   chan result
}

// Dial connects, sends HELLO and waits for WELCOME. It performs I/O; a
// refusal is the server's *Error.
func Dial(ctx context.Context, addr string, o *ClientOptions) (*Client, error) {
	c := &Client{addr: addr, convs: map[int64]*convState{}, sends: map[string]*pendingSend{}, done: make(chan struct{})}
	if o != nil {
		c.o = *o
	}
	if c.o.Role == 0 {
		c.o.Role = RoleCustomer
	}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Client) connect(ctx context.Context) error {
	timeout := orDur(c.o.DialTimeout, 10*time.Second)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := &net.Dialer{}
	var nc net.Conn
	var err error
	if c.o.Dialer != nil {
		nc, err = c.o.Dialer(ctx, c.addr)
	} else if c.o.TLSConfig != nil {
		nc, err = (&tls.Dialer{NetDialer: d, Config: c.o.TLSConfig}).DialContext(ctx, "tcp", c.addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return fmt.Errorf("chat: dial %s: %w", c.addr, err)
	}
	c.mu.Lock()
	hello := &Hello{Role: c.o.Role, Name: c.o.Name, CustomerID: c.o.CustomerID, Email: c.o.Email, Token: c.o.Token,
		Login: c.o.Login, Password: c.o.Password, Client: c.o.Client, Caps: Caps()}
	if c.welcome.Resume != "" {
		hello.Resume = c.welcome.Resume
		hello.LastSeq = c.stateLocked(c.welcome.ConversationID).next - 1
	}
	if c.o.Role == RoleOperator {
		hello.Cursors = c.cursorsLocked()
		hello.Device = c.o.Device
		if c.welcome.Device != "" {
			hello.Device = c.welcome.Device
		}
	}
	for _, st := range c.convs {
		st.ahead, st.askedAt = nil, time.Time{} // what follows next comes again
	}
	c.mu.Unlock()
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	if _, err := nc.Write(AppendMessage(nil, hello)); err != nil {
		nc.Close()
		return fmt.Errorf("chat: hello: %w", err)
	}
	fr := NewFrameReader(nc, 0)
	var m Message
	for {
		f, err := fr.Read()
		if err != nil {
			nc.Close()
			return fmt.Errorf("chat: waiting for welcome: %w", err)
		}
		if m, err = Decode(f); err != nil {
			nc.Close()
			return err
		}
		if p, ok := m.(*Ping); ok { // a heartbeat may come first
			nc.Write(AppendMessage(nil, &Pong{Nonce: p.Nonce}))
			continue
		}
		break
	}
	w, ok := m.(*Welcome)
	if !ok {
		nc.Close()
		if e, isErr := m.(*Error); isErr {
			return e
		}
		return fmt.Errorf("chat: got %s instead of WELCOME", m.Type())
	}
	nc.SetDeadline(time.Time{})
	if w.MaxFrame > 0 {
		fr.SetMax(w.MaxFrame)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return ErrClosed
	}
	c.nc, c.welcome = nc, *w
	c.connGen++
	c.connDone = make(chan struct{})
	gen, connDone := c.connGen, c.connDone
	// Unacknowledged SENDs go again: the server stores each once.
	var resend [][]byte
	for _, p := range c.sends {
		if p.frame != nil {
			resend = append(resend, p.frame)
		}
	}
	c.mu.Unlock()
	c.wg.Add(1)
	go c.readLoop(nc, fr, gen, connDone)
	for _, f := range resend {
		nc.Write(f)
	}
	return nil
}

// ConversationID is a customer's conversation.
func (c *Client) ConversationID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome.ConversationID
}

// OperatorID is an operator's id, as the server knows it.
func (c *Client) OperatorID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome.OperatorID
}

// Device is an operator's device token from the server's last WELCOME
// (see ClientOptions.Device): an application that keeps it across
// restarts keeps its operators from being locked out by others' failed
// logins.
func (c *Client) Device() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome.Device
}

// Presence is an operator's availability as the server last said (in
// WELCOME, and after SetPresence from any of the operator's connections).
func (c *Client) Presence() Presence {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome.Presence
}

// Done is closed when the client is closed or has lost its connection
// without reconnecting; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the client ended (nil while it runs, ErrClosed after Close).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) write(m Message) error {
	return c.writeRaw(AppendMessage(nil, m))
}

func (c *Client) writeRaw(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(frame)
	return err
}

func (c *Client) readLoop(nc net.Conn, fr *FrameReader, gen int, connDone chan struct{}) {
	defer c.wg.Done()
	var final error
	for {
		f, err := fr.Read()
		if err != nil {
			final = err
			break
		}
		if newMessage(f.Type) == nil {
			continue // a frame of a later version (the server sends them only with a capability)
		}
		m, err := Decode(f)
		if err != nil {
			final = err
			break
		}
		if e, ok := m.(*Error); ok && f.Flags&FlagFinal != 0 {
			final = e
			break
		}
		c.dispatch(m)
	}
	nc.Close()
	close(connDone)
	c.lost(gen, final)
}

// dispatch hands a frame to whoever waits for it, else to the handler.
// It runs on the reader goroutine only, so the handler sees frames in
// order.
func (c *Client) dispatch(m Message) {
	var ready []*Post
	switch m := m.(type) {
	case *Ping:
		c.write(&Pong{Nonce: m.Nonce})
		return
	case *Pong:
		return
	case *Post:
		c.mu.Lock()
		st := c.stateLocked(m.ConversationID)
		if p := c.sends[m.ClientMsgID]; p != nil && m.ClientMsgID != "" && p.conv == m.ConversationID && m.SenderRole == c.o.Role && !st.seenLocked(m.Seq) {
			// Our own SEND, stored before its ACK was lost with a
			// connection: the replayed POST answers it.
			delete(c.sends, m.ClientMsgID)
			ready = st.ownLocked(m.Seq)
			c.mu.Unlock()
			p.res <- result{m: &Ack{ConversationID: m.ConversationID, ClientMsgID: m.ClientMsgID, Seq: m.Seq, Time: m.Time}}
			c.handle(ready)
			return
		}
		var ask int64
		ready, ask = st.postLocked(m, time.Now())
		c.mu.Unlock()
		if ask >= 0 {
			c.write(&History{ConversationID: m.ConversationID, AfterSeq: ask})
		}
		c.handle(ready)
		return
	case *Ack:
		c.mu.Lock()
		st := c.stateLocked(m.ConversationID)
		seen := st.seenLocked(m.Seq)
		ready = st.ownLocked(m.Seq)
		p := c.sends[m.ClientMsgID]
		delete(c.sends, m.ClientMsgID)
		c.mu.Unlock()
		c.handle(ready)
		if p != nil {
			p.res <- result{m: m}
			return
		}
		if seen {
			return // a repeated ACK (a retry after a reconnect)
		}
	case *Assigned:
		c.mu.Lock()
		c.stateLocked(m.ConversationID).serving = true
		c.mu.Unlock()
	case *PresenceUpdate:
		c.mu.Lock()
		c.welcome.Presence = m.State
		c.mu.Unlock()
	case *Event:
		c.mu.Lock()
		if st := c.convs[m.ConversationID]; st != nil {
			switch {
			case m.Kind == EventClosed && m.ConversationID != c.welcome.ConversationID:
				delete(c.convs, m.ConversationID)
			case m.Kind == EventClosed:
				st.serving = false
			case m.Kind == EventTransferred && m.OperatorID != c.welcome.OperatorID:
				st.serving = false // transferred away
			}
		}
		c.mu.Unlock()
	case *Error:
		if m.ClientMsgID != "" && c.settle(m.ClientMsgID, result{err: m}) {
			return
		}
	}
	c.mu.Lock()
	for i, w := range c.waits {
		if w.match(m) {
			c.waits = append(c.waits[:i], c.waits[i+1:]...)
			h := c.o.Handler
			c.mu.Unlock()
			if e, ok := m.(*Error); ok {
				w.res <- result{err: e} // a refusal answers its request only
				return
			}
			w.res <- result{m: m}
			if h != nil {
				h(m) // state (ASSIGNED, EVENT) is the handler's too
			}
			return
		}
	}
	h := c.o.Handler
	c.mu.Unlock()
	if h != nil {
		h(m)
	}
}

// handle gives POSTs to the handler, in order.
func (c *Client) handle(posts []*Post) {
	if h := c.o.Handler; h != nil {
		for _, p := range posts {
			h(p)
		}
	}
}

func (c *Client) settle(id string, r result) bool {
	c.mu.Lock()
	p := c.sends[id]
	delete(c.sends, id)
	c.mu.Unlock()
	if p == nil {
		return false
	}
	p.res <- r
	return true
}

// fatal reports whether a refusal means that reconnecting cannot help.
func fatal(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case CodeAuthFailed, CodeResumeExpired, CodeInsecure, CodeBadVersion:
		return true
	}
	return false
}

// lost handles the end of a connection: reconnect, or end the client.
// File uploads in progress fail (their bytes went with the connection).
func (c *Client) lost(gen int, cause error) {
	c.mu.Lock()
	if c.closed || gen != c.connGen {
		c.mu.Unlock()
		return
	}
	if !c.o.Reconnect || fatal(cause) {
		c.endLocked(fmt.Errorf("chat: connection lost: %w", cause))
		return
	}
	for id, p := range c.sends {
		if p.frame == nil && p.gen == gen {
			p.res <- result{err: fmt.Errorf("chat: connection lost during the upload: %w", cause)}
			delete(c.sends, id)
		}
	}
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		delay := min(100*time.Millisecond, orDur(c.o.MaxReconnectDelay, 30*time.Second))
		for {
			select {
			case <-c.done:
				return
			case <-time.After(delay):
			}
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if closed {
				return
			}
			err := c.connect(context.Background())
			if err == nil {
				return
			}
			if fatal(err) {
				c.mu.Lock()
				if !c.closed {
					c.endLocked(fmt.Errorf("chat: reconnect refused: %w", err))
					return
				}
				c.mu.Unlock()
				return
			}
			delay = min(2*delay, orDur(c.o.MaxReconnectDelay, 30*time.Second))
		}
	}()
}

// endLocked ends the client for good with err; it unlocks c.mu.
func (c *Client) endLocked(err error) {
	c.closed, c.err = true, err
	c.failPendingLocked(err)
	c.mu.Unlock()
	close(c.done)
}

func (c *Client) failPendingLocked(err error) {
	for id, p := range c.sends {
		p.res <- result{err: err}
		delete(c.sends, id)
	}
	for _, w := range c.waits {
		w.res <- result{err: err}
	}
	c.waits = nil
}

// Close ends the connection (with BYE) and stops reconnecting. It is
// idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	nc := c.nc
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write(AppendMessage(nil, &Bye{Reason: "client closed"}))
	c.closed, c.err = true, ErrClosed
	c.failPendingLocked(ErrClosed)
	c.mu.Unlock()
	close(c.done)
	nc.Close()
	c.wg.Wait()
	return nil
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Send posts text to the customer's own conversation and waits for its
// ACK.
func (c *Client) Send(ctx context.Context, text string) (*Ack, error) {
	return c.SendTo(ctx, 0, "", text)
}

// SendTo posts text to a conversation (an operator's; 0 for a customer's
// own) and waits for the ACK. A clientMsgID makes retries safe across
// calls; "" picks a new one. Until acknowledged, the message is resent
// after a reconnect.
func (c *Client) SendTo(ctx context.Context, conversation int64, clientMsgID, text string) (*Ack, error) {
	if clientMsgID == "" {
		clientMsgID = newID()
	}
	p := &pendingSend{conv: conversation, frame: AppendMessage(nil, &Send{ConversationID: conversation, ClientMsgID: clientMsgID, Text: text}),
		res: make(chan result, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if p.conv == 0 {
		p.conv = c.welcome.ConversationID
	}
	c.sends[clientMsgID] = p
	c.mu.Unlock()
	c.writeRaw(p.frame) // a failed write is retried by the reconnect
	select {
	case r := <-p.res:
		if r.err != nil {
			return nil, r.err
		}
		return r.m.(*Ack), nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.sends, clientMsgID)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// await sends m and waits for the first frame that match accepts (an
// ERROR about the same conversation counts as a refusal).
func (c *Client) await(ctx context.Context, m Message, match func(Message) bool) (Message, error) {
	w := &waiter{match: match, res: make(chan result, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.waits = append(c.waits, w)
	c.mu.Unlock()
	if err := c.write(m); err != nil {
		c.removeWaiter(w)
		return nil, err
	}
	select {
	case r := <-w.res:
		return r.m, r.err
	case <-ctx.Done():
		c.removeWaiter(w)
		return nil, ctx.Err()
	}
}

func (c *Client) removeWaiter(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.waits {
		if x == w {
			c.waits = append(c.waits[:i], c.waits[i+1:]...)
			return
		}
	}
}

func errorFor(id int64) func(Message) bool {
	return func(m Message) bool {
		e, ok := m.(*Error)
		return ok && e.ClientMsgID == "" && (id == 0 || e.ConversationID == id)
	}
}

// Accept takes a waiting conversation (0: the one waiting longest) and
// returns it once assigned.
func (c *Client) Accept(ctx context.Context, conversation int64) (*Assigned, error) {
	refused := errorFor(conversation)
	m, err := c.await(ctx, &Accept{ConversationID: conversation}, func(m Message) bool {
		a, ok := m.(*Assigned)
		return (ok && (conversation == 0 || a.ConversationID == conversation)) || refused(m)
	})
	if err != nil {
		return nil, err
	}
	return m.(*Assigned), nil
}

// Transfer hands a conversation to another operator.
func (c *Client) Transfer(ctx context.Context, conversation int64, to string) error {
	refused := errorFor(conversation)
	_, err := c.await(ctx, &Transfer{ConversationID: conversation, To: to}, func(m Message) bool {
		e, ok := m.(*Event)
		return (ok && e.ConversationID == conversation && e.Kind == EventTransferred) || refused(m)
	})
	return err
}

// CloseConversation ends a conversation (0: a customer's own).
func (c *Client) CloseConversation(ctx context.Context, conversation int64) error {
	if conversation == 0 {
		conversation = c.ConversationID()
	}
	refused := errorFor(conversation)
	_, err := c.await(ctx, &Close{ConversationID: conversation}, func(m Message) bool {
		e, ok := m.(*Event)
		return (ok && e.ConversationID == conversation && e.Kind == EventClosed) || refused(m)
	})
	return err
}

// SetPresence sets an operator's availability.
func (c *Client) SetPresence(p Presence) error { return c.write(&PresenceUpdate{State: p}) }

// Typing tells the other side the user types (or stopped).
func (c *Client) Typing(conversation int64, on bool) error {
	return c.write(&Typing{ConversationID: conversation, On: on})
}

// MarkRead tells the other side the user has read up to seq.
func (c *Client) MarkRead(conversation, seq int64) error {
	return c.write(&Read{ConversationID: conversation, Seq: seq})
}

// History asks for a conversation's messages after seq again; they
// arrive as POSTs through the Handler, in order, this time including the
// ones this client sent and those it was given before. (The client
// fills gaps on its own: History is for a user who wants to read back.)
func (c *Client) History(conversation, after int64) error {
	c.mu.Lock()
	st := c.stateLocked(conversation)
	if after+1 < st.next {
		st.next, st.own, st.ahead = after+1, nil, nil // let the replay through
	}
	c.mu.Unlock()
	return c.write(&History{ConversationID: conversation, AfterSeq: after})
}
