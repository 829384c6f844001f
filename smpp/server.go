package smpp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/internal/netutil"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("smpp: server closed")

// BindRequest is an ESME's bind, for the Server's authenticator.
type BindRequest struct {
	Mode             BindMode // Transmitter, Receiver or Transceiver
	SystemID         string
	Password         string
	SystemType       string
	InterfaceVersion uint8
	AddressRange     string
	RemoteAddr       net.Addr
}

// ServerHandler answers an ESME's requests (submit_sm, data_sm, query_sm,
// cancel_sm, replace_sm, submit_multi, broadcast operations). It runs on
// the session's reader, so the session reads nothing else meanwhile: it
// must return quickly. It returns the response (its sequence number is set
// for it), or nil to answer later, from any goroutine, with
// ServerSession.Respond: an answer that needs I/O or adds latency does not
// stall the session. A request left unanswered holds a slot of the
// ESME's window until its response timeout.
type ServerHandler interface {
	HandleRequest(ctx context.Context, s *ServerSession, req pdu.PDU) pdu.PDU
}

// ServerHandlerFunc adapts a function to a ServerHandler.
type ServerHandlerFunc func(ctx context.Context, s *ServerSession, req pdu.PDU) pdu.PDU

// HandleRequest calls f.
func (f ServerHandlerFunc) HandleRequest(ctx context.Context, s *ServerSession, req pdu.PDU) pdu.PDU {
	return f(ctx, s, req)
}

// Server is an SMSC: it accepts ESME sessions, authenticates their binds
// and answers their requests. The zero value accepts any bind and answers
// submit_sm with sequential message ids. Configure it before Serve; it is
// then safe for concurrent use.
type Server struct {
	// SystemID is given in bind responses (default "switchboard").
	SystemID string
	// Authenticate decides a bind: pdu.StatusOK accepts it, anything else
	// is the refusal's status (e.g. pdu.StatusInvPaswd). nil accepts all.
	Authenticate func(ctx context.Context, b BindRequest) pdu.Status
	// Handler answers requests; nil gives every submit_sm and data_sm a
	// new message id and refuses the other operations with
	// ESME_RINVCMDID.
	Handler ServerHandler
	// OnBind, when set, is called when a session is bound (e.g. to keep
	// it for deliveries) and OnClose when it ends.
	OnBind  func(s *ServerSession)
	OnClose func(s *ServerSession)
	// TPS, when > 0, caps the requests per second of each session, as a
	// token bucket: requests are let through at TPS a second on average
	// and up to TPSBurst at once (default TPS/10, at least 1), so no
	// second ever sees more than TPS+TPSBurst; the excess is answered
	// with ESME_RTHROTTLED. (A fixed one-second window let twice TPS
	// through around its edges.)
	TPS      int
	TPSBurst int
	// EnquireLink, when > 0, is the interval of the server's own
	// enquire_link to each bound session, sent after an interval in which
	// nothing was read; when it is unanswered within ResponseTimeout and
	// nothing at all is read for max(EnquireLink, ResponseTimeout) more,
	// the session is closed.
	EnquireLink time.Duration
	// BindTimeout closes a connection that has not bound within it
	// (default 30s; negative disables).
	BindTimeout time.Duration
	// WindowSize, ResponseTimeout and MaxPDULen are as in Options, for
	// the server's own requests (deliver_sm, enquire_link).
	WindowSize      int
	ResponseTimeout time.Duration
	MaxPDULen       int

	mu       sync.Mutex
	ls       map[net.Listener]struct{}
	sessions map[*ServerSession]struct{}
	closed   bool
	wg       sync.WaitGroup
	nextID   atomic.Uint64
}

// ServerSession is one ESME connected to a Server. Its methods are safe
// for concurrent use.
type ServerSession struct {
	srv  *Server
	s    *session
	bind BindRequest

	bound     chan struct{} // closed when the ESME binds
	boundOnce sync.Once

	mu  sync.Mutex
	tat time.Time // the TPS bucket's theoretical arrival time (GCRA)
}

// Respond answers req, a request the handler returned nil for, with resp
// (whose sequence number is set from req). It does not block on I/O; once
// the session has ended the answer is dropped. Each request must be
// answered at most once.
func (ss *ServerSession) Respond(req, resp pdu.PDU) {
	resp.Hdr().Sequence = req.Hdr().Sequence
	ss.s.respond(resp)
}

// Done is closed when the session has ended.
func (ss *ServerSession) Done() <-chan struct{} { return ss.s.done }

// Stats are the session's counters, for the server's own requests.
func (ss *ServerSession) Stats() Stats { return ss.s.stats() }

// Bind is the ESME's bind request (Mode is zero before the bind).
func (ss *ServerSession) Bind() BindRequest {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.bind
}

// State is the session's bind state.
func (ss *ServerSession) State() State { return ss.s.state() }

// Deliver sends a deliver_sm to the ESME through the session's window
// and returns the Call to wait on. The ESME must be bound as a receiver or
// transceiver. As with Client.Send, d's header is set and d must not be
// reused until the Call completes.
func (ss *ServerSession) Deliver(ctx context.Context, d *pdu.DeliverSM) (*Call, error) {
	if st := ss.s.state(); st != StateBoundRX && st != StateBoundTRX {
		return nil, &SendError{Err: stateError(st, pdu.DeliverSMID)}
	}
	return ss.s.send(ctx, d)
}

