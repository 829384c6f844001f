package pdu

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unsafe"
)

// enc appends fields to a PDU being encoded, remembering the first error.
type enc struct {
	b   []byte
	cmd CommandID
	err error
}

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

// cstr appends a C-Octet string whose maximum size, NUL included, is max.
func (e *enc) cstr(field, s string, max int) {
	if len(s) == 0 {
		e.b = append(e.b, 0)
		return
	}
	if len(s) >= max || strings.IndexByte(s, 0) >= 0 {
		e.cstrError(field, s, max)
		return
	}
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
}

func (e *enc) cstrError(field, s string, max int) {
	if len(s) >= max {
		e.fail(&FieldError{Command: e.cmd, Field: field, Len: len(s) + 1, Max: max, Reason: "C-Octet string too long"})
		return
	}
	e.fail(&FieldError{Command: e.cmd, Field: field, Reason: "contains a NUL octet"})
}

// addr appends an address: its TON and NPI octets and the C-Octet string.
func (e *enc) addr(field string, ton, npi uint8, a string, max int) {
	e.b = append(e.b, ton, npi)
	e.cstr(field, a, max)
}

// time appends schedule_delivery_time / validity_period style fields: empty
// or a valid 16-character SMPP time, NUL-terminated.
func (e *enc) time(field, s string) {
	if s != "" {
		if err := checkTime(s); err != nil {
			e.fail(&FieldError{Command: e.cmd, Field: field, Reason: err.Error()})
			return
		}
	}
	e.cstr(field, s, 17)
}

// shortMessage appends sm_length and short_message.
func (e *enc) shortMessage(sm []byte) {
	if len(sm) > MaxShortMessage {
		e.fail(&FieldError{Command: e.cmd, Field: "short_message", Len: len(sm), Max: MaxShortMessage,
			Reason: "longer texts go in the message_payload TLV"})
		return
	}
	e.b = append(e.b, byte(len(sm)))
	e.b = append(e.b, sm...)
}

func (e *enc) tlvs(t TLVs) {
	if err := t.check(); err != nil {
		e.fail(&FieldError{Command: e.cmd, Field: "TLVs", Reason: err.reason})
		return
	}
	e.b = append(e.b, t.raw...)
}

func (e *enc) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// MaxShortMessage is the largest short_message (sm_length is one octet;
// the specification caps it at 254).
const MaxShortMessage = 254

// dec reads fields from a PDU body that the PDU owns (a private copy that
// is never written again), remembering the first error. Strings are views
// of that copy: decoding a PDU costs one allocation however many fields
// it has.
type dec struct {
	b   []byte
	i   int
	cmd CommandID
	seq uint32
	err *DecodeError
}

func (d *dec) fail(field string, st Status, reason string) {
	if d.err == nil {
		d.err = &DecodeError{Command: d.cmd, Sequence: d.seq, Status: st, Field: field, Reason: reason,
			Nack: !d.cmd.HasResponse()}
	}
}

func (d *dec) need(field string, n int) bool {
	if d.err != nil {
		return false
	}
	if len(d.b)-d.i < n {
		d.fail(field, StatusInvCmdLen, "body ends inside a mandatory field")
		return false
	}
	return true
}

// u8 reads one octet. The fast path is only a bounds check, small enough
// to inline; after an error the values read no longer matter.
func (d *dec) u8(field string) uint8 {
	if d.i >= len(d.b) {
		d.need(field, 1)
		return 0
	}
	v := d.b[d.i]
	d.i++
	return v
}

// octs reads n consecutive one-octet fields behind one bounds check;
// field names the first for errors. The result is zero-filled on error.
func (d *dec) octs(field string, n int) []byte {
	if len(d.b)-d.i < n {
		d.need(field, n)
		return make([]byte, n) // zeros; only on malformed input
	}
	v := d.b[d.i : d.i+n]
	d.i += n
	return v
}

func (d *dec) u32(field string) uint32 {
	if !d.need(field, 4) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b[d.i:])
	d.i += 4
	return v
}

