package chat

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/internal/loginguard"
	"github.com/switchboard-go/switchboard/internal/netutil"
	"github.com/switchboard-go/switchboard/store"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("chat: server closed")

// Server is a chat server. Set its fields, then call Serve; it is then
// safe for concurrent use. The zero value is not usable: Store is
// required.
type Server struct {
	// Store keeps conversations, messages and attachments. When it also
	// runs transactions (store.Store does), messages are group-committed:
	// every message is durable before its ACK, and many messages share a
	// commit. A connection's SENDs are then pipelined: the server reads
	// on while earlier ones wait for their commit (up to 64 per
	// connection) and acknowledges them in the order they came.
	Store store.ChatStore
	// Operators authenticates operators (nil: no operator can log in).
	Operators Directory
	// Secret signs resume tokens and verifies customer tokens
	// (SignCustomer). With the same secret, resume tokens survive a
	// restart. nil: a random secret per process.
	Secret []byte
	// RequireToken refuses customers without a signed token.
	RequireToken bool
	// AllowInsecurePasswords lets operators send passwords over plain
	// TCP from non-loopback addresses. Without it, only TLS listeners
	// (and loopback) accept operator logins.
	AllowInsecurePasswords bool
	// MaxConversations is an operator's default capacity (default 5).
	MaxConversations int
	// MaxConnections caps open connections (default 10,000). Each is a
	// file descriptor: keep it below the process's open-file limit
	// (Serve outlives running out of descriptors, but waits meanwhile).
	MaxConnections int
	// MaxHandshakes caps the connections that have not finished their
	// HELLO, server-wide (default 1,024); each may hold up to
	// MaxHelloFrame bytes while it does.
	MaxHandshakes int
	// PerIP limits what one client address may hold.
	PerIP PerIPLimits
	// MaxFrame caps a frame's payload (default DefaultMaxFrame).
	MaxFrame int
	// OutboundLimit caps the bytes queued to one connection; a client
	// that lets more pile up is disconnected as a slow consumer
	// (default 1 MiB).
	OutboundLimit int
	// Heartbeat is the ping interval (default 15s); a connection that
	// sends nothing for three intervals is closed.
	Heartbeat time.Duration
	// WriteTimeout bounds one write to a client (default 10s).
	WriteTimeout time.Duration
	// MessageRate and MessageBurst limit a connection's SEND, TYPING and
	// READ frames per second (defaults 10 and 30; negative rate: no
	// limit).
	MessageRate  float64
	MessageBurst int
	// ResumeTTL is how long a resume token stays valid and a waiting
	// customer who left keeps their place (default 10m).
	ResumeTTL time.Duration
	// TokenGrace is how long after a resume the token it replaced still
	// works, even while a connection holds the new one (default 1m): for
	// a client whose WELCOME was lost with its connection, which the
	// server may not know is dead yet. The holder of the new one is told
	// (EVENT elsewhere).
	TokenGrace time.Duration
	// OperatorGrace is how long an operator's conversations wait for the
	// operator to reconnect before going back to the queue (default 2m).
	OperatorGrace time.Duration
	// Files limits attachments.
	Files FileLimits
	// MailTranscript, when set, lets customers ask for their
	// conversation's transcript by e-mail (TRANSCRIPT with FormatMail):
	// it is called with the transcript as the customer sees it and the
	// conversation's customer address, and should send it within the
	// context's minute. The address is the one the customer gave, which
	// a website's signed token vouches for and the widget's form does
	// not: so each conversation gets at most TranscriptMailsPerHour
	// mails, one a minute, each mailbox as many an hour whatever the
	// conversations (+tags and case count as one), and each network
	// address three times as many; only plain ASCII addresses are
	// written to. Nil: such requests are refused (unsupported).
	MailTranscript func(ctx context.Context, t store.Transcript, to string) error
	// OnClose, when set, is called (in its own goroutine) with the
	// transcript of every conversation that closes: to export it.
	OnClose func(ctx context.Context, t store.Transcript)
	// Hours are when operators work (nil: always). Outside them, and
	// whenever no operator is online and available, a new customer is
	// told so at once (with the hours; EVENT offline and a system
	// message). Then, with LeaveMessages, the customer leaves a message:
	// the conversation is kept, marked LeftMessage, and not routed (see
	// OnLeftMessage); without it, the customer waits in line as usual.
	Hours         *BusinessHours
	LeaveMessages bool
	// OnLeftMessage, when set, is called when a conversation opened
	// while no operator was available ends with something the customer
	// wrote (the customer closes it, or is gone for LeftMessageGrace),
	// with its transcript: to open a ticket from it, say. A reference it
	// returns ("ticket 2026120410000017") is stored as a system message
	// before the conversation closes, so a customer still connected sees
	// it. It runs on the goroutine that ends the conversation, with a
	// one-minute context.
	OnLeftMessage func(ctx context.Context, t store.Transcript) (ref string, err error)
	// LeftMessageGrace is how long a message-left conversation waits for
	// its customer to come back before it ends (default 2m).
	LeftMessageGrace time.Duration
	// OnEvent, when set, receives every change of a conversation
	// (opened, assigned, transferred, left a message, closed), one at a
	// time on a goroutine of its own, in the order the server recorded
	// them: for one conversation, opened comes first and closed last. A
	// slow hook delays only later events; beyond 65,536 waiting, events
	// are dropped and counted in Stats.
	OnEvent func(ConversationEvent)
	// Logger receives connection and routing events (nil: none).
	Logger *slog.Logger
	// Name is sent in WELCOME (default "switchboard").
	Name string

	initOnce  sync.Once
	batchOnce sync.Once
	secret    []byte
	hub       *hub
	guard     *guard
	events    *eventQueue
	logins    *loginguard.Guard

	loadMu sync.Mutex
	loaded bool

	mu       sync.Mutex
	ls       map[net.Listener]struct{}
	conns    map[*conn]struct{}
	closed   bool
	wg       sync.WaitGroup
	nconns   atomic.Int64
	janitor  chan struct{}
	nextSess atomic.Uint64

	mailed mailLimits // transcripts mailed, for MailTranscript's limits

	publicIDs sync.Map // operator id -> public id
	opNames   sync.Map // operator id -> display name
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.secret = s.Secret
		if len(s.secret) == 0 {
			s.secret = make([]byte, 32)
			rand.Read(s.secret)
		}
		s.hub = newHub(s)
		s.events = &eventQueue{hook: s.OnEvent, wg: &s.wg}
		s.guard = newGuard(s)
		s.logins = loginguard.New()
		s.ls = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.janitor = make(chan struct{})
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.janitorLoop() }()
	})
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func (s *Server) maxFrame() int                { return orInt(s.MaxFrame, DefaultMaxFrame) }
func (s *Server) maxHandshakes() int           { return orInt(s.MaxHandshakes, 1024) }
func (s *Server) outboundLimit() int           { return orInt(s.OutboundLimit, 1<<20) }
func (s *Server) heartbeat() time.Duration     { return orDur(s.Heartbeat, 15*time.Second) }
func (s *Server) writeTimeout() time.Duration  { return orDur(s.WriteTimeout, 10*time.Second) }
func (s *Server) resumeTTL() time.Duration     { return orDur(s.ResumeTTL, 10*time.Minute) }
func (s *Server) operatorGrace() time.Duration { return orDur(s.OperatorGrace, 2*time.Minute) }
func (s *Server) tokenGrace() time.Duration    { return orDur(s.TokenGrace, time.Minute) }
func (s *Server) leftMessageGrace() time.Duration {
	return orDur(s.LeftMessageGrace, 2*time.Minute)
}
func (s *Server) defaultCapacity() int { return orInt(s.MaxConversations, 5) }
func (s *Server) messageRate() (float64, float64) {
	if s.MessageRate < 0 {
		return 0, 0
	}
	rate := s.MessageRate
	if rate == 0 {
		rate = 10
	}
	return rate, float64(orInt(s.MessageBurst, 30))
}

