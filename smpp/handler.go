package smpp

import (
	"context"
	"sync"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// MessageKind says what the SMSC delivered.
type MessageKind int

// Message kinds.
const (
	KindMO      MessageKind = iota // a message from a mobile (a reply)
	KindReceipt                    // a delivery receipt
	KindAlert                      // alert_notification: a mobile became available
)

// Message is what the SMSC delivered: a whole message (the parts of a long
// one joined), a delivery receipt, or an alert.
type Message struct {
	Kind        MessageKind
	PDU         pdu.PDU // the (last) deliver_sm, data_sm or alert_notification
	Source      string
	Destination string
	DataCoding  coding.DataCoding
	Data        []byte // the user data without its header, parts joined (GSM 7-bit: unpacked septets)
	Text        string // Data decoded, when the coding is a text coding
	Parts       int    // 1, or the number of parts joined
	Receipt     *coding.Receipt
	// Locking and Single are the national language tables that the user
	// data header (of the first part) names, with which Text was decoded
	// from GSM 7-bit Data (coding.DecodeGSM7Lang); DefaultLanguage when
	// it names none.
	Locking, Single coding.Language

	answer   func(pdu.Status) // sends the PDU's response; nil for alerts
	deferred bool
}

// Defer takes over answering the message's PDU: the handler's return
// value is then ignored, and the returned function sends the response
// with the status given, from any goroutine, once (later calls do
// nothing). Use it to acknowledge a message only once it is stored,
// without holding up the session's reader meanwhile; until it is
// answered the SMSC counts the PDU in its window, and may send it again
// if it is never answered. Must be called from HandleMessage. Alerts have
// no response: for them it returns a function that does nothing.
func (m *Message) Defer() func(pdu.Status) {
	if m.answer == nil {
		return func(pdu.Status) {}
	}
	m.deferred = true
	answer := m.answer
	var once sync.Once
	return func(st pdu.Status) { once.Do(func() { answer(st) }) }
}

// Handler receives what the SMSC sends. HandleMessage runs on the
// session's reader: it must return quickly (hand slow work to another
// goroutine). Its status answers the PDU: pdu.StatusOK accepts it,
// pdu.StatusXTAppn asks the SMSC to deliver it again later. The parts of a
// long message are accepted as they come; the status answers the part
// that completed it. Alerts have no answer.
type Handler interface {
	HandleMessage(ctx context.Context, m *Message) pdu.Status
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, m *Message) pdu.Status

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(ctx context.Context, m *Message) pdu.Status { return f(ctx, m) }

// inbound turns deliver_sm / data_sm / alert_notification into Messages.
type inbound struct {
	h   Handler
	ctx context.Context
	re  coding.Reassembler
	// packedGSM unpacks GSM 7-bit user data (Options.InboundPackedGSM).
	packedGSM bool
}

// deliver handles a deliver_sm or data_sm; answer sends its response,
// now or, when the handler defers it, later.
func (in *inbound) deliver(p pdu.PDU, answer func(pdu.Status)) {
	if st, answered := in.deliverMessage(p, answer); !answered {
		answer(st)
	}
}

// deliverMessage returns the status to answer with, or answered when the
// handler took over answering.
func (in *inbound) deliverMessage(p pdu.PDU, answer func(pdu.Status)) (st pdu.Status, answered bool) {
	var d *pdu.DeliverSM
	switch v := p.(type) {
	case *pdu.DeliverSM:
		d = v
	case *pdu.DataSM:
		// data_sm carries its message in message_payload; read it as a
		// deliver_sm with the same addresses.
		d = &pdu.DeliverSM{Header: v.Header, SourceAddrTON: v.SourceAddrTON, SourceAddrNPI: v.SourceAddrNPI,
			SourceAddr: v.SourceAddr, DestAddrTON: v.DestAddrTON, DestAddrNPI: v.DestAddrNPI,
			DestinationAddr: v.DestinationAddr, ESMClass: v.ESMClass, RegisteredDelivery: v.RegisteredDelivery,
			DataCoding: v.DataCoding, TLVs: v.TLVs}
	}
	m := &Message{Kind: KindMO, PDU: p, Source: d.SourceAddr, Destination: d.DestinationAddr,
		DataCoding: coding.DataCoding(d.DataCoding), Parts: 1, answer: answer}
	if r, ok := coding.ReceiptFromDeliverSM(d, nil); ok {
		m.Kind, m.Receipt = KindReceipt, &r
		m.Data = d.ShortMessage
		m.Text = string(d.ShortMessage)
		return in.call(m)
	}
	part, isPart, err := coding.PartFromDeliverSM(d, d.SourceAddr+"\x00"+d.DestinationAddr)
	if err != nil {
		return pdu.StatusInvMsgLen, false
	}
	isGSM := m.DataCoding.Alphabet() == coding.GSM7
	if in.packedGSM && isGSM {
		ud := d.ShortMessage
		if len(ud) == 0 {
			ud, _ = d.TLVs.MessagePayload()
		}
		udhLen := len(ud) - len(part.Data) // 0 without a header
		part.Data = coding.Unpack(nil, part.Data, (7-udhLen*8%7)%7)
	}
	if isPart {
		whole, done, err := in.re.Assemble(part)
		if err != nil {
			return pdu.StatusInvMsgLen, false
		}
		if !done {
			return pdu.StatusOK, false // kept until the other parts arrive
		}
		part, m.Parts = whole, int(part.Concat.Total)
	}
	m.Data = part.Data
	var text string
	if isGSM {
		m.Locking, m.Single = part.Locking, part.Single
		text, err = coding.DecodeGSM7Lang(part.Data, part.Locking, part.Single)
	} else {
		text, err = coding.Decode(part.Data, m.DataCoding)
	}
	if err == nil && m.DataCoding.Alphabet() != coding.Binary && m.DataCoding.Alphabet() != coding.Binary8 {
		m.Text = text
	}
	return in.call(m)
}

func (in *inbound) alert(p *pdu.AlertNotification) {
	in.call(&Message{Kind: KindAlert, PDU: p, Source: p.SourceAddr, Destination: p.ESMEAddr})
}

func (in *inbound) call(m *Message) (pdu.Status, bool) {
	if in.h == nil {
		return pdu.StatusOK, false
	}
	st := in.h.HandleMessage(in.ctx, m)
	return st, m.deferred
}
