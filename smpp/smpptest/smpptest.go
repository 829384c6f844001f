// Package smpptest is an SMSC simulator for tests and demos, built on
// smpp.Server: it authenticates binds, assigns message ids, sends delivery
// receipts after a delay with a configurable mix of outcomes, injects
// mobile-originated messages, throttles, adds latency, and injects faults
// (dropped connections, an SMSC that stops answering, garbage on the
// wire, a restart), including a hostile SMSC that breaks the protocol in
// each of the ways clients must survive (SetFault).
//
// Like net/http/httptest, NewServer starts one on a loopback port:
//
//	sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: 10 * time.Millisecond})
//	defer sim.Close()
//	c, err := smpp.Dial(ctx, sim.Addr, &smpp.Options{SystemID: "test", Password: "pw"})
//
// The simulator keeps every message it accepted (Submitted) and every
// receipt it owes until it is acknowledged: by the session that submitted
// the message when that one can receive, else by any receiver bound with
// the same system_id, across Restart, as a real SMSC keeps them in its store. It is meant
// for tests and load runs of up to a few million messages: nothing is
// ever evicted.
package smpptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Config configures a simulator. The zero value accepts any bind, answers
// at once, and delivers every message (receipt stat DELIVRD) right away
// when a receipt is asked for.
type Config struct {
	// SystemID and Password, when SystemID is set, are the only
	// credentials accepted (else ESME_RINVSYSID or ESME_RINVPASWD).
	SystemID, Password string
	// SMSCSystemID is given in bind responses (default "SMPPSIM").
	SMSCSystemID string

	// ReceiptDelay is the time from accepting a message to sending its
	// receipt. Shorter than Latency, receipts arrive before the
	// submit_sm_resp (real SMSCs do that too).
	ReceiptDelay time.Duration
	// Outcomes are the weights of the final states drawn per message
	// (all zero: every message DELIVRD).
	Outcomes Outcomes
	// Latency delays every response to the ESME's requests (without
	// holding up the session: later requests are read meanwhile).
	Latency time.Duration
	// TLSConfig, when set, makes the simulator listen with TLS (it needs
	// a certificate); faults that write raw bytes write them inside TLS.
	TLSConfig *tls.Config
	// TPS caps each session's requests per second, with bursts of up to
	// TPSBurst (see smpp.Server); the excess is answered with
	// ESME_RTHROTTLED.
	TPS, TPSBurst int
	// Refuse, when set, may refuse a submit_sm with a status (e.g.
	// pdu.StatusInvDstAdr for a permanent error, pdu.StatusMsgQFul for a
	// temporary one); pdu.StatusOK accepts it. It may be called from
	// several goroutines.
	Refuse func(sm *pdu.SubmitSM) pdu.Status

	// Message ids are decimal numbers counting up from the simulator's
	// start time in microseconds, so that simulators started one after
	// the other never repeat an id (Restart keeps counting).
	// HexIDs makes message ids lower-case hex ("1f4"), as many SMSCs do;
	// with ReceiptIDDecimal the receipts then carry the same id in
	// decimal ("500"), a quirk of real SMSCs that clients must match.
	HexIDs           bool
	ReceiptIDDecimal bool
	// FirstID, when set, is the first message id (as a number), for tests
	// that want small, known ids.
	FirstID uint64
	// MOInjector is the system_id of an ESME (bound with any password)
	// whose submit_sm are not messages to phones but replies from them,
	// for demos: each is delivered as an MO, from its source_addr to its
	// destination_addr, to a bound receiver of another system_id, split
	// as needed (send the text in message_payload to pass a long one),
	// and its submit_sm_resp comes once that receiver acknowledged it,
	// with the receiver's status (ESME_RSYSERR when none is bound).
	MOInjector string

	// Seed seeds the outcome draw (0: a fixed seed), so runs repeat.
	Seed uint64
	// WindowSize and ResponseTimeout are for the simulator's own
	// requests (deliver_sm), as in smpp.Options.
	WindowSize      int
	ResponseTimeout time.Duration
}

// Outcomes are weights (not percentages: any non-negative numbers) of a
// message's final state.
type Outcomes struct {
	Delivered, Undeliverable, Expired, Rejected int
}

// Final states, as receipts write them.
const (
	StatDelivered     = "DELIVRD"
	StatUndeliverable = "UNDELIV"
	StatExpired       = "EXPIRED"
	StatRejected      = "REJECTD"
	StatDeleted       = "DELETED"
)

