package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// BindMode is how an ESME binds.
type BindMode int

// Bind modes.
const (
	// Transceiver sends and receives on one session (the default). If
	// the SMSC answers bind_transceiver with ESME_RINVCMDID (an SMPP 3.3
	// SMSC), Dial falls back to TransmitterReceiver.
	Transceiver BindMode = iota
	Transmitter          // send only
	Receiver             // receive only
	// TransmitterReceiver binds a transmitter and a receiver session. If
	// the SMSC refuses either bind with ESME_RINVCMDID, Dial falls back to
	// Transceiver.
	TransmitterReceiver
)

func (m BindMode) String() string {
	switch m {
	case Transmitter:
		return "transmitter"
	case Receiver:
		return "receiver"
	case TransmitterReceiver:
		return "transmitter+receiver"
	}
	return "transceiver"
}

// Options configure a Client. A nil *Options means the zero value, whose
// fields all have working defaults (except the credentials).
type Options struct {
	SystemID         string
	Password         string
	SystemType       string
	InterfaceVersion uint8 // default pdu.Version34
	AddrTON          uint8
	AddrNPI          uint8
	AddressRange     string
	Mode             BindMode

	// TLSConfig, when not nil, makes Dial use TLS.
	TLSConfig *tls.Config
	// DialTimeout bounds connecting (default 10s); BindTimeout bounds the
	// bind exchange (default 10s). The ctx of Dial bounds both.
	DialTimeout time.Duration
	BindTimeout time.Duration

	// WindowSize is the most requests outstanding at once per session
	// (default 100). A full window makes senders wait, under their context.
	WindowSize int
	// ResponseTimeout is how long a request waits for its response
	// (default 10s); then it fails with a *TimeoutError (errors.Is
	// ErrTimeout) and frees its slot; TimeoutError.WaitLate still gets
	// the answer if it comes later.
	ResponseTimeout time.Duration
	// EnquireLink is the keepalive interval (default 30s; negative
	// disables it). enquire_link is sent only after an interval in which
	// nothing was read, outside the window; when its answer does not
	// come within ResponseTimeout and nothing at all is read for
	// max(EnquireLink, ResponseTimeout) more, the session is closed (a
	// slow peer whose late answers still come is alive).
	EnquireLink time.Duration
	// MaxPDULen caps inbound PDUs (default pdu.DefaultMaxLen).
	MaxPDULen int

	// RateLimiter, when set, is waited on before every request (a TPS
	// limit agreed with the operator).
	RateLimiter RateLimiter
	// Retry says how Submit retries temporary refusals, and how long the
	// client pauses after one.
	Retry RetryPolicy

	// Handler receives deliveries, receipts and alerts (nil accepts and
	// drops them).
	Handler Handler
	// Long inbound messages are reassembled within these limits
	// (coding.Reassembler's defaults when 0).
	ReassemblyTimeout    time.Duration
	ReassemblyMaxPending int
	ReassemblyMaxBytes   int
	// InboundPackedGSM says the SMSC delivers GSM 7-bit user data
	// (data_coding 0, or a GSM 03.38 message class coding) packed, 7 bits
	// a character, as some do, rather than one septet an octet: it is
	// unpacked, after the fill bits that follow a user data header,
	// before parts are joined and decoded, and Message.Data holds the
	// septets. (A packed text whose last character is a CR filling the
	// last seven bits loses that CR: see coding.Unpack.)
	InboundPackedGSM bool
}

