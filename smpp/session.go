package smpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Call is one request in flight: sent, waiting for its response. Its
// methods are safe for concurrent use.
type Call struct {
	Req      pdu.PDU
	resp     pdu.PDU
	err      error
	done     chan struct{}
	seq      uint32
	deadline time.Time
	sent     atomic.Bool // handed to the connection: the peer may have it
}

// Done is closed when the call completes.
func (c *Call) Done() <-chan struct{} { return c.done }

// Wait waits for the response, or for ctx. A response with a non-zero
// command_status is returned with a *StatusError. When ctx ends first the
// call stays in flight (its window slot is freed by the response or the
// response timeout).
func (c *Call) Wait(ctx context.Context) (pdu.PDU, error) {
	select {
	case <-c.done:
		return c.resp, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Result returns the response and error of a completed call.
func (c *Call) Result() (pdu.PDU, error) {
	<-c.done
	return c.resp, c.err
}

// sessionConfig is what the engine needs from Options.
type sessionConfig struct {
	window          int
	responseTimeout time.Duration
	maxPDULen       int
	// handle answers the peer's requests; nil answers generic_nack
	// ESME_RINVCMDID. It runs on the reader goroutine.
	handle func(s *session, p pdu.PDU)
	// observe, when set, sees the outcome of every response (nil or a
	// *StatusError), on the reader goroutine.
	observe func(err error)
}

// Stats are a session's counters.
type Stats struct {
	Sent          uint64 // requests written
	Received      uint64 // requests read from the peer
	Responses     uint64 // responses matched to their request
	Timeouts      uint64 // requests that got no response in time
	LateResponses uint64 // responses to requests no longer waited for (timed out) or unknown
	InFlight      int    // requests waiting for their response
	Flushes       uint64 // write system calls (one per batch of PDUs)
}

// session is one SMPP connection: per-session sequence numbers, a window
// of outstanding requests whose slot is reserved before the request is
// written, a writer that sends everything queued in one write, a reader
// that matches responses by sequence number, and a sweeper for response
// timeouts.
type session struct {
	conn net.Conn
	cfg  sessionConfig
	seq  sequencer

	slots chan struct{} // window: one token per outstanding request
	out   chan outItem  // to the writer

	mu      sync.Mutex
	pending map[uint32]*Call

	done      chan struct{} // closed when the session ends
	closeOnce sync.Once
	err       error // why it ended; set before done is closed
	wg        sync.WaitGroup

	sent, received, responses, timeouts, late, flushes atomic.Uint64
	st                                       atomic.Int32 // State
}

func (s *session) state() State {
	select {
	case <-s.done:
		return StateClosed
	default:
		return State(s.st.Load())
	}
}

func (s *session) setState(st State) { s.st.Store(int32(st)) }

type outItem struct {
	p    pdu.PDU
	call *Call // nil for responses
	// closeAfter, when set, ends the session once p has been written and
	// flushed (the unbind_resp must reach the peer before the close).
	closeAfter error
}

func newSession(conn net.Conn, cfg sessionConfig) *session {
	if cfg.window <= 0 {
		cfg.window = 100
	}
	if cfg.responseTimeout <= 0 {
		cfg.responseTimeout = 10 * time.Second
	}
	s := &session{
		conn:    conn,
		cfg:     cfg,
		slots:   make(chan struct{}, cfg.window),
		out:     make(chan outItem, cfg.window+64),
		pending: make(map[uint32]*Call, cfg.window),
		done:    make(chan struct{}),
	}
	return s
}

// start runs the session's goroutines. It is separate from newSession so
// that the owner can keep the session before its handler can be called.
func (s *session) start() {
	s.wg.Add(3)
	go s.writeLoop()
	go s.readLoop()
	go s.sweepLoop()
}

// send reserves a window slot (waiting under ctx when the window is full),
// registers the request and queues it for writing. The slot is held until
// the response, the response timeout, or the end of the session.
func (s *session) send(ctx context.Context, req pdu.PDU) (*Call, error) {
	select {
	case s.slots <- struct{}{}:
	case <-s.done:
		return nil, &SendError{Err: s.cause()}
	case <-ctx.Done():
		return nil, &SendError{Err: ctx.Err()}
	}
	c := &Call{Req: req, done: make(chan struct{}), seq: s.seq.next()}
	req.Hdr().Sequence = c.seq
	req.Hdr().Status = pdu.StatusOK
	c.deadline = time.Now().Add(s.cfg.responseTimeout)
	s.mu.Lock()
	if s.pending == nil { // closed meanwhile
		s.mu.Unlock()
		<-s.slots
		return nil, &SendError{Err: s.cause()}
	}
	s.pending[c.seq] = c
	s.mu.Unlock()
	select {
	case s.out <- outItem{p: req, call: c}:
		return c, nil
	case <-s.done:
		// close() fails the call (not sent) unless it already did.
		return c, nil
	}
}

// respond queues a response to the peer's request.
func (s *session) respond(p pdu.PDU) {
	select {
	case s.out <- outItem{p: p}:
	case <-s.done:
	}
}

func (s *session) writeLoop() {
	defer s.wg.Done()
	w := pdu.NewWriter(s.conn)
	for {
		var it outItem
		select {
		case it = <-s.out:
		case <-s.done:
			return
		}
		// Take everything queued, then write it with one system call.
		var closeAfter error
		for more := true; more; {
			s.write(w, it)
			if it.closeAfter != nil && closeAfter == nil {
				closeAfter = it.closeAfter
			}
			select {
			case it = <-s.out:
			default:
				more = false
			}
		}
		if err := w.Flush(); err != nil {
			s.close(fmt.Errorf("smpp: write: %w", err))
			return
		}
		s.flushes.Add(1)
		if closeAfter != nil {
			s.close(closeAfter)
			return
		}
	}
}

func (s *session) write(w *pdu.Writer, it outItem) {
	if it.call != nil {
		it.call.sent.Store(true) // from here on the peer may get it
	}
	if err := w.Write(it.p); err != nil {
		if it.call != nil {
			it.call.sent.Store(false) // an encoding error writes nothing
			s.finish(it.call.seq, nil, &SendError{Err: err})
		}
		return
	}
	if it.call != nil {
		s.sent.Add(1)
	}
}

func (s *session) readLoop() {
	defer s.wg.Done()
	r := pdu.NewReader(s.conn, s.cfg.maxPDULen)
	for {
		p, err := r.Read()
		if err != nil {
			var de *pdu.DecodeError
			if errors.As(err, &de) {
				s.answerMalformed(de)
				if !de.Fatal {
					continue
				}
			}
			s.close(fmt.Errorf("smpp: read: %w", err))
			return
		}
		if p.CommandID().IsResponse() {
			if !s.answer(p) {
				s.late.Add(1)
			}
			continue
		}
		s.received.Add(1)
		if s.cfg.handle != nil {
			s.cfg.handle(s, p)
		} else {
			s.respond(&pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID, Sequence: p.Hdr().Sequence}})
		}
	}
}

