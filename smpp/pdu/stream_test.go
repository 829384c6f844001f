package pdu

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestStreamRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	all := samples()
	names := sortedNames(all)
	for _, n := range names {
		if err := w.Write(all[n]); err != nil {
			t.Fatal(n, err)
		}
	}
	if buf.Len() != 0 {
		t.Fatal("Writer wrote before Flush")
	}
	if w.Buffered() == 0 {
		t.Fatal("nothing buffered")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf, 0)
	for _, n := range names {
		p, err := r.Read()
		if err != nil {
			t.Fatal(n, err)
		}
		if p.CommandID() != all[n].CommandID() || p.Hdr().Sequence != all[n].Hdr().Sequence {
			t.Fatalf("%s: read %s seq %d", n, p.CommandID(), p.Hdr().Sequence)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("after the last PDU: %v, want io.EOF", err)
	}
}

func TestStreamErrors(t *testing.T) {
	good, _ := (&EnquireLink{Header: Header{Sequence: 1}}).Encode(nil)
	unknown := []byte{0, 0, 0, 16, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 2}

	// An unknown command is answered and the stream goes on.
	r := NewReader(bytes.NewReader(append(append(append([]byte{}, good...), unknown...), good...)), 0)
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Read()
	var de *DecodeError
	if !errors.As(err, &de) || de.Fatal || !de.Nack || de.Status != StatusInvCmdID || de.Sequence != 2 {
		t.Fatalf("unknown command: %v", err)
	}
	if _, err := r.Read(); err != nil {
		t.Fatalf("after an unknown command: %v", err)
	}

	// A huge command_length is refused before anything is allocated for it.
	huge := []byte{0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5}
	r = NewReader(bytes.NewReader(huge), 1024)
	_, err = r.Read()
	if !errors.As(err, &de) || !de.Fatal || de.Status != StatusInvCmdLen || de.Command != SubmitSMID || de.Sequence != 5 {
		t.Fatalf("huge length: %v", err)
	}
	if cap(r.buf) > 1024 {
		t.Fatalf("allocated %d octets for a refused PDU", cap(r.buf))
	}

	// command_length below the header size.
	r = NewReader(bytes.NewReader([]byte{0, 0, 0, 3, 1, 2, 3}), 0)
	if _, err := r.Read(); !errors.As(err, &de) || !de.Fatal {
		t.Fatalf("length 3: %v", err)
	}

	// End of stream inside a PDU.
	r = NewReader(bytes.NewReader(good[:10]), 0)
	if _, err := r.Read(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated PDU: %v", err)
	}
	r = NewReader(bytes.NewReader(good[:2]), 0)
	if _, err := r.Read(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated length: %v", err)
	}

	// An encoding error writes nothing.
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(&SubmitSM{SourceAddr: string(make([]byte, 30))}); err == nil {
		t.Fatal("bad PDU written")
	}
	if w.Buffered() != 0 {
		t.Fatal("a failed Write left octets in the buffer")
	}
}

func TestStatusAndCommandNames(t *testing.T) {
	if StatusThrottled.Name() != "ESME_RTHROTTLED" || !StatusThrottled.Temporary() || StatusInvDstAdr.Temporary() {
		t.Fatal("status names or Temporary")
	}
	if Status(0x400).Name() != "vendor-specific 0x00000400" {
		t.Fatal(Status(0x400).Name())
	}
	err := error(&StatusError{Command: SubmitSMID, Status: StatusMsgQFul})
	var se *StatusError
	if !errors.As(err, &se) || !se.Temporary() || se.Error() == "" {
		t.Fatal("StatusError")
	}
	if SubmitSMID.Response() != SubmitSMRespID || !SubmitSMRespID.IsResponse() || OutbindID.HasResponse() ||
		!SubmitSMID.HasResponse() || CommandID(0x77).Known() || DataSMID.String() != "data_sm" {
		t.Fatal("command ids")
	}
	if TagMessagePayload.String() != "message_payload" || Tag(0x1400).String() != "vendor TLV 0x1400" {
		t.Fatal("tag names")
	}
}

// PDUs larger than the reader's buffer are read whole too, between small
// ones read in place.
func TestReaderLargePDU(t *testing.T) {
	small := &EnquireLink{Header: Header{Sequence: 1}}
	big := &DataSM{Header: Header{Sequence: 2}, SourceAddr: "1", DestinationAddr: "2"}
	big.TLVs.SetMessagePayload(bytes.Repeat([]byte{'x'}, 65535))
	var stream []byte
	for _, p := range []PDU{small, big, small, big, small} {
		var err error
		if stream, err = p.Encode(stream); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(bytes.NewReader(stream), 0)
	for i, want := range []CommandID{EnquireLinkID, DataSMID, EnquireLinkID, DataSMID, EnquireLinkID} {
		p, err := r.Read()
		if err != nil || p.CommandID() != want {
			t.Fatalf("PDU %d: %v, %v", i, p, err)
		}
		if d, ok := p.(*DataSM); ok {
			if pl, _ := d.TLVs.MessagePayload(); len(pl) != 65535 {
				t.Fatalf("payload of %d octets", len(pl))
			}
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}
