package smpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
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
	seq      uint32
	deadline int64       // UnixNano
	sent     atomic.Bool // handed to the connection: the peer may have it
	slotless bool        // sent outside the window (enquire_link): frees no slot
	// finished is set once resp and err are; done is made only when
	// someone waits before that (most calls of a full window complete
	// before anyone looks), and closed by the completion.
	finished atomic.Bool
	done     atomic.Pointer[chan struct{}]

	// late is made when the call times out and is kept for a late
	// answer; closed with lateResp and lateErr set (TimeoutError.WaitLate).
	late     chan struct{}
	lateResp pdu.PDU
	lateErr  error
}

// closedChan is every completed call's Done.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// completedDone marks done as taken by the completion.
var completedDone = &closedChan

// Done is closed when the call completes.
func (c *Call) Done() <-chan struct{} {
	if c.finished.Load() {
		return closedChan
	}
	ch := make(chan struct{})
	if c.done.CompareAndSwap(nil, &ch) {
		return ch // the completion closes it
	}
	return *c.done.Load() // another waiter's, or closedChan
}

// finish records the outcome and wakes the waiters. It runs once.
func (c *Call) finish(resp pdu.PDU, err error) {
	c.resp, c.err = resp, err
	c.finished.Store(true)
	if ch := c.done.Swap(completedDone); ch != nil && ch != completedDone {
		close(*ch)
	}
}

// Wait waits for the response, or for ctx. A response with a non-zero
// command_status is returned with a *StatusError. When ctx ends first the
// call stays in flight (its window slot is freed by the response or the
// response timeout) and Wait returns a *SendError wrapping ctx.Err(),
// with MayHaveReached set when the request was written: the peer may
// act on it, so sending it again may duplicate it.
func (c *Call) Wait(ctx context.Context) (pdu.PDU, error) {
	if c.finished.Load() {
		return c.resp, c.err
	}
	select {
	case <-c.Done():
		return c.resp, c.err
	case <-ctx.Done():
		return nil, &SendError{Err: ctx.Err(), MayHaveReached: c.sent.Load()}
	}
}

// Result returns the response and error of a completed call, waiting
// for it to complete.
func (c *Call) Result() (pdu.PDU, error) {
	if !c.finished.Load() {
		<-c.Done()
	}
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

	slots *window   // one slot per outstanding request
	out   *outQueue // to the writer

	mu      sync.Mutex
	pending *pendingTable // nil once closed
	expired lateTable     // timed-out requests still answerable
	queries lateTable     // timed-out query_sm still answerable, apart so they never crowd out the messages

	done      chan struct{} // closed when the session ends
	closeOnce sync.Once
	err       error // why it ended; set before done is closed
	wg        sync.WaitGroup

	sent, received, responses, timeouts, late, flushes atomic.Uint64
	st                                                 atomic.Int32  // State
	reads                                              atomic.Uint64 // PDUs read, malformed ones too (the keepalive watches it)

	// clock is a coarse now (UnixNano) kept by the sweeper, so that a
	// request's deadline costs no clock read; tick is its period.
	clock atomic.Int64
	tick  time.Duration
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
		slots:   newWindow(cfg.window),
		out:     newOutQueue(cfg.window + 64),
		pending: newPendingTable(cfg.window),
		expired: lateTable{max: 4 * cfg.window},
		queries: lateTable{max: cfg.window},
		done:    make(chan struct{}),
		tick:    max(cfg.responseTimeout/10, 5*time.Millisecond),
	}
	s.clock.Store(time.Now().UnixNano())
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
//
// The deadline is the coarse clock plus the response timeout plus one
// tick: a request never expires early, and at most two ticks late.
func (s *session) send(ctx context.Context, req pdu.PDU) (*Call, error) {
	if ok, err := s.slots.acquire(ctx, s.done); !ok {
		if err == nil {
			err = s.cause()
		}
		return nil, &SendError{Err: err}
	}
	c := &Call{Req: req, seq: s.seq.next()}
	req.Hdr().Sequence = c.seq
	req.Hdr().Status = pdu.StatusOK
	c.deadline = s.clock.Load() + int64(s.cfg.responseTimeout+s.tick)
	s.mu.Lock()
	if s.pending == nil { // closed meanwhile
		s.mu.Unlock()
		s.slots.release()
		return nil, &SendError{Err: s.cause()}
	}
	s.pending.put(c)
	s.mu.Unlock()
	// Unbounded: the window bounds requests. If the session closes
	// before the writer takes it, close() fails the call (not sent).
	s.out.put(outItem{p: req, call: c}, false, s.done)
	return c, nil
}

