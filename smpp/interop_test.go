package smpp

// Session-level interoperability with github.com/fiorix/go-smpp (test-only
// dependency): our Client against fiorix's smpptest server, and fiorix's
// Transceiver against our Server.

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	fsmpp "github.com/fiorix/go-smpp/smpp"
	fpdu "github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	fsmpptest "github.com/fiorix/go-smpp/smpp/smpptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
	c, err := NewClient(ctx(t), &bindSeqFix{Conn: raw}, &Options{SystemID: fsmpptest.DefaultUser, Password: fsmpptest.DefaultPasswd,
		EnquireLink: 20 * time.Millisecond,
		Handler:     HandlerFunc(func(ctx context.Context, m *Message) pdu.Status { delivered <- m; return pdu.StatusOK })})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, fsmpptest.DefaultSystemID, c.SMSCSystemID(), "system id")
	id, err := c.Submit(ctx(t), &pdu.SubmitSM{SourceAddr: "ACME", DestinationAddr: "584121234567",
		RegisteredDelivery: 1, ShortMessage: []byte("hello world")})
	require.NoError(t, err, "Submit")
	require.Equal(t, "fx-1", id, "Submit")
	fx.mu.Lock()
	f := fx.submits[0].Fields()
	assert.Equal(t, "584121234567", f[pdufield.DestinationAddr].String(), "fiorix decoded %v", f)
	assert.Equal(t, "hello world", f[pdufield.ShortMessage].String(), "fiorix decoded %v", f)
	assert.Equal(t, byte(1), f[pdufield.RegisteredDelivery].Bytes()[0], "fiorix decoded %v", f)
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
	require.NoError(t, err)
	<-fx.gotResp
	fx.mu.Lock()
	assert.NotEqual(t, uint32(0), fx.deliverResp[0], "malformed deliver_sm accepted")
	fx.mu.Unlock()
	select {
	case m := <-delivered:
		require.FailNowf(t, "malformed deliver_sm delivered", "%+v", m)
	default:
	}
	id, err = c.Submit(ctx(t), hello()) // after the malformed deliver_sm
	require.NoError(t, err, "Submit after the malformed deliver_sm")
	require.Equal(t, "fx-1", id, "Submit after the malformed deliver_sm")
	time.Sleep(100 * time.Millisecond) // some keepalives
	require.NoError(t, c.Unbind(ctx(t)))
	fx.mu.Lock()
	defer fx.mu.Unlock()
	assert.GreaterOrEqual(t, fx.links, 2, "enquire_link seen by fiorix (deliver_sm_resp %v)", fx.deliverResp)
	assert.Equal(t, 1, fx.unbinds, "unbind seen by fiorix (deliver_sm_resp %v)", fx.deliverResp)
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
	s := <-status
	require.Equal(t, fsmpp.Connected, s.Status(), "fiorix bind: %v", s.Error())
	ss := <-sessions
	resp, err := tx.Submit(&fsmpp.ShortMessage{Src: "ACME", Dst: "584121234567", Text: pdutext.Raw("hello world"),
		Register: pdufield.FinalDeliveryReceipt})
	require.NoError(t, err, "fiorix submit")
	require.Equal(t, "0A1B2C", resp.RespID(), "fiorix submit")
	sm := <-submitted
	assert.Equal(t, "584121234567", sm.DestinationAddr, "server got %+v", sm)
	assert.Equal(t, "hello world", string(sm.ShortMessage), "server got %+v", sm)
	assert.Equal(t, uint8(1), sm.RegisteredDelivery, "server got %+v", sm)

	r := coding.Receipt{ID: "0A1B2C", Submitted: 1, Delivered: 1, Stat: "DELIVRD", Err: "000", Text: "hello world",
		SubmitDate: time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC), DoneDate: time.Date(2026, 11, 22, 10, 31, 0, 0, time.UTC)}
	call, err := ss.Deliver(ctx(t), r.DeliverSM("584121234567", "ACME"))
	require.NoError(t, err)
	_, err = call.Wait(ctx(t))
	require.NoError(t, err, "deliver_sm_resp from fiorix")
	p := <-receipts
	text := p.Fields()[pdufield.ShortMessage].String()
	assert.Contains(t, text, "id:0A1B2C", "fiorix got receipt")
	assert.Contains(t, text, "stat:DELIVRD", "fiorix got receipt")
	got, ok := coding.ParseReceipt(p.Fields()[pdufield.ShortMessage].String(), time.UTC)
	if assert.True(t, ok, "round trip of the receipt: %+v", got) {
		assert.Equal(t, r.ID, got.ID, "round trip of the receipt")
	}

	// Our enquire_link, fiorix's answer.
	call, err = ss.Send(ctx(t), &pdu.EnquireLink{})
	require.NoError(t, err)
	_, err = call.Wait(ctx(t))
	require.NoError(t, err, "fiorix answering enquire_link")
	if !testing.Short() {
		// fiorix's enquire_link (10 s, its minimum), our answer: it
		// stays connected.
		before := ss.Stats().Received
		select {
		case s := <-status:
			require.FailNowf(t, "fiorix status changed", "%v %v", s.Status(), s.Error())
		case <-time.After(10500 * time.Millisecond):
		}
		assert.Greater(t, ss.Stats().Received, before, "no enquire_link from fiorix in 10.5 s")
	}
	// fiorix's Close unbinds.
	tx.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "session still open after fiorix unbound")
	}
	assert.Equal(t, StateClosed, ss.State())
}