// Submission is a message the simulator accepted.
type Submission struct {
	SystemID  string // the ESME's
	MessageID string // as given in submit_sm_resp
	Source    string
	Dest      string
	// Text is the short_message (or message_payload) decoded by its
	// data_coding, the UDH removed; Raw is the user data as received.
	Text       string
	Raw        []byte
	DataCoding uint8
	// Concat is set for a part of a long message.
	Concat             coding.Concat
	RegisteredDelivery uint8
	At                 time.Time
	// Stat is the final state drawn for it (see Outcomes).
	Stat string
}

// Stats are the simulator's counters.
type Stats struct {
	Binds, Submits, Refused uint64
	// Receipts is the number acknowledged by the ESME, ReceiptsPending the
	// number owed (waiting for their time or for a bound receiver).
	Receipts, ReceiptsPending uint64
	MO                        uint64 // mobile-originated messages acknowledged
	Unanswered, Garbage       uint64 // requests left unanswered or answered with garbage by a fault
	Sessions                  int    // bound sessions now
}

// Server is a running simulator.
type Server struct {
	// Addr is the address it listens on (host:port), the same across
	// Restart.
	Addr string

	cfg Config

	mu       sync.Mutex
	smsc     *smpp.Server
	ln       *faultListener
	serving  chan struct{} // closed when Serve returns
	sessions map[*smpp.ServerSession]struct{}
	subs     []Submission
	byID     map[string]int // message id -> index in subs
	changed  chan struct{}  // closed and replaced on each submission
	rng      *rand.Rand
	nextID   uint64
	stats    Stats
	mute     bool
	garbage  int
	closed   bool
	fault    Fault
	reorder  reorderer

	receipts *receiptQueue
}

// NewServer starts a simulator on a free loopback port. It panics if it
// cannot listen, as httptest.NewServer does; use Start to get the error.
func NewServer(cfg *Config) *Server {
	s, err := Start("127.0.0.1:0", cfg)
	if err != nil {
		panic("smpptest: " + err.Error())
	}
	return s
}

// Start starts a simulator listening on addr.
func Start(addr string, cfg *Config) (*Server, error) {
	s := &Server{byID: map[string]int{}, changed: make(chan struct{}),
		sessions: map[*smpp.ServerSession]struct{}{}}
	if cfg != nil {
		s.cfg = *cfg
	}
	// Message ids count up from the start time in microseconds: a new
	// simulator (a process restarted) never gives an id an earlier one
	// gave, as a real SMSC's ids are unique within its lifetime.
	s.nextID = uint64(time.Now().UnixMicro())
	if s.cfg.FirstID > 0 {
		s.nextID = s.cfg.FirstID - 1
	}
	seed := s.cfg.Seed
	if seed == 0 {
		seed = 1
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.receipts = newReceiptQueue(s)
	if err := s.listen(addr); err != nil {
		return nil, err
	}
	s.Addr = s.ln.Addr().String()
	s.receipts.wg.Add(1)
	go s.receipts.run()
	return s, nil
}

func (s *Server) listen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fl := &faultListener{Listener: l, conns: map[string]net.Conn{}, tls: s.cfg.TLSConfig}
	smsc := &smpp.Server{
		SystemID:        s.cfg.SMSCSystemID,
		Authenticate:    s.authenticate,
		Handler:         smpp.ServerHandlerFunc(s.handle),
		OnBind:          s.onBind,
		OnClose:         s.onClose,
		TPS:             s.cfg.TPS,
		TPSBurst:        s.cfg.TPSBurst,
		WindowSize:      s.cfg.WindowSize,
		ResponseTimeout: s.cfg.ResponseTimeout,
	}
	if smsc.SystemID == "" {
		smsc.SystemID = "SMPPSIM"
	}
	serving := make(chan struct{})
	s.mu.Lock()
	s.smsc, s.ln, s.serving = smsc, fl, serving
	s.mu.Unlock()
	go func() {
		defer close(serving)
		smsc.Serve(fl)
	}()
	return nil
}

// Close stops the simulator: every connection is closed at once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	smsc, serving := s.smsc, s.serving
	s.mu.Unlock()
	smsc.Close()
	<-serving
	s.receipts.stop()
}

