package pdu_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Encode a submit_sm into a reusable buffer and decode it back.
func Example() {
	sm := pdu.SubmitSM{
		Header:             pdu.Header{Sequence: 1},
		SourceAddr:         "ACME",
		DestAddrTON:        1,
		DestAddrNPI:        1,
		DestinationAddr:    "584121234567",
		RegisteredDelivery: 1,
		ShortMessage:       []byte("hello world"),
	}
	buf := make([]byte, 0, 256)
	buf, err := sm.Encode(buf[:0]) // no allocation: buf has room
	if err != nil {
		log.Fatal(err)
	}
	p, err := pdu.Decode(buf)
	if err != nil {
		log.Fatal(err)
	}
	got := p.(*pdu.SubmitSM)
	fmt.Println(len(buf), got.CommandID(), got.DestinationAddr, string(got.ShortMessage))
	// Output: 60 submit_sm 584121234567 hello world
}

// A field beyond the specification's limit is refused with its name and
// the limit.
func ExampleFieldError() {
	_, err := (&pdu.SubmitSM{SourceAddr: "a source address that is too long"}).Encode(nil)
	var fe *pdu.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field, fe.Max)
	}
	// Output: source_addr 21
}

// Read PDUs from a stream; a malformed one says how to answer it.
func ExampleReader() {
	var stream bytes.Buffer
	w := pdu.NewWriter(&stream)
	w.Write(&pdu.EnquireLink{Header: pdu.Header{Sequence: 1}})
	w.Flush()
	stream.Write([]byte{0, 0, 0, 16, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 2}) // unknown command 0x77

	r := pdu.NewReader(&stream, 4096)
	for {
		p, err := r.Read()
		var de *pdu.DecodeError
		switch {
		case err == nil:
			fmt.Println("read", p.CommandID(), p.Hdr().Sequence)
			continue
		case errors.As(err, &de):
			fmt.Println("answer with generic_nack:", de.Nack, de.Status, "sequence", de.Sequence, "go on:", !de.Fatal)
			continue
		}
		break // io.EOF
	}
	// Output:
	// read enquire_link 1
	// answer with generic_nack: true ESME_RINVCMDID sequence 2 go on: true
}

// TLVs keep their order; standard tags have typed accessors.
func ExampleTLVs() {
	var t pdu.TLVs
	t.SetReceiptedMessageID("0A1B2C")
	t.SetMessageState(pdu.StateDelivered)
	t.Add(0x1401, []byte("vendor")) // unknown tags are kept as they are
	id, _ := t.ReceiptedMessageID()
	st, _ := t.MessageState()
	for tag := range t.All() {
		fmt.Print(tag, "; ")
	}
	fmt.Println(id, st)
	// Output: receipted_message_id; message_state; vendor TLV 0x1401; 0A1B2C 2
}
