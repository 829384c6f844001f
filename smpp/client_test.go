package smpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSMSC is a scripted SMSC for the client's tests, on 127.0.0.1.
type fakeSMSC struct {
	t  testing.TB
	ln net.Listener
	// answer returns the response to a request (nil: no answer). Runs on
	// the connection's reader goroutine.
	answer func(p pdu.PDU) pdu.PDU
	// onResponse, when set, sees the client's responses to pushed requests.
	onResponse func(p pdu.PDU)

	mu       sync.Mutex
	conns    []net.Conn
	received atomic.Int64
	wg       sync.WaitGroup
}

func newFakeSMSC(t testing.TB, answer func(p pdu.PDU) pdu.PDU) *fakeSMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMSC{t: t, ln: ln, answer: answer}
	if f.answer == nil {
		f.answer = defaultAnswer
	}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func defaultAnswer(p pdu.PDU) pdu.PDU {
	h := pdu.Header{Sequence: p.Hdr().Sequence}
	switch p.(type) {
	case *pdu.BindTransmitter:
		return &pdu.BindTransmitterResp{Header: h, SystemID: "FAKE"}
	case *pdu.BindReceiver:
		return &pdu.BindReceiverResp{Header: h, SystemID: "FAKE"}
	case *pdu.BindTransceiver:
		return &pdu.BindTransceiverResp{Header: h, SystemID: "FAKE"}
	case *pdu.SubmitSM:
		return &pdu.SubmitSMResp{Header: h, MessageID: fmt.Sprintf("m%d", h.Sequence)}
	case *pdu.EnquireLink:
		return &pdu.EnquireLinkResp{Header: h}
	case *pdu.Unbind:
		return &pdu.UnbindResp{Header: h}
	}
	return &pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID, Sequence: h.Sequence}}
}

func (f *fakeSMSC) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(c)
	}
}

func (f *fakeSMSC) serve(c net.Conn) {
	defer f.wg.Done()
	r := pdu.NewReader(c, 0)
	var wmu sync.Mutex
	w := pdu.NewWriter(c)
	for {
		p, err := r.Read()
		if err != nil {
			return
		}
		if p.CommandID().IsResponse() {
			if f.onResponse != nil {
				f.onResponse(p)
			}
			continue
		}
		f.received.Add(1)
		if resp := f.answer(p); resp != nil {
			wmu.Lock()
			w.Write(resp)
			w.Flush()
			wmu.Unlock()
		}
	}
}

// push sends a PDU from the SMSC on every connection.
func (f *fakeSMSC) push(p pdu.PDU) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		b, _ := p.Encode(nil)
		c.Write(b)
	}
}

// dropAll closes the SMSC's side of every connection.
func (f *fakeSMSC) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func (f *fakeSMSC) close() {
	f.ln.Close()
	f.dropAll()
	f.wg.Wait()
}