func (s *Server) logf(msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Info(msg, args...)
	}
}

// Serve accepts connections on l until Shutdown or Close. TLS listeners
// (tls.NewListener) count as secure for operator passwords.
func (s *Server) Serve(l net.Listener) error {
	if s.Store == nil {
		return errors.New("chat: Server.Store is nil")
	}
	s.init()
	if err := s.load(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.ls[l] = struct{}{}
	s.mu.Unlock()
	err := netutil.Accept(l, s.isClosed, func(nc net.Conn) {
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() { defer s.wg.Done(); s.serveConn(c) }()
	})
	if err == nil {
		return ErrServerClosed
	}
	return err
}

// load brings back the open conversations of a previous run, once.
func (s *Server) load() error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.loaded {
		return nil
	}
	if err := s.hub.load(context.Background()); err != nil {
		return err
	}
	s.loaded = true
	return nil
}

// ServeConn serves one connection made elsewhere (a WebSocket carried as
// a net.Conn: package chatws) as Serve serves the connections it accepts:
// same handshake, limits, resume and shutdown. It blocks until the
// connection ends. secure says the connection is encrypted (HTTPS), which
// operator passwords need (see AllowInsecurePasswords); nc.RemoteAddr is
// the address the per-address limits count. After Shutdown or Close it
// closes nc and returns ErrServerClosed.
func (s *Server) ServeConn(nc net.Conn, secure bool) error {
	return s.serveConnAs(nc, secure, "")
}