// cstr reads a C-Octet string of at most max octets (NUL included); a
// longer or unterminated one is answered with st.
func (d *dec) cstr(field string, max int, st Status) string {
	if d.i < len(d.b) && d.b[d.i] == 0 && d.err == nil { // the common empty field
		d.i++
		return ""
	}
	if !d.need(field, 1) {
		return ""
	}
	rest := d.b[d.i:]
	if len(rest) > max {
		rest = rest[:max]
	}
	if n := bytes.IndexByte(rest, 0); n >= 0 {
		s := view(d.b[d.i : d.i+n])
		d.i += n + 1
		return s
	}
	if len(rest) == max {
		d.fail(field, st, "C-Octet string longer than its maximum")
	} else {
		d.fail(field, StatusInvCmdLen, "C-Octet string not terminated before the end of the body")
	}
	return ""
}

// addr reads an address: TON, NPI and a C-Octet string of at most max
// octets (a longer one is answered with st). field names the address;
// its TON and NPI are field+"_ton" and field+"_npi" in errors.
func (d *dec) addr(field string, max int, st Status) (ton, npi uint8, a string) {
	b := d.octs(field, 2)
	return b[0], b[1], d.cstr(field, max, st)
}

// time reads an SMPP time field; a malformed one is answered with st.
func (d *dec) time(field string, st Status) string {
	s := d.cstr(field, 17, st)
	if s != "" && d.err == nil {
		if err := checkTime(s); err != nil {
			d.fail(field, st, err.Error())
		}
	}
	return s
}

// octets reads n octets as a slice of the body whose capacity ends with
// it, so that appending to it never overwrites the following fields.
func (d *dec) octets(field string, n int) []byte {
	if n == 0 || !d.need(field, n) {
		return nil
	}
	v := d.b[d.i : d.i+n : d.i+n]
	d.i += n
	return v
}

func (d *dec) shortMessage() []byte {
	n := int(d.u8("sm_length"))
	if d.err != nil {
		return nil
	}
	if n > MaxShortMessage || len(d.b)-d.i < n {
		d.fail("short_message", StatusInvMsgLen, "sm_length exceeds the message or the body")
		return nil
	}
	return d.octets("short_message", n)
}

// tlvs reads the rest of the body as TLVs and checks their framing.
func (d *dec) tlvs() TLVs {
	if d.err != nil || d.i == len(d.b) {
		return TLVs{}
	}
	t := TLVs{raw: d.b[d.i:len(d.b):len(d.b)]}
	d.i = len(d.b)
	if err := t.check(); err != nil {
		d.fail("TLVs", err.status, err.reason)
		return TLVs{}
	}
	return t
}

// end fails if the body has octets left (for PDUs without TLVs).
func (d *dec) end() {
	if d.err == nil && d.i != len(d.b) {
		d.fail("", StatusInvCmdLen, "body longer than its fields")
	}
}

// view returns b as a string without copying. The caller guarantees that b
// is never modified afterwards (it belongs to a decoded PDU's private copy
// of its body).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// start checks src's header against the expected command, sets h, and
// makes d read from a private copy of the body.
func (d *dec) start(src []byte, id CommandID, h *Header) error {
	rh, err := ParseHeader(src)
	if err != nil {
		return err
	}
	if rh.ID != id {
		return &DecodeError{Command: rh.ID, Sequence: rh.Sequence, Status: StatusInvCmdID,
			Reason: "is not " + id.String(), Nack: true}
	}
	if int(rh.Length) != len(src) {
		return &DecodeError{Command: rh.ID, Sequence: rh.Sequence, Status: StatusInvCmdLen,
			Reason: "command_length differs from the PDU's size", Nack: true, Fatal: int(rh.Length) > len(src)}
	}
	h.Status, h.Sequence = rh.Status, rh.Sequence
	d.cmd, d.seq = id, rh.Sequence
	if body := src[HeaderLen:]; len(body) > 0 {
		d.b = make([]byte, len(body)) // make+copy of one slice: not zeroed first
		copy(d.b, body)
	}
	return nil
}

// result converts the decoder's error for returning.
func (d *dec) result() error {
	if d.err != nil {
		return d.err
	}
	return nil
}

func (e *enc) mandatoryTLVs(t TLVs, tags []Tag) {
	for _, tag := range tags {
		if !t.Has(tag) {
			e.fail(&FieldError{Command: e.cmd, Field: tag.String(), Reason: "mandatory TLV missing"})
			return
		}
	}
}

func (d *dec) mandatoryTLVs(t TLVs, tags []Tag) {
	for _, tag := range tags {
		if d.err == nil && !t.Has(tag) {
			d.fail(tag.String(), StatusMissingTLV, "mandatory TLV missing")
		}
	}
}