func dial(t *testing.T, f *fakeSMSC, o *Options) *Client {
	t.Helper()
	if o == nil {
		o = &Options{}
	}
	if o.SystemID == "" {
		o.SystemID, o.Password = "test", "pw"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, f.ln.Addr().String(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func hello() *pdu.SubmitSM {
	return &pdu.SubmitSM{SourceAddr: "ACME", DestAddrTON: 1, DestAddrNPI: 1, DestinationAddr: "584121234567",
		ShortMessage: []byte("hello world")}
}

func TestBindAndSubmit(t *testing.T) {
	for _, mode := range []BindMode{Transceiver, Transmitter} {
		f := newFakeSMSC(t, nil)
		c := dial(t, f, &Options{Mode: mode})
		if c.SMSCSystemID() != "FAKE" {
			t.Fatalf("system id %q", c.SMSCSystemID())
		}
		id, err := c.Submit(ctx(t), hello())
		if err != nil || id != "m2" { // sequence 1 was the bind
			t.Fatalf("%s: Submit = %q, %v", mode, id, err)
		}
		if err := c.Unbind(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Submit(ctx(t), hello()); !errors.Is(err, ErrClosed) || !SafeToRetry(err) {
			t.Fatalf("submit after unbind: %v", err)
		}
	}
}

func TestBindRefused(t *testing.T) {
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.BindTransceiver); ok {
			return &pdu.BindTransceiverResp{Header: pdu.Header{Status: pdu.StatusInvPaswd, Sequence: p.Hdr().Sequence}}
		}
		return defaultAnswer(p)
	})
	_, err := Dial(ctx(t), f.ln.Addr().String(), &Options{SystemID: "x", Password: "bad"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != pdu.StatusInvPaswd {
		t.Fatalf("Dial = %v", err)
	}
}

// TestWindow: with a slow SMSC, never more than WindowSize requests are
// outstanding, and every one completes.
func TestWindow(t *testing.T) {
	const window, n = 8, 400
	var outstanding, maxOut atomic.Int64
	release := make(chan pdu.PDU, n)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.SubmitSM); !ok {
			return defaultAnswer(p)
		}
		o := outstanding.Add(1)
		for {
			m := maxOut.Load()
			if o <= m || maxOut.CompareAndSwap(m, o) {
				break
			}
		}
		release <- p
		return nil // answered later, by the releaser
	})
	c := dial(t, f, &Options{WindowSize: window})
	var relWG sync.WaitGroup
	relWG.Add(1)
	go func() { // answers after a short delay, as a slow SMSC would
		defer relWG.Done()
		for i := 0; i < n; i++ {
			p := <-release
			time.Sleep(100 * time.Microsecond)
			outstanding.Add(-1)
			f.push(defaultAnswer(p))
		}
	}()
	calls := make([]*Call, 0, n)
	for i := 0; i < n; i++ {
		call, err := c.SubmitAsync(ctx(t), hello())
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call)
	}
	for _, call := range calls {
		if _, err := call.Wait(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	relWG.Wait()
	if m := maxOut.Load(); m > window || m < 2 {
		t.Fatalf("max outstanding %d with window %d", m, window)
	}
	st := c.Stats()
	if st.Responses != n+1 || st.InFlight != 0 || st.Flushes >= st.Sent {
		t.Fatalf("stats %+v", st)
	}
}

// TestBatchedWrites: pipelined submits share write calls.
func TestBatchedWrites(t *testing.T) {
	f := newFakeSMSC(t, nil)
	c := dial(t, f, &Options{WindowSize: 1000})
	const n = 5000
	calls := make([]*Call, n)
	for i := range calls {
		var err error
		if calls[i], err = c.SubmitAsync(ctx(t), hello()); err != nil {
			t.Fatal(err)
		}
	}
	for _, call := range calls {
		if _, err := call.Wait(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	t.Logf("%d submits in %d writes", st.Sent, st.Flushes)
	if st.Flushes*2 > st.Sent {
		t.Fatalf("%d writes for %d PDUs: not batched", st.Flushes, st.Sent)
	}
}

func TestTimeoutAndLateResponse(t *testing.T) {
	held := make(chan pdu.PDU, 1)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.SubmitSM); ok {
			held <- p
			return nil
		}
		return defaultAnswer(p)
	})
	c := dial(t, f, &Options{ResponseTimeout: 100 * time.Millisecond, WindowSize: 1})
	start := time.Now()
	_, err := c.Submit(ctx(t), hello())
	if !errors.Is(err, ErrTimeout) || time.Since(start) > 5*time.Second {
		t.Fatalf("Submit = %v after %v", err, time.Since(start))
	}
	// The slot is free again, and a late response is counted and dropped.
	f.push(defaultAnswer(<-held))
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().LateResponses == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	st := c.Stats()
	if st.Timeouts != 1 || st.LateResponses != 1 || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
	// With a window of 1 the next request still gets a slot.
	go func() { f.push(defaultAnswer(<-held)) }()
	if _, err := c.Submit(ctx(t), hello()); err != nil {
		t.Fatalf("after a timeout: %v", err)
	}
}

// TestConnectionDrop: pending requests fail saying they may have reached
// the SMSC; the session reports why it ended.
func TestConnectionDrop(t *testing.T) {
	got := make(chan struct{}, 10)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.SubmitSM); ok {
			got <- struct{}{}
			return nil
		}
		return defaultAnswer(p)
	})
	c := dial(t, f, nil)
	call, err := c.SubmitAsync(ctx(t), hello())
	if err != nil {
		t.Fatal(err)
	}
	<-got
	f.dropAll()
	_, err = call.Wait(ctx(t))
	var se *SendError
	if !errors.As(err, &se) || !se.MayHaveReached || SafeToRetry(err) || !errors.Is(err, ErrClosed) {
		t.Fatalf("pending request: %v", err)
	}
	<-c.Done()
	if c.Err() == nil {
		t.Fatal("no reason for the end")
	}
}