// Restart simulates an SMSC restart: every connection is dropped and the
// listener closed, then after down (which may be 0) it listens again on
// the same address. Accepted messages and owed receipts survive.
func (s *Server) Restart(down time.Duration) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("smpptest: restart of a closed server")
	}
	smsc, serving := s.smsc, s.serving
	s.mu.Unlock()
	smsc.Close()
	<-serving
	time.Sleep(down)
	var err error
	for try := 0; try < 50; try++ { // the port may linger a moment
		if err = s.listen(s.Addr); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("smpptest: restart: %w", err)
}

func (s *Server) authenticate(ctx context.Context, b smpp.BindRequest) pdu.Status {
	if s.cfg.SystemID == "" || (s.cfg.MOInjector != "" && b.SystemID == s.cfg.MOInjector) {
		return pdu.StatusOK
	}
	if b.SystemID != s.cfg.SystemID {
		return pdu.StatusInvSysID
	}
	if b.Password != s.cfg.Password {
		return pdu.StatusInvPaswd
	}
	return pdu.StatusOK
}

func (s *Server) onBind(ss *smpp.ServerSession) {
	s.mu.Lock()
	s.sessions[ss] = struct{}{}
	s.stats.Binds++
	s.mu.Unlock()
	s.receipts.wake()
	s.dropAfterBind(ss)
}

func (s *Server) onClose(ss *smpp.ServerSession) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

// handle answers the ESME's requests (on the session's reader).
func (s *Server) handle(ctx context.Context, ss *smpp.ServerSession, req pdu.PDU) pdu.PDU {
	s.mu.Lock()
	mute, garbage := s.mute, s.garbage > 0
	if mute {
		s.stats.Unanswered++
	} else if garbage {
		s.garbage--
		s.stats.Garbage++
	}
	s.mu.Unlock()
	switch {
	case mute:
		return nil // never answered
	case garbage:
		s.ln.garble(ss.Bind().RemoteAddr)
		return nil
	}
	var resp pdu.PDU
	switch r := req.(type) {
	case *pdu.SubmitSM:
		if s.cfg.MOInjector != "" && ss.Bind().SystemID == s.cfg.MOInjector {
			go s.injectMO(ctx, ss, r)
			return nil
		}
		resp = s.submit(ss, r)
	case *pdu.DataSM:
		resp = s.dataSM(ss, r)
	case *pdu.QuerySM:
		resp = s.query(r)
	default:
		resp = &pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID}}
		if r := pdu.New(req.CommandID().Response()); r != nil {
			r.Hdr().Status = pdu.StatusInvCmdID
			resp = r
		}
	}
	if s.hostile(ss, req, resp) {
		return nil
	}
	if s.cfg.Latency <= 0 {
		return resp
	}
	time.AfterFunc(s.cfg.Latency, func() { ss.Respond(req, resp) })
	return nil
}

func (s *Server) submit(ss *smpp.ServerSession, sm *pdu.SubmitSM) pdu.PDU {
	if s.cfg.Refuse != nil {
		if st := s.cfg.Refuse(sm); st != pdu.StatusOK {
			s.mu.Lock()
			s.stats.Refused++
			s.mu.Unlock()
			return &pdu.SubmitSMResp{Header: pdu.Header{Status: st}}
		}
	}
	id := s.accept(ss, sm)
	return &pdu.SubmitSMResp{MessageID: id}
}

func (s *Server) dataSM(ss *smpp.ServerSession, d *pdu.DataSM) pdu.PDU {
	sm := &pdu.SubmitSM{SourceAddr: d.SourceAddr, DestinationAddr: d.DestinationAddr, ESMClass: d.ESMClass,
		RegisteredDelivery: d.RegisteredDelivery, DataCoding: d.DataCoding, TLVs: d.TLVs}
	if s.cfg.Refuse != nil {
		if st := s.cfg.Refuse(sm); st != pdu.StatusOK {
			s.mu.Lock()
			s.stats.Refused++
			s.mu.Unlock()
			return &pdu.DataSMResp{Header: pdu.Header{Status: st}}
		}
	}
	return &pdu.DataSMResp{MessageID: s.accept(ss, sm)}
}