// ServeOperatorConn is ServeConn for a connection whose operator the
// caller has authenticated (a web console's session, over a WebSocket
// whose origin it checked): its HELLO must be an operator's with login
// as Login, whose password is not asked; any other HELLO is refused
// (ERROR authentication failed). The operator must exist in Operators
// and not be disabled. Operators connected this way get everything else
// as with a password: cursors, presence, the line, their conversations.
func (s *Server) ServeOperatorConn(nc net.Conn, secure bool, login string) error {
	if login == "" {
		nc.Close()
		return errors.New("chat: ServeOperatorConn without a login")
	}
	return s.serveConnAs(nc, secure, login)
}

func (s *Server) serveConnAs(nc net.Conn, secure bool, operator string) error {
	if s.Store == nil {
		nc.Close()
		return errors.New("chat: Server.Store is nil")
	}
	s.init()
	if err := s.load(); err != nil {
		nc.Close()
		return err
	}
	c := newConn(s, nc)
	c.secure, c.operator = secure, operator
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return ErrServerClosed
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.serveConn(c)
	<-c.done // the connection lives on in goroutines of its own
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// ListenAndServe listens on addr (TCP) and serves; with tlsConfig, over
// TLS.
func (s *Server) ListenAndServe(addr string, tlsConfig *tls.Config) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		l = tls.NewListener(l, tlsConfig)
	}
	return s.Serve(l)
}

// serveConn runs one connection: handshake, then frames until it ends.
func (s *Server) serveConn(c *conn) {
	counted := false
	cleanup := func() {
		c.close("done")
		c.detach()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.nconns.Add(-1)
		if counted {
			s.guard.disconnect(c.ip)
		}
	}
	refuse := func(code ErrorCode, text string) {
		c.fail(code, text)
		<-c.done
		cleanup()
	}
	if n := s.nconns.Add(1); n > int64(orInt(s.MaxConnections, 10000)) {
		refuse(CodeTooManyConns, "the server is full; try again later")
		return
	}
	if counted = s.guard.connect(c.ip); !counted {
		refuse(CodeTooManyConns, "too many connections from your address")
		return
	}
	if !s.guard.startHandshake(c.ip) {
		refuse(CodeTooManyConns, "the server is busy; try again later")
		return
	}
	ok := s.handshake(c)
	s.guard.endHandshake(c.ip)
	if !ok {
		<-c.done
		cleanup()
		return
	}
	c.fr.SetMax(s.maxFrame())
	c.nc.SetReadDeadline(time.Time{}) // silence is watched by the heartbeat timer
	c.ready.Store(true)               // from here a failure wakes the reader with a deadline
	c.lastSent.Store(time.Now().UnixNano())
	c.startHeartbeat()
	// The connection lives on in a fresh goroutine: the handshake's deep
	// calls grew this one's stack, which an idle connection would keep.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cleanup()
		defer s.dropUploads(c) // on the reader goroutine, which owns them
		s.readFrames(c)
	}()
}

