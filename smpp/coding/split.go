package coding

import (
	"errors"
	"fmt"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Method is how a long message is carried.
type Method int

// Long-message methods.
const (
	// UDH8 splits into parts with a concatenation header with an 8-bit
	// reference (IEI 0x00) in short_message, esm_class UDHI set.
	UDH8 Method = iota
	// UDH16 is UDH8 with a 16-bit reference (IEI 0x08).
	UDH16
	// SAR splits into parts numbered by the sar_* TLVs.
	SAR
	// Payload sends the whole message in one PDU, in the message_payload
	// TLV (up to 64 KiB; the SMSC splits it for the air interface).
	Payload
)

// SplitOptions says how to split. The zero value chooses the coding
// (GSM 7-bit or UCS-2), sends GSM 7-bit unpacked, splits by UDH8, and
// refuses characters the coding cannot carry.
type SplitOptions struct {
	Method Method
	// Ref is the reference shared by the parts (8-bit methods use its low
	// octet). Pick a different one per message and destination.
	Ref uint16
	// Coding, when Fixed, is used instead of the automatic choice.
	Coding DataCoding
	Fixed  bool
	// Packed sends GSM 7-bit packed (7 bits per character) instead of one
	// octet per septet.
	Packed bool
	// Replace, when not 0, replaces characters the coding cannot carry.
	Replace rune
	// MaxParts caps the number of parts (default and maximum 255).
	MaxParts int
}

// Segment is one PDU's worth of a message.
type Segment struct {
	ShortMessage []byte   // with the UDH first for the UDH methods
	UDHI         bool     // set ESMClassUDHI in esm_class
	TLVs         pdu.TLVs // sar_* TLVs, or message_payload
}

// Apply sets the segment's short_message, esm_class UDHI bit, data_coding
// and TLVs on a submit_sm, keeping its other TLVs.
func (s Segment) Apply(p *pdu.SubmitSM, dc DataCoding) {
	p.ShortMessage = s.ShortMessage
	p.DataCoding = uint8(dc)
	if s.UDHI {
		p.ESMClass |= ESMClassUDHI
	}
	for tag, v := range s.TLVs.All() {
		p.TLVs.Set(tag, v)
	}
}

// ErrTooManyParts is returned when a message needs more parts than allowed.
var ErrTooManyParts = errors.New("smpp/coding: message needs too many parts")

// Capacity is the size of one message of coding dc, in that coding's units
// (septets, octets, UTF-16 units), alone and as a part of a long message
// carried by m.
func Capacity(dc DataCoding, m Method) (single, part int) {
	bits := 140 * 8
	hdr := 0
	switch m {
	case UDH8, SAR: // SAR parts leave the SMSC room for its UDH on the air
		hdr = 6 * 8
	case UDH16:
		hdr = 7 * 8
	}
	switch dc.Alphabet() {
	case GSM7:
		return bits / 7, (bits - hdr) / 7 // the fill bits fall out of the division
	case UCS2:
		return bits / 16, (bits - hdr) / 16
	}
	return bits / 8, (bits - hdr) / 8
}

// Split encodes text and cuts it into the segments of method o.Method. A
// text that fits in one message is one segment without header or TLVs.
// Parts never split a GSM escape pair or a UTF-16 surrogate pair.
func Split(text string, o SplitOptions) (DataCoding, []Segment, error) {
	dc := o.Coding
	if !o.Fixed {
		dc, _ = Choose(text)
	}
	replace := o.Replace
	if replace == 0 {
		replace = -1
	}
	enc, err := Encode(nil, text, dc, replace)
	if err != nil {
		return dc, nil, err
	}
	isGSM := dc.Alphabet() == GSM7
	if o.Method == Payload {
		if len(enc) > 65535 {
			return dc, nil, fmt.Errorf("smpp/coding: %d octets exceed message_payload's 65535", len(enc))
		}
		var s Segment
		s.TLVs.SetMessagePayload(enc)
		return dc, []Segment{s}, nil
	}
	single, part := Capacity(dc, o.Method)
	unit := 1 // octets per unit in enc
	if dc.Alphabet() == UCS2 {
		unit = 2
	}
	if len(enc)/unit <= single {
		return dc, []Segment{{ShortMessage: body(enc, isGSM && o.Packed, 0)}}, nil
	}
	maxParts := o.MaxParts
	if maxParts <= 0 || maxParts > 255 {
		maxParts = 255
	}
	var chunks [][]byte
	for rest := enc; len(rest) > 0; {
		n := part * unit
		if n >= len(rest) {
			n = len(rest)
		} else if isGSM && rest[n-1] == gsmEscape {
			n-- // keep the escape with its character
		} else if unit == 2 && rest[n-2]&0xFC == 0xD8 {
			n -= 2 // keep a high surrogate with its low one
		}
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
		if len(chunks) > maxParts {
			return dc, nil, fmt.Errorf("%w: more than %d", ErrTooManyParts, maxParts)
		}
	}
	segs := make([]Segment, len(chunks))
	for i, ch := range chunks {
		c := Concat{Ref: o.Ref, Total: uint8(len(chunks)), Seq: uint8(i + 1)}
		switch o.Method {
		case SAR:
			segs[i].ShortMessage = body(ch, isGSM && o.Packed, 0)
			segs[i].TLVs.SetSARMsgRefNum(c.Ref)
			segs[i].TLVs.SetSARTotalSegments(c.Total)
			segs[i].TLVs.SetSARSegmentSeqnum(c.Seq)
		default:
			if o.Method == UDH8 {
				c.Ref &= 0xFF
			}
			udh := appendConcatUDH(nil, c, o.Method == UDH16)
			fill := 0
			if isGSM && o.Packed {
				fill = (7 - len(udh)*8%7) % 7
			}
			segs[i].ShortMessage = append(udh, body(ch, isGSM && o.Packed, fill)...)
			segs[i].UDHI = true
		}
	}
	return dc, segs, nil
}

// body is the payload of a part: the encoded text, packed if asked.
func body(enc []byte, pack bool, fill int) []byte {
	if !pack {
		return enc
	}
	return Pack(nil, enc, fill)
}