// answerMalformed answers a malformed PDU as the specification says.
func (s *session) answerMalformed(de *pdu.DecodeError) {
	if de.Command.IsResponse() && de.Command != 0 {
		return // responses are not answered
	}
	if de.Nack {
		s.respond(&pdu.GenericNack{Header: pdu.Header{Status: de.Status, Sequence: de.Sequence}})
		return
	}
	s.refuse(de.Command, de.Sequence, de.Status)
}

// refuse answers a request with an error status: with the command's own
// response, or generic_nack for an unknown command. outbind and
// alert_notification have no response and are not answered.
func (s *session) refuse(id pdu.CommandID, seq uint32, st pdu.Status) {
	switch {
	case id.HasResponse():
		if resp := newResponse(id.Response()); resp != nil {
			*resp.Hdr() = pdu.Header{Status: st, Sequence: seq}
			s.respond(resp)
			return
		}
	case id.Known():
		return
	}
	s.respond(&pdu.GenericNack{Header: pdu.Header{Status: st, Sequence: seq}})
}

// answerLink answers enquire_link, and unbind (which ends the session for
// the given reason). It reports whether p was one of them.
func (s *session) answerLink(p pdu.PDU, unbindReason string) bool {
	seq := p.Hdr().Sequence
	switch p.(type) {
	case *pdu.EnquireLink:
		s.respond(&pdu.EnquireLinkResp{Header: pdu.Header{Sequence: seq}})
	case *pdu.Unbind:
		s.setState(StateUnbound)
		// The session ends once the answer is on the wire: closing any
		// earlier could lose it.
		select {
		case s.out <- outItem{p: &pdu.UnbindResp{Header: pdu.Header{Sequence: seq}}, closeAfter: errors.New(unbindReason)}:
		case <-s.done:
		}
	default:
		return false
	}
	return true
}