// sendControl sends a request outside the window (enquire_link): it
// never waits for a slot, so a full window of slow requests cannot keep
// the keepalive from going out.
func (s *session) sendControl(req pdu.PDU) (*Call, error) {
	c := &Call{Req: req, seq: s.seq.next(), slotless: true}
	req.Hdr().Sequence = c.seq
	req.Hdr().Status = pdu.StatusOK
	c.deadline = s.clock.Load() + int64(s.cfg.responseTimeout+s.tick)
	s.mu.Lock()
	if s.pending == nil {
		s.mu.Unlock()
		return nil, &SendError{Err: s.cause()}
	}
	s.pending.put(c)
	s.mu.Unlock()
	s.out.put(outItem{p: req, call: c}, false, s.done)
	return c, nil
}

// respond queues a response to the peer's request.
func (s *session) respond(p pdu.PDU) {
	s.out.put(outItem{p: p}, true, s.done)
}

func (s *session) writeLoop() {
	defer s.wg.Done()
	w := pdu.NewWriter(s.conn)
	var batch []outItem
	for {
		select {
		case <-s.out.wake:
		case <-s.done:
			return
		}
		// Take everything queued, until nothing is, then write it with
		// one system call (the buffer also flushes itself when full).
		var closeAfter error
		written := 0
		runtime.Gosched() // let running producers add to the batch
		for {
			batch = s.out.take(batch)
			if len(batch) == 0 {
				break
			}
			for i := range batch {
				s.write(w, batch[i])
				if batch[i].closeAfter != nil && closeAfter == nil {
					closeAfter = batch[i].closeAfter
				}
				batch[i] = outItem{} // let the PDU go
			}
			written += len(batch)
		}
		if written == 0 {
			continue // a wake-up for items already written
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
		s.reads.Add(1) // anything read, even malformed, says the link is alive
		if err != nil {
			var de *pdu.DecodeError
			if errors.As(err, &de) {
				s.answerUndecodable(de)
				s.answerMalformed(de)
				if !de.Fatal {
					continue
				}
			}
			s.close(fmt.Errorf("smpp: read: %w", err))
			return
		}
		if p.CommandID().IsResponse() {
			s.answer(p) // or counted late
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
		if resp := pdu.New(id.Response()); resp != nil {
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
		s.out.put(outItem{p: &pdu.UnbindResp{Header: pdu.Header{Sequence: seq}}, closeAfter: errors.New(unbindReason)}, true, s.done)
	default:
		return false
	}
	return true
}

// answer completes the call that resp (or a generic_nack) answers. A
// non-zero status becomes a *StatusError naming the call's request; a
// response of another command, or a generic_nack of status 0, a
// *ResponseError (the call fails at once, never with a response of a
// type its caller does not expect). The outcome is observed before the
// waiter is released, so that a retry sees the throttle it caused. It
// returns false when no call waits for resp (timed out, or unknown).
func (s *session) answer(resp pdu.PDU) bool {
	c := s.take(resp.Hdr().Sequence)
	if c == nil {
		return s.answerLate(resp)
	}
	resp, err := outcome(c, resp)
	if s.cfg.observe != nil {
		s.cfg.observe(err)
	}
	s.complete(c, resp, err)
	return true
}

// outcome is what a call gets for resp: resp itself, or an error.
func outcome(c *Call, resp pdu.PDU) (pdu.PDU, error) {
	var err error
	st := resp.Hdr().Status
	switch got, want := resp.CommandID(), c.Req.CommandID().Response(); {
	case got == want && st == pdu.StatusOK:
	case got == want || (got == pdu.GenericNackID && st != pdu.StatusOK):
		err = &StatusError{Command: c.Req.CommandID(), Status: st}
	default:
		err = &ResponseError{Request: c.Req.CommandID(), Got: got}
	}
	if err != nil {
		resp = nil // the caller gets no response of the wrong type
	}
	return resp, err
}

// answerLate gives resp to the timed-out call it answers, if the session
// still keeps it. It returns false when no call was found: the response
// is then counted as late and dropped. A late answer is counted late too.
func (s *session) answerLate(resp pdu.PDU) bool {
	s.late.Add(1)
	s.mu.Lock()
	c := s.takeLate(resp.Hdr().Sequence)
	s.mu.Unlock()
	if c == nil {
		return false
	}
	c.endLate(outcome(c, resp))
	return true
}

// answerUndecodable fails at once the call a response that could not be
// decoded answers (rather than letting it wait for its timeout): the
// request reached the peer.
func (s *session) answerUndecodable(de *pdu.DecodeError) {
	if !de.Command.IsResponse() && de.Command != pdu.GenericNackID {
		return
	}
	if c := s.take(de.Sequence); c != nil {
		s.complete(c, nil, &ResponseError{Request: c.Req.CommandID(), Got: de.Command, Err: de})
		return
	}
	s.mu.Lock()
	c := s.takeLate(de.Sequence)
	s.mu.Unlock()
	if c != nil {
		s.late.Add(1)
		c.endLate(nil, &ResponseError{Request: c.Req.CommandID(), Got: de.Command, Err: de})
	}
}

// take removes the call with seq from the pending ones, if it is there:
// whoever takes it completes it.
func (s *session) take(seq uint32) *Call {
	s.mu.Lock()
	var c *Call
	if s.pending != nil {
		c = s.pending.take(seq)
	}
	s.mu.Unlock()
	return c
}

// finish completes the call with seq, if it is still pending.
func (s *session) finish(seq uint32, resp pdu.PDU, err error) bool {
	c := s.take(seq)
	if c == nil {
		return false
	}
	s.complete(c, resp, err)
	return true
}

// complete frees c's window slot and releases its waiters.
func (s *session) complete(c *Call, resp pdu.PDU, err error) {
	if !c.slotless {
		s.slots.release()
	}
	if resp != nil {
		s.responses.Add(1)
	}
	c.finish(resp, err)
}

// lateTableOf returns the table a timed-out call is kept in for its late
// answer, or nil: requests that make a message (submit_sm, data_sm,
// submit_multi), whose late answer saves sending it again, in one; query_sm,
// whose late answer still tells a message's state, in another of one
// window, so that queries never crowd the messages out. Keepalives and
// the rest are not kept.
func (s *session) lateTableOf(c *Call) *lateTable {
	if c.slotless {
		return nil
	}
	switch c.Req.CommandID() {
	case pdu.SubmitSMID, pdu.DataSMID, pdu.SubmitMultiID:
		return &s.expired
	case pdu.QuerySMID:
		return &s.queries
	}
	return nil
}

// takeLate removes the timed-out call with seq from the late tables.
// The caller holds s.mu.
func (s *session) takeLate(seq uint32) *Call {
	if c := s.expired.take(seq); c != nil {
		return c
	}
	return s.queries.take(seq)
}

// expire fails the call with seq, if still pending, with a
// *TimeoutError kept for a late answer (see lateTableOf), else with
// ErrTimeout.
func (s *session) expire(seq uint32) {
	var forgot *Call
	s.mu.Lock()
	var c *Call
	if s.pending != nil {
		if c = s.pending.take(seq); c != nil {
			if t := s.lateTableOf(c); t != nil {
				c.late = make(chan struct{})
				forgot = t.put(c)
			}
		}
	}
	s.mu.Unlock()
	if c == nil {
		return
	}
	s.timeouts.Add(1)
	if c.late == nil {
		s.complete(c, nil, ErrTimeout)
	} else {
		s.complete(c, nil, &TimeoutError{call: c})
	}
	if forgot != nil {
		forgot.endLate(nil, &SendError{Err: ErrLateForgotten, MayHaveReached: true})
	}
}

func (s *session) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			nowNano := now.UnixNano()
			s.clock.Store(nowNano)
			var expired []uint32
			s.mu.Lock()
			if s.pending != nil {
				s.pending.each(func(c *Call) {
					if nowNano > c.deadline {
						expired = append(expired, c.seq)
					}
				})
			}
			s.mu.Unlock()
			for _, seq := range expired {
				s.expire(seq)
			}
		}
	}
}

