package smpp

// Session-level interoperability with github.com/fiorix/go-smpp (test-only
// dependency): our Client against fiorix's smpptest server, and fiorix's
// Transceiver against our Server.

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	fsmpp "github.com/fiorix/go-smpp/smpp"
	fpdu "github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	fsmpptest "github.com/fiorix/go-smpp/smpp/smpptest"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// fiorixSMSC answers like a minimal SMSC on fiorix's test server and keeps
// what it saw.
type fiorixSMSC struct {
	mu          sync.Mutex
	submits     []fpdu.Body
	links       int
	unbinds     int
	deliverResp []uint32 // command_status of each deliver_sm_resp
	conn        fsmpptest.Conn
	gotResp     chan struct{}
}

func (f *fiorixSMSC) handle(c fsmpptest.Conn, p fpdu.Body) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conn = c
	seq := p.Header().Seq
	switch p.Header().ID {
	case fpdu.SubmitSMID:
		f.submits = append(f.submits, p)
		resp := fpdu.NewSubmitSMResp()
		resp.Header().Seq = seq
		resp.Fields().Set(pdufield.MessageID, "fx-1")
		c.Write(resp)
	case fpdu.EnquireLinkID:
		f.links++
		c.Write(fpdu.NewEnquireLinkRespSeq(seq))
	case fpdu.UnbindID:
		f.unbinds++
		resp := fpdu.NewUnbindResp()
		resp.Header().Seq = seq
		c.Write(resp)
	case fpdu.DeliverSMRespID:
		f.deliverResp = append(f.deliverResp, uint32(p.Header().Status))
		f.gotResp <- struct{}{}
	}
}

// bindSeqFix works around a bug of fiorix's test server: it answers a
// bind with the next value of a process-wide sequence counter instead of
// the bind's sequence number, so only the first bind in a process is
// answered right. The connection puts the bind's number (1) back into the
// first PDU read.
type bindSeqFix struct {
	net.Conn
	hdr     []byte
	patched bool
}

