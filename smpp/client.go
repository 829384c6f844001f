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
	Transceiver BindMode = iota // send and receive on one session (the default)
	Transmitter                 // send only
	Receiver                    // receive only
)

func (m BindMode) String() string {
	switch m {
	case Transmitter:
		return "transmitter"
	case Receiver:
		return "receiver"
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

	// WindowSize is the most requests outstanding at once (default 100).
	// A full window makes senders wait, under their context.
	WindowSize int
	// ResponseTimeout is how long a request waits for its response
	// (default 10s); then it fails with ErrTimeout and frees its slot.
	ResponseTimeout time.Duration
	// EnquireLink is the keepalive interval (default 30s; negative
	// disables it). A keepalive that gets no answer within
	// ResponseTimeout closes the session.
	EnquireLink time.Duration
	// MaxPDULen caps inbound PDUs (default pdu.DefaultMaxLen).
	MaxPDULen int
	// Handler receives deliveries, receipts and alerts (nil accepts and
	// drops them).
	Handler Handler
	// Long inbound messages are reassembled within these limits
	// (coding.Reassembler's defaults when 0).
	ReassemblyTimeout    time.Duration
	ReassemblyMaxPending int
	ReassemblyMaxBytes   int
}

// Client is a bound ESME session. It is safe for concurrent use: many
// goroutines may submit at once, within the window.
type Client struct {
	s        *session
	mode     BindMode
	systemID string // the SMSC's, from the bind response

	in        *inbound
	closeOnce sync.Once
	closeErr  error
	stopKeep  chan struct{}
	keepDone  chan struct{}
}

// Dial connects to an SMSC at addr and binds. It performs I/O and returns
// when the bind is answered; a refused bind is a *StatusError.
func Dial(ctx context.Context, addr string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.BindTimeout <= 0 {
		o.BindTimeout = 10 * time.Second
	}
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
	return NewClient(ctx, conn, &o)
}

// NewClient binds over an established connection (which it takes over).
// It performs I/O.
func NewClient(ctx context.Context, conn net.Conn, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.InterfaceVersion == 0 {
		o.InterfaceVersion = pdu.Version34
	}
	if o.BindTimeout <= 0 {
		o.BindTimeout = 10 * time.Second
	}
	if o.EnquireLink == 0 {
		o.EnquireLink = 30 * time.Second
	}
	c := &Client{mode: o.Mode, stopKeep: make(chan struct{}), keepDone: make(chan struct{})}
	c.in = &inbound{h: o.Handler, ctx: context.Background()}
	c.in.re.Timeout, c.in.re.MaxPending, c.in.re.MaxBytes = o.ReassemblyTimeout, o.ReassemblyMaxPending, o.ReassemblyMaxBytes
	c.s = newSession(conn, sessionConfig{window: o.WindowSize, responseTimeout: o.ResponseTimeout,
		maxPDULen: o.MaxPDULen, handle: c.handle})

	bind := pdu.BindTransmitter{SystemID: o.SystemID, Password: o.Password, SystemType: o.SystemType,
		InterfaceVersion: o.InterfaceVersion, AddrTON: o.AddrTON, AddrNPI: o.AddrNPI, AddressRange: o.AddressRange}
	var req pdu.PDU = &bind
	switch o.Mode {
	case Receiver:
		req = (*pdu.BindReceiver)(&bind)
	case Transceiver:
		req = (*pdu.BindTransceiver)(&bind)
	}
	bctx, cancel := context.WithTimeout(ctx, o.BindTimeout)
	defer cancel()
	resp, err := c.send(bctx, req)
	if err != nil {
		c.s.close(err)
		c.s.wait()
		return nil, fmt.Errorf("smpp: bind %s: %w", o.Mode, err)
	}
	switch r := resp.(type) {
	case *pdu.BindTransmitterResp:
		c.systemID = r.SystemID
	case *pdu.BindReceiverResp:
		c.systemID = r.SystemID
	case *pdu.BindTransceiverResp:
		c.systemID = r.SystemID
	}
	if o.EnquireLink > 0 {
		go c.keepalive(o.EnquireLink)
	} else {
		close(c.keepDone)
	}
	return c, nil
}

// SMSCSystemID is the system_id the SMSC gave in its bind response.
func (c *Client) SMSCSystemID() string { return c.systemID }

// send sends a request and waits for its response.
func (c *Client) send(ctx context.Context, req pdu.PDU) (pdu.PDU, error) {
	call, err := c.s.send(ctx, req)
	if err != nil {
		return nil, err
	}
	return call.Wait(ctx)
}

// Send sends any request (query_sm, cancel_sm, replace_sm, submit_multi,
// data_sm, ...) and returns a Call to wait on. It blocks only while the
// window is full, under ctx.
func (c *Client) Send(ctx context.Context, req pdu.PDU) (*Call, error) {
	if c.mode == Receiver {
		return nil, errors.New("smpp: a receiver cannot send requests")
	}
	return c.s.send(ctx, req)
}

// Submit sends a submit_sm and waits for the message id.
func (c *Client) Submit(ctx context.Context, sm *pdu.SubmitSM) (string, error) {
	call, err := c.Send(ctx, sm)
	if err != nil {
		return "", err
	}
	resp, err := call.Wait(ctx)
	if err != nil {
		return "", err
	}
	return resp.(*pdu.SubmitSMResp).MessageID, nil
}

// SubmitAsync sends a submit_sm without waiting for its response: the
// way to keep the window full. It blocks only while the window is full.
func (c *Client) SubmitAsync(ctx context.Context, sm *pdu.SubmitSM) (*Call, error) {
	return c.Send(ctx, sm)
}

// handle answers the SMSC's requests.
func (c *Client) handle(s *session, p pdu.PDU) {
	seq := p.Hdr().Sequence
	switch v := p.(type) {
	case *pdu.EnquireLink:
		s.respond(&pdu.EnquireLinkResp{Header: pdu.Header{Sequence: seq}})
	case *pdu.Unbind:
		s.respond(&pdu.UnbindResp{Header: pdu.Header{Sequence: seq}})
		go s.close(errors.New("smpp: the SMSC unbound"))
	case *pdu.DeliverSM:
		s.respond(&pdu.DeliverSMResp{Header: pdu.Header{Status: c.in.deliver(p), Sequence: seq}})
	case *pdu.DataSM:
		s.respond(&pdu.DataSMResp{Header: pdu.Header{Status: c.in.deliver(p), Sequence: seq}})
	case *pdu.AlertNotification:
		c.in.alert(v)
	default:
		if resp := newResponse(p.CommandID().Response()); resp != nil {
			*resp.Hdr() = pdu.Header{Status: pdu.StatusInvBndSts, Sequence: seq}
			s.respond(resp)
		} else {
			s.respond(&pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID, Sequence: seq}})
		}
	}
}