// keepalive checks the link while the session is bound, until stop or
// the end of the session. It sends enquire_link only when nothing was
// read for the interval (a busy link proves itself), outside the window
// (a full window of slow requests does not hold it up), and closes the
// session only when neither its answer nor anything else arrived within
// the response timeout: a session receiving responses is alive, however
// slow the peer is with enquire_link.
func (s *session) keepalive(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(max(every/4, time.Millisecond))
	defer t.Stop()
	seen, since := s.reads.Load(), time.Now()
	for {
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case now := <-t.C:
			if st := s.state(); st != StateBoundTX && st != StateBoundRX && st != StateBoundTRX {
				continue
			}
			if n := s.reads.Load(); n != seen {
				seen, since = n, now // something arrived: the link is alive
				continue
			}
			if now.Sub(since) < every {
				continue
			}
		}
		call, err := s.sendControl(&pdu.EnquireLink{})
		if err != nil {
			return // the session ended
		}
		before := s.reads.Load()
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case <-call.Done():
		}
		if call.err != nil && !Temporary(call.err) && !s.readSince(before, max(every, s.cfg.responseTimeout), t.C, stop) {
			select {
			case <-stop:
				return // closing anyway
			default:
			}
			s.close(fmt.Errorf("smpp: enquire_link: %w", call.err))
			return
		}
		seen, since = s.reads.Load(), time.Now()
	}
}