func (o *Options) defaults() {
	if o.InterfaceVersion == 0 {
		o.InterfaceVersion = pdu.Version34
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.BindTimeout <= 0 {
		o.BindTimeout = 10 * time.Second
	}
	if o.EnquireLink == 0 {
		o.EnquireLink = 30 * time.Second
	}
}

// Client is a bound ESME: one session, or a transmitter and a receiver
// session. It is safe for concurrent use: many goroutines may submit at
// once, within the window.
type Client struct {
	o        Options
	tx       *session   // where requests go (nil for a receiver)
	sessions []*session // all of them
	mode     BindMode   // as bound (after any fallback)
	systemID string     // the SMSC's, from the bind response
	in       *inbound
	throttle throttle

	done      chan struct{} // closed when any session ends
	doneOnce  sync.Once
	stop      chan struct{}
	keepalive sync.WaitGroup
	closeOnce sync.Once
}

// Dial connects to an SMSC at addr and binds as opts.Mode, falling back
// between transceiver and transmitter+receiver when the SMSC does not
// support the mode asked (ESME_RINVCMDID). It performs I/O and returns
// when the bind is answered; a refused bind is a *StatusError.
func Dial(ctx context.Context, addr string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.defaults()
	dial := func(ctx context.Context) (net.Conn, error) {
		d := &net.Dialer{Timeout: o.DialTimeout}
		var conn net.Conn
		var err error
		if o.TLSConfig != nil {
			conn, err = (&tls.Dialer{NetDialer: d, Config: o.TLSConfig}).DialContext(ctx, "tcp", addr)
		} else {
			conn, err = d.DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, fmt.Errorf("smpp: dial %s: %w", addr, err)
		}
		return conn, nil
	}
	c := newClient(o)
	first, second := o.Mode, TransmitterReceiver
	if o.Mode == TransmitterReceiver {
		second = Transceiver
	}
	err := c.bindMode(ctx, dial, first)
	if unsupported(err) && (o.Mode == Transceiver || o.Mode == TransmitterReceiver) {
		err = c.bindMode(ctx, dial, second)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.start()
	return c, nil
}

// NewClient binds over an established connection, which it takes over.
// It performs I/O. With one connection there is no fallback, and
// TransmitterReceiver is not possible.
func NewClient(ctx context.Context, conn net.Conn, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.defaults()
	if o.Mode == TransmitterReceiver {
		conn.Close()
		return nil, errors.New("smpp: a transmitter+receiver pair needs Dial")
	}
	c := newClient(o)
	if err := c.bind(ctx, conn, o.Mode); err != nil {
		c.Close()
		return nil, err
	}
	c.start()
	return c, nil
}

func newClient(o Options) *Client {
	c := &Client{o: o, done: make(chan struct{}), stop: make(chan struct{})}
	c.throttle.policy = o.Retry.withDefaults()
	c.in = &inbound{h: o.Handler, ctx: context.Background(), packedGSM: o.InboundPackedGSM}
	c.in.re.Timeout, c.in.re.MaxPending, c.in.re.MaxBytes = o.ReassemblyTimeout, o.ReassemblyMaxPending, o.ReassemblyMaxBytes
	return c
}

// unsupported reports whether a bind failed because the SMSC does not know
// the bind command.
func unsupported(err error) bool {
	var st *StatusError
	return errors.As(err, &st) && st.Status == pdu.StatusInvCmdID
}

// bindMode binds the sessions of mode m over new connections.
func (c *Client) bindMode(ctx context.Context, dial func(context.Context) (net.Conn, error), m BindMode) error {
	modes := []BindMode{m}
	if m == TransmitterReceiver {
		modes = []BindMode{Transmitter, Receiver}
	}
	for _, sm := range modes {
		conn, err := dial(ctx)
		if err == nil {
			err = c.bind(ctx, conn, sm)
		}
		if err != nil {
			c.closeSessions()
			c.sessions, c.tx = nil, nil
			return err
		}
	}
	c.mode = m
	return nil
}

// bind binds one session over conn.
func (c *Client) bind(ctx context.Context, conn net.Conn, m BindMode) error {
	s := newSession(conn, sessionConfig{window: c.o.WindowSize, responseTimeout: c.o.ResponseTimeout,
		maxPDULen: c.o.MaxPDULen, handle: c.handle, observe: c.observe})
	s.start()
	bind := pdu.BindTransmitter{SystemID: c.o.SystemID, Password: c.o.Password, SystemType: c.o.SystemType,
		InterfaceVersion: c.o.InterfaceVersion, AddrTON: c.o.AddrTON, AddrNPI: c.o.AddrNPI, AddressRange: c.o.AddressRange}
	var req pdu.PDU = &bind
	switch m {
	case Receiver:
		req = (*pdu.BindReceiver)(&bind)
	case Transceiver:
		req = (*pdu.BindTransceiver)(&bind)
	}
	bctx, cancel := context.WithTimeout(ctx, c.o.BindTimeout)
	defer cancel()
	call, err := s.send(bctx, req)
	var resp pdu.PDU
	if err == nil {
		resp, err = call.Wait(bctx)
	}
	if err != nil {
		s.close(err)
		s.wait()
		return fmt.Errorf("smpp: bind %s: %w", m, err)
	}
	s.setState(boundState(m))
	switch r := resp.(type) {
	case *pdu.BindTransmitterResp:
		c.systemID = r.SystemID
	case *pdu.BindReceiverResp:
		c.systemID = r.SystemID
	case *pdu.BindTransceiverResp:
		c.systemID = r.SystemID
	}
	c.sessions = append(c.sessions, s)
	if m != Receiver {
		c.tx = s
	}
	c.mode = m
	return nil
}

// start runs the keepalives and watches the sessions.
func (c *Client) start() {
	for _, s := range c.sessions {
		c.keepalive.Add(1)
		go c.keep(s)
	}
}

// Mode is how the client is bound (after any fallback).
func (c *Client) Mode() BindMode { return c.mode }

// SMSCSystemID is the system_id the SMSC gave in its bind response.
func (c *Client) SMSCSystemID() string { return c.systemID }

// Send sends any request (query_sm, cancel_sm, replace_sm, submit_multi,
// data_sm, ...) and returns a Call to wait on. It blocks only while the
// window is full, under ctx. A request the bind state does not allow
// fails with ErrState (a receiver cannot submit) and is not sent.
//
// Send sets the request's sequence number and status: a PDU must not be
// modified or sent again until its Call completes (then it may be reused,
// as Submit does for its retries).
func (c *Client) Send(ctx context.Context, req pdu.PDU) (*Call, error) {
	s := c.tx
	if s == nil {
		s = c.sessions[0]
	}
	if st := s.state(); !canSend(st, req.CommandID()) {
		if st == StateClosed {
			return nil, &SendError{Err: s.cause()}
		}
		return nil, &SendError{Err: stateError(st, req.CommandID())}
	}
	if err := c.throttle.wait(ctx); err != nil {
		return nil, &SendError{Err: err}
	}
	if c.o.RateLimiter != nil {
		if err := c.o.RateLimiter.Wait(ctx); err != nil {
			return nil, &SendError{Err: err}
		}
	}
	return s.send(ctx, req)
}

// observe feeds a response's outcome to the throttle.
func (c *Client) observe(err error) {
	switch {
	case err == nil:
		c.throttle.accepted()
	case Throttling(err):
		c.throttle.refused(time.Now())
	}
}

// Submit sends a submit_sm and waits for the message id. A throttling
// refusal (ESME_RTHROTTLED, ESME_RMSGQFUL) is retried after the backoff of
// Options.Retry, up to its attempts; the last error is returned. Other
// refusals, temporary ones included, are returned at once.
func (c *Client) Submit(ctx context.Context, sm *pdu.SubmitSM) (string, error) {
	var err error
	for try := 0; try < c.throttle.policy.Attempts; try++ {
		var call *Call
		if call, err = c.Send(ctx, sm); err != nil {
			return "", err
		}
		var resp pdu.PDU
		resp, err = call.Wait(ctx) // the session fed the outcome to the throttle
		if err == nil {
			if r, ok := resp.(*pdu.SubmitSMResp); ok { // the session checked the type; no panic if it did not
				return r.MessageID, nil
			}
			return "", &ResponseError{Request: pdu.SubmitSMID, Got: resp.CommandID()}
		}
		if !Throttling(err) {
			return "", err
		}
	}
	return "", err
}

// SubmitAsync sends a submit_sm without waiting for its response: the
// way to keep the window full. It blocks only while the window is full.
func (c *Client) SubmitAsync(ctx context.Context, sm *pdu.SubmitSM) (*Call, error) {
	return c.Send(ctx, sm)
}

// handle answers the SMSC's requests on session s, refusing with
// ESME_RINVBNDSTS what the bind state does not allow.
func (c *Client) handle(s *session, p pdu.PDU) {
	seq := p.Hdr().Sequence
	if st := s.state(); !canReceive(st, p.CommandID()) {
		s.refuse(p.CommandID(), seq, refusalStatus(st, p.CommandID(), false))
		return
	}
	if s.answerLink(p, "smpp: the SMSC unbound") {
		return
	}
	switch v := p.(type) {
	case *pdu.DeliverSM:
		c.in.deliver(p, func(st pdu.Status) { s.respond(&pdu.DeliverSMResp{Header: pdu.Header{Status: st, Sequence: seq}}) })
	case *pdu.DataSM:
		c.in.deliver(p, func(st pdu.Status) { s.respond(&pdu.DataSMResp{Header: pdu.Header{Status: st, Sequence: seq}}) })
	case *pdu.AlertNotification:
		c.in.alert(v)
	}
}

// keep sends enquire_link on s every interval, closing s when one fails.
func (c *Client) keep(s *session) {
	defer c.keepalive.Done()
	defer c.doneOnce.Do(func() { close(c.done) })
	if c.o.EnquireLink > 0 {
		s.keepalive(c.o.EnquireLink, c.stop)
		return
	}
	select {
	case <-c.stop:
	case <-s.done:
	}
}

// Stats returns the counters of the sending session (of the receiver for
// a receiver).
func (c *Client) Stats() Stats {
	if c.tx != nil {
		return c.tx.stats()
	}
	return c.sessions[0].stats()
}

// Done is closed when the client's session (either session of a pair)
// ends; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the client's session ended (nil while it runs).
func (c *Client) Err() error {
	for _, s := range c.sessions {
		select {
		case <-s.done:
			return s.err
		default:
		}
	}
	return nil
}

// State is the bind state of the sending session (of the receiver for a
// receiver).
func (c *Client) State() State {
	if c.tx != nil {
		return c.tx.state()
	}
	if len(c.sessions) > 0 {
		return c.sessions[0].state()
	}
	return StateClosed
}

// Unbind waits for outstanding requests (under ctx), unbinds every session
// and waits for the answers, then closes. It returns ctx's error if that
// ends first; the connections are closed in every case.
func (c *Client) Unbind(ctx context.Context) error {
	var err error
	for _, s := range c.sessions {
		for err == nil && s.stats().InFlight > 0 {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-s.done:
			case <-time.After(time.Millisecond):
				continue
			}
			break
		}
		if err == nil && s.state() != StateClosed {
			var call *Call
			if call, err = s.send(ctx, &pdu.Unbind{}); err == nil {
				s.setState(StateUnbound)
				_, err = call.Wait(ctx)
			}
		}
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the connections at once; outstanding requests fail with a
// *SendError. It is idempotent and waits for the client's goroutines.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.closeSessions()
		c.keepalive.Wait()
		c.doneOnce.Do(func() { close(c.done) })
	})
	return nil
}

func (c *Client) closeSessions() {
	for _, s := range c.sessions {
		s.close(nil)
		s.wait()
	}
}