// Send sends any request to the ESME (data_sm, alert_notification has no
// response: use it only with requests that have one).
func (ss *ServerSession) Send(ctx context.Context, req pdu.PDU) (*Call, error) {
	return ss.s.send(ctx, req)
}

// Close closes the session's connection at once.
func (ss *ServerSession) Close() error {
	ss.s.close(nil)
	return nil
}

// Serve accepts connections on l until Shutdown or Close, serving each in
// its own goroutines. It returns ErrServerClosed after them, or the
// listener's error.
func (srv *Server) Serve(l net.Listener) error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		if l != nil {
			l.Close()
		}
		return ErrServerClosed
	}
	if srv.ls == nil {
		srv.ls = map[net.Listener]struct{}{}
		srv.sessions = map[*ServerSession]struct{}{}
	}
	srv.ls[l] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	defer srv.wg.Done()
	err := netutil.Accept(l, srv.isClosed, func(conn net.Conn) { srv.serve(conn) })
	if err == nil {
		return ErrServerClosed
	}
	return err
}

func (srv *Server) isClosed() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.closed
}

// ListenAndServe listens on addr (TCP) and calls Serve.
func (srv *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

func (srv *Server) serve(conn net.Conn) *ServerSession {
	ss := &ServerSession{srv: srv, bound: make(chan struct{})}
	ss.bind.RemoteAddr = conn.RemoteAddr()
	ss.s = newSession(conn, sessionConfig{window: srv.WindowSize, responseTimeout: srv.ResponseTimeout,
		maxPDULen: srv.MaxPDULen, handle: func(s *session, p pdu.PDU) { srv.handle(ss, p) }})
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		conn.Close()
		return nil
	}
	if srv.sessions == nil {
		srv.ls = map[net.Listener]struct{}{}
		srv.sessions = map[*ServerSession]struct{}{}
	}
	srv.sessions[ss] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	ss.s.start()
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		srv.watch(ss)
	}()
	go func() {
		defer srv.wg.Done()
		<-ss.s.done
		ss.s.wait()
		srv.mu.Lock()
		delete(srv.sessions, ss)
		srv.mu.Unlock()
		if srv.OnClose != nil && ss.s.st.Load() != int32(StateOpen) {
			srv.OnClose(ss)
		}
	}()
	return ss
}

// watch closes a session that does not bind in time, and keeps a bound
// one alive with enquire_link when configured.
func (srv *Server) watch(ss *ServerSession) {
	if bt := cmp.Or(srv.BindTimeout, 30*time.Second); bt > 0 {
		t := time.NewTimer(bt)
		select {
		case <-ss.bound:
			t.Stop()
		case <-ss.s.done:
			t.Stop()
			return
		case <-t.C:
			ss.s.close(errors.New("smpp: no bind in time"))
			return
		}
	} else {
		select {
		case <-ss.bound:
		case <-ss.s.done:
			return
		}
	}
	if srv.EnquireLink > 0 {
		ss.s.keepalive(srv.EnquireLink, nil)
	}
}

func (srv *Server) handle(ss *ServerSession, p pdu.PDU) {
	s := ss.s
	seq := p.Hdr().Sequence
	refuse := func(st pdu.Status) { s.refuse(p.CommandID(), seq, st) }
	// What an ESME may send in a state is what an SMSC accepts in it.
	if st := s.state(); !canSend(st, p.CommandID()) {
		refuse(refusalStatus(st, p.CommandID(), true))
		return
	}
	if s.answerLink(p, "smpp: the ESME unbound") {
		return
	}
	switch v := p.(type) {
	case *pdu.BindTransmitter:
		srv.bind(ss, Transmitter, v, &pdu.BindTransmitterResp{})
	case *pdu.BindReceiver:
		srv.bind(ss, Receiver, (*pdu.BindTransmitter)(v), &pdu.BindReceiverResp{})
	case *pdu.BindTransceiver:
		srv.bind(ss, Transceiver, (*pdu.BindTransmitter)(v), &pdu.BindTransceiverResp{})
	default:
		if !ss.allow(srv.TPS, srv.TPSBurst, time.Now()) {
			refuse(pdu.StatusThrottled)
			return
		}
		var resp pdu.PDU
		if srv.Handler != nil {
			resp = srv.Handler.HandleRequest(context.Background(), ss, p)
		} else {
			resp = srv.defaultAnswer(p)
		}
		if resp == nil {
			return // answered later with Respond
		}
		resp.Hdr().Sequence = seq
		s.respond(resp)
	}
}

// allow counts a request against the session's TPS bucket (the generic
// cell rate algorithm: one request every 1/tps, up to burst ahead).
func (ss *ServerSession) allow(tps, burst int, now time.Time) bool {
	if tps <= 0 {
		return true
	}
	if burst <= 0 {
		burst = max(1, tps/10)
	}
	interval := time.Second / time.Duration(tps)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	next := ss.tat
	if next.Before(now) {
		next = now
	}
	next = next.Add(interval)
	if next.Sub(now) > time.Duration(burst)*interval {
		return false
	}
	ss.tat = next
	return true
}