// readSince reports whether anything was read after the count before,
// waiting up to grace for it: a peer slower than the response timeout
// (its late answers, the enquire_link_resp among them, still come) is
// alive; only one that sends nothing at all is dead. It checks at every
// tick, and returns false at once when the session ends or stop closes.
func (s *session) readSince(before uint64, grace time.Duration, tick <-chan time.Time, stop <-chan struct{}) bool {
	deadline := time.Now().Add(grace)
	for {
		if s.reads.Load() != before {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		select {
		case <-stop:
			return false
		case <-s.done:
			return false
		case <-tick:
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
		expired := append(s.expired.drain(), s.queries.drain()...)
		s.mu.Unlock()
		for _, c := range expired {
			c.endLate(nil, &SendError{Err: cause, MayHaveReached: true})
		}
		pending.each(func(c *Call) {
			if !c.slotless {
				s.slots.release()
			}
			c.finish(nil, &SendError{Err: cause, MayHaveReached: c.sent.Load()})
		})
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
	n := 0
	if s.pending != nil {
		n = s.pending.len()
	}
	s.mu.Unlock()
	return Stats{Sent: s.sent.Load(), Received: s.received.Load(), Responses: s.responses.Load(), Timeouts: s.timeouts.Load(),
		LateResponses: s.late.Load(), InFlight: n, Flushes: s.flushes.Load()}
}