func (c *Client) keepalive(every time.Duration) {
	defer close(c.keepDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stopKeep:
			return
		case <-c.s.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.responseTimeout)
			_, err := c.send(ctx, &pdu.EnquireLink{})
			cancel()
			if err != nil && !Temporary(err) {
				c.s.close(fmt.Errorf("smpp: enquire_link: %w", err))
				return
			}
		}
	}
}

// Stats returns the session's counters.
func (c *Client) Stats() Stats { return c.s.stats() }

// Done is closed when the session ends; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.s.done }

// Err is why the session ended (nil while it runs).
func (c *Client) Err() error {
	select {
	case <-c.s.done:
		return c.s.err
	default:
		return nil
	}
}

// Unbind waits for outstanding requests (under ctx), sends unbind and
// waits for its response, then closes the connection. It returns ctx's
// error if that ends first; the connection is closed in every case.
func (c *Client) Unbind(ctx context.Context) error {
	var err error
	for c.s.stats().InFlight > 0 {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-c.s.done:
		case <-time.After(time.Millisecond):
			continue
		}
		break
	}
	if err == nil {
		_, err = c.send(ctx, &pdu.Unbind{})
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the connection at once; outstanding requests fail with a
// *SendError. It is idempotent and waits for the session's goroutines.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.stopKeep)
		c.s.close(nil)
		<-c.keepDone
		c.s.wait()
	})
	return c.closeErr
}