func TestWindowWaitHonoursContext(t *testing.T) {
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.SubmitSM); ok {
			return nil // never answered
		}
		return defaultAnswer(p)
	})
	c := dial(t, f, &Options{WindowSize: 1})
	if _, err := c.SubmitAsync(ctx(t), hello()); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.SubmitAsync(short, hello())
	if !errors.Is(err, context.DeadlineExceeded) || !SafeToRetry(err) {
		t.Fatalf("full window: %v", err)
	}
}

func TestSequenceWrap(t *testing.T) {
	var s sequencer
	s.last.Store(maxSeq - 1)
	if a, b, c := s.next(), s.next(), s.next(); a != maxSeq || b != 1 || c != 2 {
		t.Fatalf("wrap: %d %d %d", a, b, c)
	}
}

func TestSMSCRequests(t *testing.T) {
	f := newFakeSMSC(t, nil)
	c := dial(t, f, &Options{EnquireLink: 20 * time.Millisecond})
	// The SMSC's enquire_link and deliver_sm are answered; keepalives flow.
	f.push(&pdu.EnquireLink{Header: pdu.Header{Sequence: 77}})
	f.push(&pdu.DeliverSM{Header: pdu.Header{Sequence: 78}, ShortMessage: []byte("hi")})
	deadline := time.Now().Add(5 * time.Second)
	for f.received.Load() < 3 && time.Now().Before(deadline) { // bind + keepalives
		time.Sleep(5 * time.Millisecond)
	}
	if f.received.Load() < 3 {
		t.Fatalf("no keepalives: %d requests", f.received.Load())
	}
	// The SMSC unbinds: the session ends.
	f.push(&pdu.Unbind{Header: pdu.Header{Sequence: 79}})
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end on the SMSC's unbind")
	}
}

// TestHandler: MO messages (a long one in reverse order), receipts and
// alerts reach the Handler; its status answers the PDU.
func TestHandler(t *testing.T) {
	got := make(chan *Message, 10)
	answers := make(chan pdu.PDU, 10)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if p.CommandID().IsResponse() {
			return nil
		}
		return defaultAnswer(p)
	})
	f.onResponse = func(p pdu.PDU) { answers <- p }
	dial(t, f, &Options{Handler: HandlerFunc(func(ctx context.Context, m *Message) pdu.Status {
		got <- m
		if m.Text == "reject me" {
			return pdu.StatusXTAppn
		}
		return pdu.StatusOK
	})})

	// A long MO message in two parts, second part first.
	dc, parts, err := coding.Split(strings.Repeat("¿Puede llamarme mañana? ", 8), coding.SplitOptions{Ref: 9})
	if err != nil || len(parts) != 2 {
		t.Fatal(err, len(parts))
	}
	for i := len(parts) - 1; i >= 0; i-- {
		var sm pdu.SubmitSM
		parts[i].Apply(&sm, dc)
		sm.SourceAddr, sm.DestinationAddr = "584121234567", "1234"
		d := pdu.DeliverSM(sm)
		d.Sequence = uint32(100 + i)
		f.push(&d)
	}
	m := <-got
	if m.Kind != KindMO || m.Parts != 2 || m.Text != strings.Repeat("¿Puede llamarme mañana? ", 8) || m.Source != "584121234567" {
		t.Fatalf("MO: kind %d parts %d text %q", m.Kind, m.Parts, m.Text)
	}
	// A receipt.
	r := coding.Receipt{ID: "m2", Stat: "DELIVRD"}
	rd := r.DeliverSM("584121234567", "ACME")
	rd.Sequence = 200
	f.push(rd)
	if m := <-got; m.Kind != KindReceipt || m.Receipt.ID != "m2" || m.Receipt.Stat != "DELIVRD" {
		t.Fatalf("receipt: %+v", m)
	}
	// A rejection is the deliver_sm_resp's status.
	f.push(&pdu.DeliverSM{Header: pdu.Header{Sequence: 300}, ShortMessage: []byte("reject me")})
	<-got
	// An alert.
	f.push(&pdu.AlertNotification{Header: pdu.Header{Sequence: 400}, SourceAddr: "584121234567", ESMEAddr: "ACME"})
	if m := <-got; m.Kind != KindAlert || m.Source != "584121234567" {
		t.Fatalf("alert: %+v", m)
	}
	seen := map[uint32]pdu.Status{}
	for len(seen) < 4 {
		select {
		case p := <-answers:
			seen[p.Hdr().Sequence] = p.Hdr().Status
		case <-time.After(5 * time.Second):
			t.Fatalf("answers: %v", seen)
		}
	}
	if seen[100] != pdu.StatusOK || seen[101] != pdu.StatusOK || seen[200] != pdu.StatusOK || seen[300] != pdu.StatusXTAppn {
		t.Fatalf("answers: %v", seen)
	}
}