// Sessions returns the server's sessions at this moment, bound or not
// (ServerSession.State tells). A session is among them from its
// connection on, so one whose bind the ESME saw answered is always here,
// bound: unlike OnBind, which runs after the answer is sent, this never
// lags behind the ESME.
func (srv *Server) Sessions() []*ServerSession {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	out := make([]*ServerSession, 0, len(srv.sessions))
	for ss := range srv.sessions {
		out = append(out, ss)
	}
	return out
}

// NewMessageID returns the server's next message id (decimal).
func (srv *Server) NewMessageID() string { return strconv.FormatUint(srv.nextID.Add(1), 10) }

func (srv *Server) defaultAnswer(p pdu.PDU) pdu.PDU {
	switch p.(type) {
	case *pdu.SubmitSM:
		return &pdu.SubmitSMResp{MessageID: srv.NewMessageID()}
	case *pdu.DataSM:
		return &pdu.DataSMResp{MessageID: srv.NewMessageID()}
	}
	resp := pdu.New(p.CommandID().Response())
	if resp == nil {
		return &pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID}}
	}
	resp.Hdr().Status = pdu.StatusInvCmdID
	return resp
}

func (srv *Server) bind(ss *ServerSession, m BindMode, b *pdu.BindTransmitter, resp pdu.PDU) {
	req := BindRequest{Mode: m, SystemID: b.SystemID, Password: b.Password, SystemType: b.SystemType,
		InterfaceVersion: b.InterfaceVersion, AddressRange: b.AddressRange, RemoteAddr: ss.bind.RemoteAddr}
	status := pdu.StatusOK
	if srv.Authenticate != nil {
		status = srv.Authenticate(context.Background(), req)
	}
	*resp.Hdr() = pdu.Header{Status: status, Sequence: b.Sequence}
	systemID := srv.SystemID
	if systemID == "" {
		systemID = "switchboard"
	}
	if status == pdu.StatusOK {
		switch r := resp.(type) {
		case *pdu.BindTransmitterResp:
			r.SystemID = systemID
		case *pdu.BindReceiverResp:
			r.SystemID = systemID
		case *pdu.BindTransceiverResp:
			r.SystemID = systemID
		}
		ss.mu.Lock()
		ss.bind = req
		ss.mu.Unlock()
		ss.s.setState(boundState(m))
		ss.boundOnce.Do(func() { close(ss.bound) })
	}
	ss.s.respond(resp)
	if status == pdu.StatusOK && srv.OnBind != nil {
		srv.OnBind(ss)
	}
}

// Outbind asks the ESME at the other end of conn (which the server takes
// over) to bind as a receiver: it sends an outbind with systemID and
// password, serves the connection like an accepted one, and returns the
// session once the ESME has bound, or an error when ctx ends, the
// connection ends or the server closes first (the connection is then
// closed). OnBind is called as for any bind.
func (srv *Server) Outbind(ctx context.Context, conn net.Conn, systemID, password string) (*ServerSession, error) {
	ss := srv.serve(conn)
	if ss == nil {
		return nil, ErrServerClosed
	}
	ob := &pdu.Outbind{SystemID: systemID, Password: password}
	ob.Sequence = ss.s.seq.next()
	ss.s.respond(ob) // outbind has no response: it goes out like one
	select {
	case <-ss.bound:
		return ss, nil
	case <-ss.s.done:
		return nil, fmt.Errorf("smpp: outbind: %w", ss.s.cause())
	case <-ctx.Done():
		ss.s.close(ctx.Err())
		return nil, fmt.Errorf("smpp: outbind: %w", ctx.Err())
	}
}

// Shutdown stops accepting, unbinds every session (waiting for their
// answers and outstanding requests under ctx) and closes them. It returns
// ctx's error if that ends first, after closing what remains.
func (srv *Server) Shutdown(ctx context.Context) error {
	sessions := srv.stopAccepting()
	var wg sync.WaitGroup
	for _, ss := range sessions {
		if st := ss.s.state(); st == StateBoundTX || st == StateBoundRX || st == StateBoundTRX {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if call, err := ss.s.send(ctx, &pdu.Unbind{}); err == nil {
					ss.s.setState(StateUnbound)
					call.Wait(ctx)
				}
				ss.s.close(ErrServerClosed)
			}()
		} else {
			ss.s.close(ErrServerClosed)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); srv.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		srv.Close()
		<-done
		return ctx.Err()
	}
}

// Close closes the listeners and every session at once, and waits for the
// server's goroutines.
func (srv *Server) Close() error {
	for _, ss := range srv.stopAccepting() {
		ss.s.close(ErrServerClosed)
	}
	srv.wg.Wait()
	return nil
}

func (srv *Server) stopAccepting() []*ServerSession {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.closed = true
	for l := range srv.ls {
		l.Close()
	}
	var out []*ServerSession
	for ss := range srv.sessions {
		out = append(out, ss)
	}
	return out
}
