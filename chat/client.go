package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	// An operator's credentials.
	Login, Password string
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
	lastSeq  map[int64]int64 // highest POST seq seen, per conversation
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
	frame []byte
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
	c := &Client{addr: addr, lastSeq: map[int64]int64{}, sends: map[string]*pendingSend{}, done: make(chan struct{})}
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
		Login: c.o.Login, Password: c.o.Password, Client: c.o.Client}
	if c.welcome.Resume != "" {
		hello.Resume = c.welcome.Resume
		hello.LastSeq = c.lastSeq[c.welcome.ConversationID]
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
	c.nc, c.welcome = nc, *w
	c.connGen++
	c.connDone = make(chan struct{})
	gen, connDone := c.connGen, c.connDone
	// Unacknowledged SENDs go again: the server stores each once.
	var resend [][]byte
	for _, p := range c.sends {
		resend = append(resend, p.frame)
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
func (c *Client) dispatch(m Message) {
	switch m := m.(type) {
	case *Ping:
		c.write(&Pong{Nonce: m.Nonce})
		return
	case *Pong:
		return
	case *Post:
		c.mu.Lock()
		if m.Seq <= c.lastSeq[m.ConversationID] {
			c.mu.Unlock()
			return // already seen (a replay overlapping live traffic)
		}
		c.lastSeq[m.ConversationID] = m.Seq
		c.mu.Unlock()
	case *Ack:
		// The server queues a conversation's POSTs in order, so an ACK
		// comes after every earlier message of the conversation.
		c.mu.Lock()
		if m.Seq > c.lastSeq[m.ConversationID] {
			c.lastSeq[m.ConversationID] = m.Seq
		}
		c.mu.Unlock()
		if c.settle(m.ClientMsgID, result{m: m}) {
			return
		}
	case *Error:
		if m.ClientMsgID != "" && c.settle(m.ClientMsgID, result{err: m}) {
			return
		}
	}
	c.mu.Lock()
	for i, w := range c.waits {
		if w.match(m) {
			c.waits = append(c.waits[:i], c.waits[i+1:]...)
			c.mu.Unlock()
			if e, ok := m.(*Error); ok {
				w.res <- result{err: e}
			} else {
				w.res <- result{m: m}
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

// lost handles the end of a connection: reconnect, or end the client.
func (c *Client) lost(gen int, cause error) {
	c.mu.Lock()
	if c.closed || gen != c.connGen {
		c.mu.Unlock()
		return
	}
	var e *Error
	fatal := errors.As(cause, &e) && (e.Code == CodeAuthFailed || e.Code == CodeResumeExpired || e.Code == CodeInsecure)
	if !c.o.Reconnect || fatal {
		c.closed = true
		c.err = fmt.Errorf("chat: connection lost: %w", cause)
		c.failPendingLocked(c.err)
		c.mu.Unlock()
		close(c.done)
		return
	}
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		delay := 100 * time.Millisecond
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
				c.afterReconnect()
				return
			}
			if errors.As(err, &e) && (e.Code == CodeAuthFailed || e.Code == CodeResumeExpired) {
				c.mu.Lock()
				c.closed, c.err = true, fmt.Errorf("chat: reconnect refused: %w", err)
				c.failPendingLocked(c.err)
				c.mu.Unlock()
				close(c.done)
				return
			}
			delay = min(2*delay, orDur(c.o.MaxReconnectDelay, 30*time.Second))
		}
	}()
}

// afterReconnect asks an operator's missed messages again.
func (c *Client) afterReconnect() {
	if c.o.Role != RoleOperator {
		return
	}
	c.mu.Lock()
	seen := make(map[int64]int64, len(c.lastSeq))
	for id, seq := range c.lastSeq {
		seen[id] = seq
	}
	c.mu.Unlock()
	for id, seq := range seen {
		c.write(&History{ConversationID: id, AfterSeq: seq})
	}
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
	p := &pendingSend{frame: AppendMessage(nil, &Send{ConversationID: conversation, ClientMsgID: clientMsgID, Text: text}),
		res: make(chan result, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
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

// History asks for a conversation's messages after seq; they arrive as
// POSTs through the Handler.
func (c *Client) History(conversation, after int64) error {
	c.mu.Lock()
	if c.lastSeq[conversation] > after {
		c.lastSeq[conversation] = after // let the replay through
	}
	c.mu.Unlock()
	return c.write(&History{ConversationID: conversation, AfterSeq: after})
}

// SendFile uploads name's content from r (at most maxSize bytes, which
// are read into memory first to compute the SHA-256) to a conversation
// (0: a customer's own), calling progress with the bytes sent so far, and
// waits for the ACK.
func (c *Client) SendFile(ctx context.Context, conversation int64, name string, r io.Reader, maxSize int64, progress func(sent, total int64)) (*Ack, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("chat: %s is larger than %d bytes", name, maxSize)
	}
	sum := sha256.Sum256(data)
	id := newID()
	transfer := c.transferID()
	c.mu.Lock()
	p := &pendingSend{res: make(chan result, 1)}
	c.sends[id] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.sends, id)
		c.mu.Unlock()
	}()
	if err := c.write(&FileStart{ConversationID: conversation, TransferID: transfer, Name: name, Size: int64(len(data)),
		SHA256: sum[:], ClientMsgID: id}); err != nil {
		return nil, err
	}
	for off := 0; off < len(data); off += MaxChunk {
		end := min(off+MaxChunk, len(data))
		if err := c.write(&FileChunk{TransferID: transfer, Data: data[off:end]}); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(int64(end), int64(len(data)))
		}
		select {
		case r := <-p.res: // refused early (size, type)
			if r.err != nil {
				return nil, r.err
			}
		default:
		}
	}
	if err := c.write(&FileEnd{TransferID: transfer}); err != nil {
		return nil, err
	}
	select {
	case r := <-p.res:
		if r.err != nil {
			return nil, r.err
		}
		return r.m.(*Ack), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Fetch downloads an attachment into w and returns its metadata; the
// SHA-256 is checked.
func (c *Client) Fetch(ctx context.Context, attachmentID int64, w io.Writer) (*FileStart, error) {
	id := c.transferID()
	return c.download(ctx, &Fetch{AttachmentID: attachmentID, TransferID: id}, id, w)
}

// transferID numbers the client's file transfers.
func (c *Client) transferID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	return c.nextID
}

// Transcript downloads a conversation's transcript (0: a customer's own)
// into w.
func (c *Client) Transcript(ctx context.Context, conversation int64, format TranscriptFormat, w io.Writer) (*FileStart, error) {
	id := c.transferID()
	return c.download(ctx, &TranscriptRequest{ConversationID: conversation, Format: format, TransferID: id}, id, w)
}

func (c *Client) download(ctx context.Context, req Message, id uint64, w io.Writer) (*FileStart, error) {
	var start *FileStart
	var buf bytes.Buffer
	sum := sha256.New()
	frames := make(chan Message, 64)
	wt := &waiter{res: make(chan result, 1)}
	wt.match = func(m Message) bool {
		switch m := m.(type) {
		case *FileStart:
			if m.TransferID != id {
				return false
			}
		case *FileChunk:
			if m.TransferID != id {
				return false
			}
		case *FileEnd:
			if m.TransferID != id {
				return false
			}
		case *Error:
			if m.ClientMsgID != "" {
				return false
			}
		default:
			return false
		}
		select {
		case frames <- m:
		case <-ctx.Done():
		}
		return false // keep waiting: the loop below decides when it ends
	}
	c.mu.Lock()
	c.waits = append(c.waits, wt)
	c.mu.Unlock()
	defer c.removeWaiter(wt)
	if err := c.write(req); err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.done:
			return nil, c.Err()
		case m := <-frames:
			switch m := m.(type) {
			case *Error:
				return nil, m
			case *FileStart:
				start = m
			case *FileChunk:
				buf.Write(m.Data)
				sum.Write(m.Data)
			case *FileEnd:
				if start == nil || int64(buf.Len()) != start.Size || !bytes.Equal(sum.Sum(nil), start.SHA256) {
					return nil, errors.New("chat: download does not match its size or SHA-256")
				}
				_, err := w.Write(buf.Bytes())
				return start, err
			}
		}
	}
}