func TestBindState(t *testing.T) {
	answers := make(chan pdu.PDU, 4)
	f := newFakeSMSC(t, nil)
	f.onResponse = func(p pdu.PDU) { answers <- p }

	rx := dial(t, f, &Options{Mode: Receiver})
	if rx.State() != StateBoundRX {
		t.Fatalf("state %s", rx.State())
	}
	_, err := rx.Submit(ctx(t), hello())
	if !errors.Is(err, ErrState) || !SafeToRetry(err) {
		t.Fatalf("receiver submit: %v", err)
	}
	rx.Close()
	if rx.State() != StateClosed {
		t.Fatalf("after Close: %s", rx.State())
	}

	// An SMSC delivering to a transmitter is refused with ESME_RINVBNDSTS.
	tx := dial(t, f, &Options{Mode: Transmitter})
	f.push(&pdu.DeliverSM{Header: pdu.Header{Sequence: 55}, ShortMessage: []byte("hi")})
	select {
	case p := <-answers:
		if p.CommandID() != pdu.DeliverSMRespID || p.Hdr().Status != pdu.StatusInvBndSts || p.Hdr().Sequence != 55 {
			t.Fatalf("answer %s %s seq %d", p.CommandID(), p.Hdr().Status, p.Hdr().Sequence)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
	if _, err := tx.Submit(ctx(t), hello()); err != nil {
		t.Fatal(err)
	}
}

// TestFallback: an SMPP 3.3 SMSC that does not know bind_transceiver gets
// a transmitter and a receiver; one without separate binds gets a
// transceiver.
func TestFallback(t *testing.T) {
	nack := func(p pdu.PDU) pdu.PDU {
		return &pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID, Sequence: p.Hdr().Sequence}}
	}
	noTRX := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.BindTransceiver); ok {
			return nack(p)
		}
		return defaultAnswer(p)
	})
	c := dial(t, noTRX, nil)
	if c.Mode() != TransmitterReceiver || len(c.sessions) != 2 || c.State() != StateBoundTX {
		t.Fatalf("mode %s, %d sessions, state %s", c.Mode(), len(c.sessions), c.State())
	}
	if _, err := c.Submit(ctx(t), hello()); err != nil {
		t.Fatal(err)
	}
	if err := c.Unbind(ctx(t)); err != nil {
		t.Fatal(err)
	}

	onlyTRX := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		switch p.(type) {
		case *pdu.BindReceiver:
			return nack(p)
		}
		return defaultAnswer(p)
	})
	c = dial(t, onlyTRX, &Options{Mode: TransmitterReceiver})
	if c.Mode() != Transceiver || len(c.sessions) != 1 || c.State() != StateBoundTRX {
		t.Fatalf("mode %s, %d sessions", c.Mode(), len(c.sessions))
	}
	if _, err := c.Submit(ctx(t), hello()); err != nil {
		t.Fatal(err)
	}
	// Without a way to dial again there is no fallback.
	conn, err := net.Dial("tcp", noTRX.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(ctx(t), conn, &Options{SystemID: "x"}); !unsupported(err) {
		t.Fatalf("NewClient against a 3.3 SMSC: %v", err)
	}
}

type countingLimiter struct{ n atomic.Int64 }

func (l *countingLimiter) Wait(ctx context.Context) error { l.n.Add(1); return ctx.Err() }