// answer completes the call that resp (or a generic_nack) answers. A
// non-zero status becomes a *StatusError naming the call's request. The
// outcome is observed before the waiter is released, so that a retry sees
// the throttle it caused. It returns false when no call waits for resp
// (timed out, or unknown).
func (s *session) answer(resp pdu.PDU) bool {
	seq := resp.Hdr().Sequence
	s.mu.Lock()
	c := s.pending[seq]
	s.mu.Unlock()
	if c == nil {
		return false
	}
	var err error
	if st := resp.Hdr().Status; st != pdu.StatusOK {
		err = &StatusError{Command: c.Req.CommandID(), Status: st}
	}
	if s.cfg.observe != nil {
		s.cfg.observe(err)
	}
	return s.finish(seq, resp, err)
}

// finish completes the call with seq, if it is still pending.
func (s *session) finish(seq uint32, resp pdu.PDU, err error) bool {
	s.mu.Lock()
	c := s.pending[seq]
	if c != nil {
		delete(s.pending, seq)
	}
	s.mu.Unlock()
	if c == nil {
		return false
	}
	<-s.slots
	c.resp, c.err = resp, err
	if resp != nil {
		s.responses.Add(1)
	}
	close(c.done)
	return true
}

func (s *session) sweepLoop() {
	defer s.wg.Done()
	every := s.cfg.responseTimeout / 10
	if every < 5*time.Millisecond {
		every = 5 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			var expired []uint32
			s.mu.Lock()
			for seq, c := range s.pending {
				if now.After(c.deadline) {
					expired = append(expired, seq)
				}
			}
			s.mu.Unlock()
			for _, seq := range expired {
				if s.finish(seq, nil, ErrTimeout) {
					s.timeouts.Add(1)
				}
			}
		}
	}
}

// close ends the session: the connection is closed and every pending
// request fails with a *SendError saying whether it may have reached the
// peer. It waits for the session's goroutines unless called from one.
func (s *session) close(cause error) {
	s.closeOnce.Do(func() {
		if cause == nil {
			cause = ErrClosed
		} else if !errors.Is(cause, ErrClosed) {
			cause = fmt.Errorf("%w: %w", ErrClosed, cause)
		}
		s.err = cause
		close(s.done)
		s.conn.Close()
		s.mu.Lock()
		pending := s.pending
		s.pending = nil
		s.mu.Unlock()
		for _, c := range pending {
			<-s.slots
			c.err = &SendError{Err: cause, MayHaveReached: c.sent.Load()}
			close(c.done)
		}
	})
}

// wait waits for the session's goroutines to end (after close).
func (s *session) wait() { s.wg.Wait() }

func (s *session) cause() error {
	select {
	case <-s.done:
		return s.err
	default:
		return ErrClosed
	}
}

func (s *session) stats() Stats {
	s.mu.Lock()
	n := len(s.pending)
	s.mu.Unlock()
	return Stats{Sent: s.sent.Load(), Received: s.received.Load(), Responses: s.responses.Load(), Timeouts: s.timeouts.Load(),
		LateResponses: s.late.Load(), InFlight: n, Flushes: s.flushes.Load()}
}

// newResponse returns an empty response PDU of id, or nil.
func newResponse(id pdu.CommandID) pdu.PDU {
	b := make([]byte, pdu.HeaderLen)
	b[3] = pdu.HeaderLen
	b[4], b[5], b[6], b[7] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
	p, err := pdu.Decode(b)
	if err != nil {
		return nil
	}
	return p
}
