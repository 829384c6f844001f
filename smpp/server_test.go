package smpp

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// startServer runs srv on 127.0.0.1 and closes it at cleanup.
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return l.Addr().String()
}

func TestServerEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var bound []*ServerSession
	got := make(chan *pdu.SubmitSM, 1)
	srv := &Server{
		SystemID: "TESTSMSC",
		Authenticate: func(ctx context.Context, b BindRequest) pdu.Status {
			if b.Password != "secret" {
				return pdu.StatusInvPaswd
			}
			return pdu.StatusOK
		},
		Handler: ServerHandlerFunc(func(ctx context.Context, s *ServerSession, req pdu.PDU) pdu.PDU {
			if sm, ok := req.(*pdu.SubmitSM); ok {
				got <- sm
				return &pdu.SubmitSMResp{MessageID: "X1"}
			}
			return nil
		}),
		OnBind: func(s *ServerSession) { mu.Lock(); bound = append(bound, s); mu.Unlock() },
	}
	addr := startServer(t, srv)

	_, err := Dial(ctx(t), addr, &Options{SystemID: "acme", Password: "wrong"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != pdu.StatusInvPaswd {
		t.Fatalf("bad password: %v", err)
	}
	delivered := make(chan *Message, 1)
	c, err := Dial(ctx(t), addr, &Options{SystemID: "acme", Password: "secret",
		Handler: HandlerFunc(func(ctx context.Context, m *Message) pdu.Status { delivered <- m; return pdu.StatusOK })})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.SMSCSystemID() != "TESTSMSC" {
		t.Fatalf("system id %q", c.SMSCSystemID())
	}
	id, err := c.Submit(ctx(t), hello())
	if err != nil || id != "X1" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	if sm := <-got; sm.DestinationAddr != "584121234567" || string(sm.ShortMessage) != "hello world" {
		t.Fatalf("server got %+v", sm)
	}
	// The server delivers a receipt through the session's window.
	mu.Lock()
	ss := bound[0]
	mu.Unlock()
	if b := ss.Bind(); b.SystemID != "acme" || b.Mode != Transceiver || ss.State() != StateBoundTRX {
		t.Fatalf("server session %+v %s", b, ss.State())
	}
	r := coding.Receipt{ID: "X1", Stat: "DELIVRD"}
	call, err := ss.Deliver(ctx(t), r.DeliverSM("584121234567", "ACME"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(ctx(t)); err != nil {
		t.Fatalf("deliver_sm_resp: %v", err)
	}
	if m := <-delivered; m.Kind != KindReceipt || m.Receipt.ID != "X1" {
		t.Fatalf("client got %+v", m)
	}

	// Shutdown unbinds the client.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client still bound after Shutdown")
	}
	if err := srv.Serve(nil); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestServerDefaultsAndLimits(t *testing.T) {
	// One token a second and a bucket of 5: the burst of 8 below must
	// arrive within a second for exactly 5 to pass (at TPS 5 a token came
	// back every 200 ms, which a loaded machine spent between two submits).
	srv := &Server{TPS: 1, TPSBurst: 5}
	addr := startServer(t, srv)
	var se *StatusError
	c, err := Dial(ctx(t), addr, &Options{SystemID: "x", Retry: RetryPolicy{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ids := map[string]bool{}
	throttled := 0
	calls := make([]*Call, 8) // sent at once: a burst of 8 on a bucket of 5
	for i := range calls {
		if calls[i], err = c.SubmitAsync(ctx(t), hello()); err != nil {
			t.Fatal(err)
		}
	}
	for _, call := range calls {
		resp, err := call.Wait(ctx(t))
		var id string
		if err == nil {
			id = resp.(*pdu.SubmitSMResp).MessageID
		}
		switch {
		case err == nil:
			ids[id] = true
		case Temporary(err):
			throttled++
		default:
			t.Fatal(err)
		}
	}
	if len(ids) != 5 || throttled != 3 {
		t.Fatalf("%d accepted (distinct ids), %d throttled; want 5 and 3", len(ids), throttled)
	}
	// Operations the default handler does not do are refused, not dropped.
	time.Sleep(1100 * time.Millisecond) // the bucket refills
	call, err := c.Send(ctx(t), &pdu.QuerySM{MessageID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(ctx(t)); !errors.As(err, &se) || se.Status != pdu.StatusInvCmdID {
		t.Fatalf("query_sm without a handler: %v", err)
	}
}

// TestServerBindState: requests before a bind are refused with
// ESME_RINVBNDSTS, a second bind too.
func TestServerBindState(t *testing.T) {
	addr := startServer(t, &Server{})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := pdu.NewWriter(conn)
	r := pdu.NewReader(conn, 0)
	exchange := func(p pdu.PDU) pdu.PDU {
		t.Helper()
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		resp, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	sm := hello()
	sm.Sequence = 1
	if resp := exchange(sm); resp.Hdr().Status != pdu.StatusInvBndSts {
		t.Fatalf("submit before bind: %s", resp.Hdr().Status)
	}
	// SMPP 5.0 (2.4): enquire_link is answered before the bind too;
	// unbind is not.
	resp := exchange(&pdu.EnquireLink{Header: pdu.Header{Sequence: 10}})
	assert.Equal(t, pdu.EnquireLinkRespID, resp.CommandID())
	assert.Equal(t, pdu.StatusOK, resp.Hdr().Status, "enquire_link in OPEN")
	resp = exchange(&pdu.Unbind{Header: pdu.Header{Sequence: 11}})
	assert.Equal(t, pdu.StatusInvBndSts, resp.Hdr().Status, "unbind in OPEN")
	if resp := exchange(&pdu.BindTransmitter{Header: pdu.Header{Sequence: 2}, SystemID: "x"}); resp.Hdr().Status != pdu.StatusOK {
		t.Fatalf("bind: %s", resp.Hdr().Status)
	}
	// SMPP 3.4 (5.1.3): a second bind is ESME_RALYBND, of any kind.
	for i, b := range []pdu.PDU{&pdu.BindTransmitter{SystemID: "x"}, &pdu.BindReceiver{SystemID: "x"}, &pdu.BindTransceiver{SystemID: "x"}} {
		b.Hdr().Sequence = uint32(3 + i)
		assert.Equal(t, pdu.StatusAlyBnd, exchange(b).Hdr().Status, "second bind %s", b.CommandID())
	}
	// Garbage: an unknown command is answered with generic_nack.
	conn.Write([]byte{0, 0, 0, 16, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 4})
	if resp, err := r.Read(); err != nil || resp.CommandID() != pdu.GenericNackID || resp.Hdr().Status != pdu.StatusInvCmdID {
		t.Fatalf("unknown command: %v %v", resp, err)
	}
}

// TestUnbindRace: the unbind_resp always reaches the peer before the
// connection closes (it used to race with the close).
func TestUnbindRace(t *testing.T) {
	addr := startServer(t, &Server{})
	for i := 0; i < 200; i++ {
		c, err := Dial(ctx(t), addr, &Options{SystemID: "x", EnquireLink: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Unbind(ctx(t)); err != nil {
			t.Fatalf("unbind %d: %v", i, err)
		}
	}
}

// A handler that returns nil answers later, without holding up the
// session: requests behind a slow one are answered first.
func TestServerDeferredAnswer(t *testing.T) {
	release := make(chan struct{})
	srv := &Server{Handler: ServerHandlerFunc(func(ctx context.Context, s *ServerSession, req pdu.PDU) pdu.PDU {
		sm := req.(*pdu.SubmitSM)
		if string(sm.ShortMessage) != "slow" {
			return &pdu.SubmitSMResp{MessageID: "fast"}
		}
		go func() {
			<-release
			s.Respond(req, &pdu.SubmitSMResp{MessageID: "slow"})
		}()
		return nil
	})}
	addr := startServer(t, srv)
	c, err := Dial(ctx(t), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	slow, err := c.SubmitAsync(ctx(t), &pdu.SubmitSM{DestinationAddr: "1", ShortMessage: []byte("slow")})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := c.Submit(ctx(t), hello()); err != nil || id != "fast" {
		t.Fatalf("fast submit behind a slow one: %q, %v", id, err)
	}
	select {
	case <-slow.Done():
		t.Fatal("slow submit answered before its handler did")
	default:
	}
	close(release)
	resp, err := slow.Wait(ctx(t))
	if err != nil || resp.(*pdu.SubmitSMResp).MessageID != "slow" {
		t.Fatalf("slow submit: %v, %v", resp, err)
	}
}

func TestOutbind(t *testing.T) {
	delivered := make(chan *Message, 1)
	var bound sync.WaitGroup
	bound.Add(1)
	srv := &Server{OnBind: func(*ServerSession) { bound.Done() }}
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type result struct {
		c   *Client
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			accepted <- result{err: err}
			return
		}
		c, err := AcceptOutbind(ctx(t), conn, &Options{SystemID: "acme", Password: "pw",
			Handler: HandlerFunc(func(ctx context.Context, m *Message) pdu.Status { delivered <- m; return pdu.StatusOK })},
			func(systemID, password string) bool { return systemID == "SMSC" && password == "in" })
		accepted <- result{c, err}
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ss, err := srv.Outbind(ctx(t), conn, "SMSC", "in")
	if err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	bound.Wait()
	if ss.State() != StateBoundRX || r.c.Mode() != Receiver || ss.Bind().SystemID != "acme" {
		t.Fatalf("after outbind: server %s, client %s, %+v", ss.State(), r.c.Mode(), ss.Bind())
	}
	call, err := ss.Deliver(ctx(t), &pdu.DeliverSM{SourceAddr: "58412", DestinationAddr: "100", ShortMessage: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if m := <-delivered; m.Text != "hi" {
		t.Fatalf("delivered %+v", m)
	}
	if _, err := r.c.Submit(ctx(t), hello()); !errors.Is(err, ErrState) {
		t.Fatalf("a receiver submitted: %v", err)
	}
}

func TestOutbindRefusedAndTimeout(t *testing.T) {
	srv := &Server{}
	defer srv.Close()
	a, b := net.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := AcceptOutbind(ctx(t), b, nil, func(string, string) bool { return false })
		errc <- err
	}()
	sctx, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
	defer cancel()
	if _, err := srv.Outbind(sctx, a, "SMSC", "bad"); err == nil {
		t.Fatal("outbind refused by the ESME succeeded")
	}
	if err := <-errc; !errors.Is(err, ErrOutbindRefused) {
		t.Fatalf("AcceptOutbind: %v", err)
	}

	// Something other than outbind first.
	a, b = net.Pipe()
	go func() {
		w := pdu.NewWriter(a)
		w.Write(&pdu.EnquireLink{Header: pdu.Header{Sequence: 1}})
		w.Flush()
	}()
	if _, err := AcceptOutbind(ctx(t), b, nil, nil); err == nil || !strings.Contains(err.Error(), "expected outbind") {
		t.Fatalf("enquire_link instead of outbind: %v", err)
	}
	a.Close()

	// Nothing at all: ctx ends the wait.
	a, b = net.Pipe()
	defer a.Close()
	wctx, cancel2 := context.WithTimeout(ctx(t), 50*time.Millisecond)
	defer cancel2()
	if _, err := AcceptOutbind(wctx, b, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("silent SMSC: %v", err)
	}
}

func TestServerKeepaliveAndBindTimeout(t *testing.T) {
	srv := &Server{EnquireLink: 20 * time.Millisecond, BindTimeout: 100 * time.Millisecond}
	addr := startServer(t, srv)
	c, err := Dial(ctx(t), addr, &Options{EnquireLink: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(200 * time.Millisecond)
	if n := c.Stats().Received; n < 3 {
		t.Fatalf("client answered %d enquire_link in 200ms at 20ms", n)
	}
	// The client is bound: the bind timeout does not apply.
	if c.State() != StateBoundTRX {
		t.Fatalf("state %s", c.State())
	}

	// A connection that never binds is closed.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := conn.Read(make([]byte, 1)); err == nil || time.Since(start) > 4*time.Second {
		t.Fatalf("unbound connection: %v after %s", err, time.Since(start))
	}
}

// A handler that defers its answer frees the session's reader: the next
// deliver_sm is handled before the first is answered.
func TestHandlerDefer(t *testing.T) {
	sessions := make(chan *ServerSession, 1)
	srv := &Server{OnBind: func(s *ServerSession) { sessions <- s }}
	addr := startServer(t, srv)
	answers := make(chan func(pdu.Status), 2)
	c, err := Dial(ctx(t), addr, &Options{Handler: HandlerFunc(func(ctx context.Context, m *Message) pdu.Status {
		answers <- m.Defer()
		return pdu.StatusSysErr // ignored: deferred
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ss := <-sessions
	first, err := ss.Deliver(ctx(t), &pdu.DeliverSM{SourceAddr: "1", ShortMessage: []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := ss.Deliver(ctx(t), &pdu.DeliverSM{SourceAddr: "1", ShortMessage: []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	ackFirst, ackSecond := <-answers, <-answers // both handled, neither answered
	select {
	case <-first.Done():
		t.Fatal("answered before the deferred answer")
	case <-time.After(20 * time.Millisecond):
	}
	ackSecond(pdu.StatusXTAppn)
	ackFirst(pdu.StatusOK)
	ackFirst(pdu.StatusSysErr) // a second call does nothing
	if _, err := first.Wait(ctx(t)); err != nil {
		t.Fatalf("first: %v", err)
	}
	var se *StatusError
	if _, err := second.Wait(ctx(t)); !errors.As(err, &se) || se.Status != pdu.StatusXTAppn {
		t.Fatalf("second: %v", err)
	}
}

// The TPS limit is a token bucket: no one-second span sees more than
// TPS+TPSBurst accepted requests, at its edges too (a fixed window let
// 2×TPS through across a window boundary), and a steady sender at the
// agreed rate is not refused.
func TestServerTPSIsABucket(t *testing.T) {
	const tps, burst = 50, 5
	allowAt := func(ss *ServerSession, at time.Time) bool { return ss.allow(tps, burst, at) }

	// Requests every millisecond for 3 s, simulated clock.
	ss := &ServerSession{}
	start := time.Unix(1_000_000, 0)
	var accepted []time.Time
	for i := range 3000 {
		at := start.Add(time.Duration(i) * time.Millisecond)
		if allowAt(ss, at) {
			accepted = append(accepted, at)
		}
	}
	for i := range accepted {
		j := i
		for j < len(accepted) && accepted[j].Sub(accepted[i]) < time.Second {
			j++
		}
		require.LessOrEqual(t, j-i, tps+burst, "%d accepted in the second from %v", j-i, accepted[i].Sub(start))
	}
	assert.InDelta(t, 3*tps+burst, len(accepted), 2, "the sustained rate")

	// A sender at exactly the agreed rate is never refused.
	ss = &ServerSession{}
	for i := range 500 {
		require.True(t, allowAt(ss, start.Add(time.Duration(i)*time.Second/tps)), "request %d refused", i)
	}

	// The edge case of a fixed window: TPS just before a boundary and TPS
	// just after it.
	ss = &ServerSession{}
	n := 0
	for i := range tps {
		if allowAt(ss, start.Add(990*time.Millisecond+time.Duration(i)*time.Microsecond)) {
			n++
		}
		if allowAt(ss, start.Add(1010*time.Millisecond+time.Duration(i)*time.Microsecond)) {
			n++
		}
	}
	assert.LessOrEqual(t, n, 2*burst+2, "a burst across a second's edge")
}
