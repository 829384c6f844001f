package smpptest

import (
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Fault is a way an SMSC breaks the protocol or the link, for testing
// that a client ends each in a clear error or a recovered session:
// never a panic, a hang or a leaked goroutine. See SetFault.
type Fault int

// Faults. Each applies to the requests (submit_sm, data_sm, query_sm,
// ...) that arrive while it is set; enquire_link, bind and unbind are
// answered as usual unless the fault is about the link itself.
const (
	// FaultNone: the simulator behaves.
	FaultNone Fault = iota
	// FaultWrongResponse answers a request with the response of another
	// command (a deliver_sm_resp to a submit_sm), on its sequence number.
	FaultWrongResponse
	// FaultGenericNackOK answers with a generic_nack of status 0.
	FaultGenericNackOK
	// FaultMalformedResponse answers with a response whose body does not
	// decode (a submit_sm_resp whose message_id lacks its NUL).
	FaultMalformedResponse
	// FaultPartialThenStall writes the first half of a response and then
	// nothing at all: the connection stays open, the ESME's reader waits
	// in the middle of a PDU (enquire_link is not answered either).
	FaultPartialThenStall
	// FaultReorder answers requests in groups of FaultReorderGroup, last
	// first (a real SMSC answers in the order its back end finishes).
	FaultReorder
	// FaultSlowReads reads the ESME's bytes slowly (a short pause before
	// every read), as an overloaded SMSC does: TCP pushes back.
	FaultSlowReads
	// FaultDropAfterBind accepts binds and drops the connection
	// FaultDropAfter later (an SMSC that accepts, then cannot serve).
	FaultDropAfterBind
)

const (
	// FaultReorderGroup is how many requests FaultReorder answers at once.
	FaultReorderGroup = 4
	// FaultDropAfter is how long after its bind FaultDropAfterBind drops
	// a session.
	FaultDropAfter = 200 * time.Millisecond
	// slowReadPause is FaultSlowReads' pause before each read.
	slowReadPause = 50 * time.Millisecond
)

func (f Fault) String() string {
	return [...]string{"none", "wrong response", "generic_nack 0", "malformed response", "partial then stall",
		"reorder", "slow reads", "drop after bind"}[f]
}

// Faults lists every fault, for tests that run through them.
func Faults() []Fault {
	return []Fault{FaultWrongResponse, FaultGenericNackOK, FaultMalformedResponse, FaultPartialThenStall,
		FaultReorder, FaultSlowReads, FaultDropAfterBind}
}

// SetFault makes the simulator misbehave as f from now on (FaultNone
// stops it). Sessions stalled by FaultPartialThenStall stay stalled.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	ln := s.ln
	s.mu.Unlock()
	ln.setSlow(f == FaultSlowReads)
}

func (s *Server) currentFault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// hostile answers req as the current fault says, and reports whether it
// did (false: answer normally with resp).
func (s *Server) hostile(ss *smpp.ServerSession, req, resp pdu.PDU) bool {
	seq := req.Hdr().Sequence
	switch s.currentFault() {
	case FaultWrongResponse:
		ss.Respond(req, &pdu.DeliverSMResp{})
	case FaultGenericNackOK:
		ss.Respond(req, &pdu.GenericNack{})
	case FaultMalformedResponse:
		s.ln.writeRaw(ss.Bind().RemoteAddr, malformedResp(req.CommandID().Response(), seq))
	case FaultPartialThenStall:
		full, err := withSeq(resp, seq).Encode(nil)
		if err != nil {
			return false
		}
		s.ln.stall(ss.Bind().RemoteAddr, full[:len(full)/2])
	case FaultReorder:
		s.reorder.add(ss, req, resp)
	default:
		return false
	}
	return true
}

func withSeq(p pdu.PDU, seq uint32) pdu.PDU {
	p.Hdr().Sequence = seq
	return p
}

// malformedResp is a response of command id with a C-string body that
// lacks its terminating NUL.
func malformedResp(id pdu.CommandID, seq uint32) []byte {
	body := []byte("no-nul")
	b := make([]byte, 16, 16+len(body))
	binary.BigEndian.PutUint32(b[0:], uint32(16+len(body)))
	binary.BigEndian.PutUint32(b[4:], uint32(id))
	binary.BigEndian.PutUint32(b[12:], seq)
	return append(b, body...)
}

// reorderer holds answers to give them back, last first, by groups.
type reorderer struct {
	mu      sync.Mutex
	pending map[*smpp.ServerSession][][2]pdu.PDU // request, response
}

func (r *reorderer) add(ss *smpp.ServerSession, req, resp pdu.PDU) {
	r.mu.Lock()
	if r.pending == nil {
		r.pending = map[*smpp.ServerSession][][2]pdu.PDU{}
	}
	q := append(r.pending[ss], [2]pdu.PDU{req, resp})
	if len(q) < FaultReorderGroup {
		r.pending[ss] = q
		first := len(q) == 1
		r.mu.Unlock()
		if first { // a group that does not fill up is answered anyway
			time.AfterFunc(20*time.Millisecond, func() { r.flush(ss) })
		}
		return
	}
	delete(r.pending, ss)
	r.mu.Unlock()
	answerReversed(ss, q)
}

func (r *reorderer) flush(ss *smpp.ServerSession) {
	r.mu.Lock()
	q := r.pending[ss]
	delete(r.pending, ss)
	r.mu.Unlock()
	answerReversed(ss, q)
}

func answerReversed(ss *smpp.ServerSession, q [][2]pdu.PDU) {
	for _, rr := range slices.Backward(q) {
		ss.Respond(rr[0], rr[1])
	}
}

// dropAfterBind closes a session's connection FaultDropAfter after its
// bind, when that fault is set.
func (s *Server) dropAfterBind(ss *smpp.ServerSession) {
	if s.currentFault() != FaultDropAfterBind {
		return
	}
	addr := ss.Bind().RemoteAddr
	time.AfterFunc(FaultDropAfter, func() { s.ln.drop(addr) })
}

func (l *faultListener) conn(addr net.Addr) *faultConn {
	if addr == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, _ := l.conns[addr.String()].(*faultConn)
	return c
}

func (l *faultListener) writeRaw(addr net.Addr, b []byte) {
	if c := l.conn(addr); c != nil {
		c.Write(b)
	}
}

// stall writes b and then nothing more on the connection: every later
// write (the session's, the keepalive's answers) is swallowed.
func (l *faultListener) stall(addr net.Addr, b []byte) {
	if c := l.conn(addr); c != nil {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if !c.stalled {
			c.Conn.Write(b)
			c.stalled = true
		}
	}
}

func (l *faultListener) drop(addr net.Addr) {
	if c := l.conn(addr); c != nil {
		c.Close()
	}
}

func (l *faultListener) setSlow(slow bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.slow = slow
}

func (l *faultListener) isSlow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.slow
}