// TestThrottling: ESME_RTHROTTLED makes the client back off and Submit
// retry; the rate limiter is waited on before every request.
func TestThrottling(t *testing.T) {
	var refusals atomic.Int64
	var times []time.Time
	var mu sync.Mutex
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.SubmitSM); ok {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			if refusals.Add(1) <= 2 {
				return &pdu.SubmitSMResp{Header: pdu.Header{Status: pdu.StatusThrottled, Sequence: p.Hdr().Sequence}}
			}
		}
		return defaultAnswer(p)
	})
	lim := &countingLimiter{}
	c := dial(t, f, &Options{RateLimiter: lim, Retry: RetryPolicy{Backoff: 50 * time.Millisecond}})
	id, err := c.Submit(ctx(t), hello())
	if err != nil || id == "" {
		t.Fatalf("Submit after throttling: %q %v", id, err)
	}
	if lim.n.Load() != 3 {
		t.Fatalf("limiter waited %d times for 3 tries", lim.n.Load())
	}
	mu.Lock()
	tries := append([]time.Time(nil), times...)
	mu.Unlock()
	if len(tries) != 3 || tries[1].Sub(tries[0]) < 50*time.Millisecond || tries[2].Sub(tries[1]) < 100*time.Millisecond {
		t.Fatalf("tries at %v: no exponential backoff", tries)
	}

	// Out of attempts: the refusal is returned, and it is Temporary.
	refusals.Store(-100)
	c2 := dial(t, f, &Options{Retry: RetryPolicy{Attempts: 2, Backoff: time.Millisecond}})
	_, err = c2.Submit(ctx(t), hello())
	var se *StatusError
	if !errors.As(err, &se) || se.Status != pdu.StatusThrottled || !Temporary(err) {
		t.Fatalf("after the last attempt: %v", err)
	}
	// A permanent refusal is not retried.
	f2 := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.SubmitSM); ok {
			return &pdu.SubmitSMResp{Header: pdu.Header{Status: pdu.StatusInvDstAdr, Sequence: p.Hdr().Sequence}}
		}
		return defaultAnswer(p)
	})
	c3 := dial(t, f2, nil)
	if _, err := c3.Submit(ctx(t), hello()); Temporary(err) || f2.received.Load() != 2 {
		t.Fatalf("permanent refusal: %v after %d requests", err, f2.received.Load())
	}
}

func TestSubmitText(t *testing.T) {
	got := make(chan *pdu.SubmitSM, 4)
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if sm, ok := p.(*pdu.SubmitSM); ok {
			got <- sm
		}
		return defaultAnswer(p)
	})
	c := dial(t, f, nil)
	text := strings.Repeat("Su envío llegó a tiempo. ", 5) // UCS-2, 125 units: 2 parts
	tmpl := &pdu.SubmitSM{SourceAddr: "ACME", DestinationAddr: "584121234567", RegisteredDelivery: 1}
	ids, err := c.SubmitText(ctx(t), tmpl, text, coding.SplitOptions{})
	if err != nil || len(ids) != 2 {
		t.Fatalf("SubmitText = %v, %v", ids, err)
	}
	var re coding.Reassembler
	var whole []byte
	for i := 0; i < 2; i++ {
		sm := <-got
		if sm.DataCoding != uint8(coding.UCS2) || sm.ESMClass&coding.ESMClassUDHI == 0 || sm.RegisteredDelivery != 1 {
			t.Fatalf("part %d: dc %d esm %x", i, sm.DataCoding, sm.ESMClass)
		}
		part, ok, err := coding.PartFromDeliverSM((*pdu.DeliverSM)(sm), "k")
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		if b, done, _ := re.Add(part); done {
			whole = b
		}
	}
	if s, _ := coding.Decode(whole, coding.UCS2); s != text {
		t.Fatalf("reassembled %q", s)
	}
	if len(tmpl.ShortMessage) != 0 || tmpl.ESMClass != 0 {
		t.Fatal("the template was modified")
	}
}

type stateLog struct {
	mu     sync.Mutex
	states []ConnState
	ch     chan ConnState
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan ConnState, 100)} }

func (l *stateLog) record(s ConnState, err error) {
	l.mu.Lock()
	l.states = append(l.states, s)
	l.mu.Unlock()
	l.ch <- s
}