// readFrames serves frames until the connection ends.
func (s *Server) readFrames(c *conn) {
	for {
		f, err := c.fr.readBorrowed()
		if err != nil && c.leaving() {
			// Failed (slow consumer, heartbeat, shutdown): out of its
			// conversations now, while its reason is written out.
			c.detach()
			<-c.done
			return
		}
		if err != nil {
			var fe *FrameError
			switch {
			case errors.As(err, &fe) && errors.Is(err, ErrBadVersion):
				c.fail(CodeBadVersion, fe.Error())
			case errors.As(err, &fe):
				c.fail(CodeBadFrame, fe.Error())
			case errors.Is(err, io.EOF):
				c.close("client closed")
			default:
				c.close("read: " + err.Error())
			}
			<-c.done
			return
		}
		c.received.Add(1)
		c.frameLen = len(f.Payload)
		if newMessage(f.Type) == nil {
			// A frame of a later version: skipped if it says so, else
			// refused; the connection goes on.
			if f.Flags&FlagIgnorable == 0 {
				c.refuse(CodeUnsupported, fmt.Sprintf("%s is not a frame this server takes", f.Type), 0, "")
			}
			continue
		}
		if c.leaving() { // failed: nothing it sends is answered any more
			<-c.done
			return
		}
		m, err := Decode(f)
		if err != nil {
			c.fail(CodeBadFrame, err.Error())
			<-c.done
			return
		}
		if !s.handle(c, m) {
			<-c.done
			return
		}
	}
}

// Stats is a snapshot of a server's load, for metrics and tests.
type Stats struct {
	Connections   int   // open connections
	Handshakes    int   // connections still reading their HELLO
	Conversations int   // open conversations (waiting or active)
	Waiting       int   // conversations in line
	Operators     int   // operators with a connection
	UploadBytes   int64 // memory reserved by uploads in progress (Files.MaxBuffered bounds it)
	EventsDropped int64 // events OnEvent could not take in time
	// Messages stored since the server started, by sender: from
	// customers, from operators, and the system's (joins, transfers,
	// closes, ...).
	CustomerMessages, OperatorMessages, SystemMessages int64
}

// Stats returns the server's current load. It is safe to call at any
// time, from any goroutine.
func (s *Server) Stats() Stats {
	s.init()
	st := Stats{Connections: int(s.nconns.Load()), UploadBytes: s.guard.uploadUsage(), EventsDropped: s.events.droppedCount(),
		CustomerMessages: s.hub.messages[0].Load(), OperatorMessages: s.hub.messages[1].Load(), SystemMessages: s.hub.messages[2].Load()}
	s.guard.mu.Lock()
	st.Handshakes = s.guard.handshakes
	s.guard.mu.Unlock()
	s.hub.mu.Lock()
	st.Conversations, st.Waiting = len(s.hub.convs), len(s.hub.queue)
	for _, op := range s.hub.ops {
		if len(op.conns) > 0 {
			st.Operators++
		}
	}
	s.hub.mu.Unlock()
	return st
}

// Shutdown stops accepting, tells every client the server is going away
// (ERROR shutting down, final), waits until their connections are closed
// or ctx ends (then closes the rest), and stops.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.stop()
	for _, c := range conns {
		c.fail(CodeShuttingDown, "the server is shutting down; reconnect later")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.closeBatcher()
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.close("shutdown timeout")
		}
		<-done
		s.closeBatcher()
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	for _, c := range s.stop() {
		c.close("server closed")
	}
	s.wg.Wait()
	s.closeBatcher()
	return nil
}

func (s *Server) closeBatcher() {
	if s.hub.batch != nil {
		s.batchOnce.Do(s.hub.batch.close)
	}
}

func (s *Server) stop() []*conn {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.janitor)
	}
	for l := range s.ls {
		l.Close()
	}
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

func (s *Server) janitorLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.janitor:
			return
		case now := <-t.C:
			s.hub.sweep(now)
			s.guard.sweep(now)
			s.logins.Sweep(now)
		}
	}
}