func (c *bindSeqFix) Read(b []byte) (int, error) {
	if !c.patched {
		c.hdr = make([]byte, pdu.HeaderLen)
		if _, err := io.ReadFull(c.Conn, c.hdr); err != nil {
			return 0, err
		}
		binary.BigEndian.PutUint32(c.hdr[12:], 1)
		c.patched = true
	}
	if len(c.hdr) > 0 {
		n := copy(b, c.hdr)
		c.hdr = c.hdr[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

func TestInteropOurClientFiorixServer(t *testing.T) {
	fx := &fiorixSMSC{gotResp: make(chan struct{}, 4)}
	srv := fsmpptest.NewUnstartedServer()
	srv.Handler = fx.handle
	srv.Start()
	defer srv.Close()

	delivered := make(chan *Message, 4)
	raw, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ctx(t), &bindSeqFix{Conn: raw}, &Options{SystemID: fsmpptest.DefaultUser, Password: fsmpptest.DefaultPasswd,
		EnquireLink: 20 * time.Millisecond,
		Handler:     HandlerFunc(func(ctx context.Context, m *Message) pdu.Status { delivered <- m; return pdu.StatusOK })})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.SMSCSystemID() != fsmpptest.DefaultSystemID {
		t.Fatalf("system id %q", c.SMSCSystemID())
	}
	id, err := c.Submit(ctx(t), &pdu.SubmitSM{SourceAddr: "ACME", DestinationAddr: "584121234567",
		RegisteredDelivery: 1, ShortMessage: []byte("hello world")})
	if err != nil || id != "fx-1" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	fx.mu.Lock()
	f := fx.submits[0].Fields()
	if f[pdufield.DestinationAddr].String() != "584121234567" || f[pdufield.ShortMessage].String() != "hello world" ||
		f[pdufield.RegisteredDelivery].Bytes()[0] != 1 {
		t.Fatalf("fiorix decoded %v", f)
	}
	conn := fx.conn
	fx.mu.Unlock()

	// fiorix's deliver_sm encoder writes a stray octet after sm_length
	// (see pdu/interop_test.go; with a UDH, sm_length leaves out the UDH
	// length octet, which its own decoder counts), so no deliver_sm it
	// sends is well formed: the client answers it with an error status,
	// delivers nothing, and the session goes on. Receipts from an SMSC
	// are covered the other way round (fiorix's client decodes ours) and
	// against our own Server.
	d := fpdu.NewDeliverSM()
	d.Header().Seq = 77
	d.Fields().Set(pdufield.SourceAddr, "584121234567")
	d.Fields().Set(pdufield.DestinationAddr, "ACME")
	d.Fields().Set(pdufield.ESMClass, uint8(0x04))
	d.Fields().Set(pdufield.ShortMessage, []byte("id:fx-1 sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD err:000 text:hello"))
	fx.mu.Lock() // fiorix's test connection does not serialize writes
	err = conn.Write(d)
	fx.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	<-fx.gotResp
	fx.mu.Lock()
	if st := fx.deliverResp[0]; st == 0 {
		t.Fatalf("malformed deliver_sm accepted")
	}
	fx.mu.Unlock()
	select {
	case m := <-delivered:
		t.Fatalf("malformed deliver_sm delivered: %+v", m)
	default:
	}
	if id, err := c.Submit(ctx(t), hello()); err != nil || id != "fx-1" { // after the malformed deliver_sm
		t.Fatalf("Submit = %q, %v", id, err)
	}
	time.Sleep(100 * time.Millisecond) // some keepalives
	if err := c.Unbind(ctx(t)); err != nil {
		t.Fatal(err)
	}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	if fx.links < 2 || fx.unbinds != 1 {
		t.Fatalf("fiorix saw %d enquire_link, %d unbind, deliver_sm_resp %v", fx.links, fx.unbinds, fx.deliverResp)
	}
}

func TestInteropFiorixClientOurServer(t *testing.T) {
	t.Parallel() // fiorix's keepalive interval is at least 10 s
	sessions := make(chan *ServerSession, 1)
	closed := make(chan struct{})
	submitted := make(chan *pdu.SubmitSM, 1)
	srv := &Server{
		SystemID: "OURSMSC",
		Authenticate: func(ctx context.Context, b BindRequest) pdu.Status {
			if b.SystemID != "fx" || b.Password != "pw" {
				return pdu.StatusInvPaswd
			}
			return pdu.StatusOK
		},
		Handler: ServerHandlerFunc(func(ctx context.Context, s *ServerSession, req pdu.PDU) pdu.PDU {
			if sm, ok := req.(*pdu.SubmitSM); ok {
				submitted <- sm
				return &pdu.SubmitSMResp{MessageID: "0A1B2C"}
			}
			return &pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID}}
		}),
		OnBind:  func(s *ServerSession) { sessions <- s },
		OnClose: func(*ServerSession) { close(closed) },
	}
	addr := startServer(t, srv)

	receipts := make(chan fpdu.Body, 1)
	tx := &fsmpp.Transceiver{Addr: addr, User: "fx", Passwd: "pw", EnquireLink: 10 * time.Second,
		Handler: func(p fpdu.Body) {
			if p.Header().ID == fpdu.DeliverSMID {
				receipts <- p
			}
		}}
	status := tx.Bind()
	if s := <-status; s.Status() != fsmpp.Connected {
		t.Fatalf("fiorix bind: %v %v", s.Status(), s.Error())
	}
	ss := <-sessions
	resp, err := tx.Submit(&fsmpp.ShortMessage{Src: "ACME", Dst: "584121234567", Text: pdutext.Raw("hello world"),
		Register: pdufield.FinalDeliveryReceipt})
	if err != nil || resp.RespID() != "0A1B2C" {
		t.Fatalf("fiorix submit: %v, %v", resp, err)
	}
	if sm := <-submitted; sm.DestinationAddr != "584121234567" || string(sm.ShortMessage) != "hello world" || sm.RegisteredDelivery != 1 {
		t.Fatalf("server got %+v", sm)
	}

	r := coding.Receipt{ID: "0A1B2C", Submitted: 1, Delivered: 1, Stat: "DELIVRD", Err: "000", Text: "hello world",
		SubmitDate: time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC), DoneDate: time.Date(2026, 11, 22, 10, 31, 0, 0, time.UTC)}
	call, err := ss.Deliver(ctx(t), r.DeliverSM("584121234567", "ACME"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(ctx(t)); err != nil {
		t.Fatalf("deliver_sm_resp from fiorix: %v", err)
	}
	p := <-receipts
	if text := p.Fields()[pdufield.ShortMessage].String(); !strings.Contains(text, "id:0A1B2C") || !strings.Contains(text, "stat:DELIVRD") {
		t.Fatalf("fiorix got receipt %q", text)
	}
	if got, ok := coding.ParseReceipt(p.Fields()[pdufield.ShortMessage].String(), time.UTC); !ok || got.ID != r.ID {
		t.Fatalf("round trip of the receipt: %+v", got)
	}

	// Our enquire_link, fiorix's answer.
	call, err = ss.Send(ctx(t), &pdu.EnquireLink{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(ctx(t)); err != nil {
		t.Fatalf("fiorix answering enquire_link: %v", err)
	}
	if !testing.Short() {
		// fiorix's enquire_link (10 s, its minimum), our answer: it
		// stays connected.
		before := ss.Stats().Received
		select {
		case s := <-status:
			t.Fatalf("fiorix status changed: %v %v", s.Status(), s.Error())
		case <-time.After(10500 * time.Millisecond):
		}
		if ss.Stats().Received <= before {
			t.Fatal("no enquire_link from fiorix in 10.5 s")
		}
	}
	// fiorix's Close unbinds.
	tx.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("session still open after fiorix unbound")
	}
	if ss.State() != StateClosed {
		t.Fatalf("state %s", ss.State())
	}
}