func (l *stateLog) waitFor(t *testing.T, want ConnState) {
	t.Helper()
	for {
		select {
		case s := <-l.ch:
			if s == want {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s; states %v", want, l.snapshot())
		}
	}
}

func (l *stateLog) snapshot() []ConnState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ConnState(nil), l.states...)
}

func TestSupervisorReconnects(t *testing.T) {
	f := newFakeSMSC(t, nil)
	log := newStateLog()
	s := Supervise(f.ln.Addr().String(), &Options{SystemID: "s", EnquireLink: -1},
		&SupervisorOptions{MinBackoff: 10 * time.Millisecond, OnState: log.record})
	defer s.Close()
	if _, err := s.Submit(ctx(t), hello()); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Wait(ctx(t))
	f.dropAll()
	log.waitFor(t, Disconnected)
	log.waitFor(t, Bound)
	second, err := s.Wait(ctx(t))
	if err != nil || second == first {
		t.Fatalf("after the drop: %v, same client %v", err, second == first)
	}
	if _, err := s.Submit(ctx(t), hello()); err != nil {
		t.Fatalf("submit after rebind: %v", err)
	}
	s.Close()
	s.Close()
	log.waitFor(t, Stopped)
	if _, err := s.Submit(ctx(t), hello()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	want := []ConnState{Connecting, Bound, Disconnected, Connecting, Bound, Stopped}
	if got := log.snapshot(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v, want %v", got, want)
	}
}

func TestSupervisorRetriesBind(t *testing.T) {
	var binds atomic.Int64
	f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
		if _, ok := p.(*pdu.BindTransceiver); ok && binds.Add(1) <= 2 {
			return &pdu.BindTransceiverResp{Header: pdu.Header{Status: pdu.StatusSysErr, Sequence: p.Hdr().Sequence}}
		}
		return defaultAnswer(p)
	})
	log := newStateLog()
	start := time.Now()
	s := Supervise(f.ln.Addr().String(), &Options{SystemID: "s"},
		&SupervisorOptions{MinBackoff: 20 * time.Millisecond, OnState: log.record})
	defer s.Close()
	if _, err := s.Wait(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Two failures: pauses of ~20ms then ~40ms before the third try.
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("bound after %v: no backoff", d)
	}
	got := log.snapshot()
	want := []ConnState{Connecting, BindFailed, Connecting, BindFailed, Connecting, Bound}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	// Closing while waiting for a bind stops at once.
	g := Supervise("127.0.0.1:1", nil, &SupervisorOptions{MinBackoff: time.Hour})
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on an unreachable SMSC: %v", err)
	}
	g.Close()
}

// A refusal of one message for a reason of its own (ESME_RSYSERR, 0xFE)
// is Temporary, but neither pauses the client nor is retried by Submit:
// only throttling does.
func TestOneMessagesRefusalDoesNotPauseTheClient(t *testing.T) {
	for _, status := range []pdu.Status{pdu.StatusSysErr, pdu.StatusDeliveryFailure} {
		t.Run(status.Name(), func(t *testing.T) {
			var refused atomic.Bool
			f := newFakeSMSC(t, func(p pdu.PDU) pdu.PDU {
				if sm, ok := p.(*pdu.SubmitSM); ok && sm.DestinationAddr == "bad" && !refused.Swap(true) {
					return &pdu.SubmitSMResp{Header: pdu.Header{Status: status, Sequence: p.Hdr().Sequence}}
				}
				return defaultAnswer(p)
			})
			c := dial(t, f, &Options{Retry: RetryPolicy{Backoff: 5 * time.Second}})
			bad := hello()
			bad.DestinationAddr = "bad"
			_, err := c.Submit(ctx(t), bad)
			require.Error(t, err)
			assert.True(t, Temporary(err), "temporary: %v", err)
			assert.False(t, Throttling(err), "throttling: %v", err)
			start := time.Now()
			_, err = c.Submit(ctx(t), hello())
			require.NoError(t, err)
			assert.Less(t, time.Since(start), time.Second, "the next submit waited out a pause")
			assert.EqualValues(t, 3, f.received.Load(), "bind and two submits: the refusal was retried")
		})
	}
}