// accept records a message, draws its outcome and schedules its receipt.
func (s *Server) accept(ss *smpp.ServerSession, sm *pdu.SubmitSM) string {
	now := time.Now()
	sub := Submission{SystemID: ss.Bind().SystemID, Source: sm.SourceAddr, Dest: sm.DestinationAddr,
		DataCoding: sm.DataCoding, RegisteredDelivery: sm.RegisteredDelivery, At: now}
	ud := sm.ShortMessage
	if p, ok := sm.TLVs.MessagePayload(); ok && len(ud) == 0 {
		ud = p
	}
	sub.Raw = append([]byte(nil), ud...)
	var locking, single coding.Language
	if sm.ESMClass&coding.ESMClassUDHI != 0 {
		if ies, payload, err := coding.ParseUDH(ud); err == nil {
			ud = payload
			sub.Concat, _ = coding.ConcatFromUDH(ies)
			locking, single = coding.LanguagesFromUDH(ies)
		}
	} else if c, ok := coding.ConcatFromTLVs(sm.TLVs); ok {
		sub.Concat = c
	}
	if dc := coding.DataCoding(sm.DataCoding); dc.Alphabet() == coding.GSM7 && locking|single != coding.DefaultLanguage {
		sub.Text, _ = coding.DecodeGSM7Lang(ud, locking, single)
	} else {
		sub.Text, _ = coding.Decode(ud, dc)
	}

	s.mu.Lock()
	s.nextID++
	n := s.nextID
	if s.cfg.HexIDs {
		sub.MessageID = strconv.FormatUint(n, 16)
	} else {
		sub.MessageID = strconv.FormatUint(n, 10)
	}
	sub.Stat = s.drawLocked()
	s.byID[sub.MessageID] = len(s.subs)
	s.subs = append(s.subs, sub)
	s.stats.Submits++
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	want := sm.RegisteredDelivery & 0x03
	if want == 1 || (want == 2 && sub.Stat != StatDelivered) {
		receiptID := sub.MessageID
		if s.cfg.HexIDs && s.cfg.ReceiptIDDecimal {
			receiptID = strconv.FormatUint(n, 10)
		}
		s.receipts.add(owed{systemID: sub.SystemID, origin: ss, due: now.Add(s.cfg.ReceiptDelay), receipt: coding.Receipt{
			ID: receiptID, Submitted: 1, Delivered: boolInt(sub.Stat == StatDelivered),
			SubmitDate: now, DoneDate: now.Add(s.cfg.ReceiptDelay), Stat: sub.Stat, Err: errCode(sub.Stat),
			Text: sub.Text}, source: sub.Dest, dest: sub.Source})
	}
	return sub.MessageID
}

func (s *Server) drawLocked() string {
	o := s.cfg.Outcomes
	total := o.Delivered + o.Undeliverable + o.Expired + o.Rejected
	if total <= 0 {
		return StatDelivered
	}
	n := s.rng.IntN(total)
	for _, w := range []struct {
		weight int
		stat   string
	}{{o.Delivered, StatDelivered}, {o.Undeliverable, StatUndeliverable}, {o.Expired, StatExpired}, {o.Rejected, StatRejected}} {
		if n < w.weight {
			return w.stat
		}
		n -= w.weight
	}
	return StatDelivered
}

func errCode(stat string) string {
	if stat == StatDelivered {
		return "000"
	}
	return "001"
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// query answers query_sm with the message's final state.
func (s *Server) query(q *pdu.QuerySM) pdu.PDU {
	s.mu.Lock()
	i, ok := s.byID[q.MessageID]
	var sub Submission
	if ok {
		sub = s.subs[i]
	}
	s.mu.Unlock()
	if !ok {
		return &pdu.QuerySMResp{Header: pdu.Header{Status: pdu.StatusQueryFail}}
	}
	if done := sub.At.Add(s.cfg.ReceiptDelay); time.Now().Before(done) {
		return &pdu.QuerySMResp{MessageID: q.MessageID, MessageState: pdu.StateEnroute}
	}
	return &pdu.QuerySMResp{MessageID: q.MessageID, MessageState: coding.StatState(sub.Stat),
		FinalDate: pdu.AbsoluteTime(sub.At.Add(s.cfg.ReceiptDelay))}
}

// Submitted returns a copy of the messages accepted so far, in order.
func (s *Server) Submitted() []Submission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submission(nil), s.subs...)
}

// WaitSubmitted waits until at least n messages have been accepted, or
// ctx ends.
func (s *Server) WaitSubmitted(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		have, changed := len(s.subs), s.changed
		s.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("smpptest: %d of %d messages submitted: %w", have, n, ctx.Err())
		}
	}
}

// Stats returns the simulator's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	st.Sessions = len(s.sessions)
	s.mu.Unlock()
	st.Receipts, st.ReceiptsPending = s.receipts.counts()
	return st
}
