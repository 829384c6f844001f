package coding

import (
	"errors"
	"fmt"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Information element ids of the user data header (3GPP TS 23.040 9.2.3.24).
const (
	IEIConcat8      = 0x00 // concatenated message, 8-bit reference
	IEIConcat16     = 0x08 // concatenated message, 16-bit reference
	IEISingleShift  = 0x24 // national language single shift: one octet, a Language
	IEILockingShift = 0x25 // national language locking shift: one octet, a Language
)

// ESMClassUDHI is the esm_class bit that says short_message starts with a
// user data header.
const ESMClassUDHI = 0x40

// IE is one information element of a user data header.
type IE struct {
	ID   byte
	Data []byte
}

// ErrUDH is returned (wrapped) for a malformed user data header.
var ErrUDH = errors.New("smpp/coding: malformed user data header")

// ParseUDH splits user data that starts with a header (UDHL, then the
// elements) into the elements and the payload that follows. The results
// alias ud.
func ParseUDH(ud []byte) (ies []IE, payload []byte, err error) {
	if len(ud) == 0 {
		return nil, nil, fmt.Errorf("%w: empty user data", ErrUDH)
	}
	n := int(ud[0])
	if 1+n > len(ud) {
		return nil, nil, fmt.Errorf("%w: header length %d exceeds the %d octets", ErrUDH, n, len(ud)-1)
	}
	h := ud[1 : 1+n]
	for len(h) > 0 {
		if len(h) < 2 || 2+int(h[1]) > len(h) {
			return nil, nil, fmt.Errorf("%w: truncated element", ErrUDH)
		}
		ies = append(ies, IE{ID: h[0], Data: h[2 : 2+int(h[1]) : 2+int(h[1])]})
		h = h[2+int(h[1]):]
	}
	return ies, ud[1+n:], nil
}

// Concat identifies one part of a concatenated (long) message.
type Concat struct {
	Ref   uint16 // the message's reference, shared by its parts
	Total uint8  // number of parts
	Seq   uint8  // this part, 1..Total
}

func (c Concat) valid() bool { return c.Total > 0 && c.Seq > 0 && c.Seq <= c.Total }

// ConcatFromUDH finds the concatenation element of a header.
func ConcatFromUDH(ies []IE) (Concat, bool) {
	for _, ie := range ies {
		switch {
		case ie.ID == IEIConcat8 && len(ie.Data) == 3:
			c := Concat{Ref: uint16(ie.Data[0]), Total: ie.Data[1], Seq: ie.Data[2]}
			return c, c.valid()
		case ie.ID == IEIConcat16 && len(ie.Data) == 4:
			c := Concat{Ref: uint16(ie.Data[0])<<8 | uint16(ie.Data[1]), Total: ie.Data[2], Seq: ie.Data[3]}
			return c, c.valid()
		}
	}
	return Concat{}, false
}

// ConcatFromTLVs reads the sar_msg_ref_num, sar_total_segments and
// sar_segment_seqnum TLVs.
func ConcatFromTLVs(t pdu.TLVs) (Concat, bool) {
	ref, ok1 := t.SARMsgRefNum()
	total, ok2 := t.SARTotalSegments()
	seq, ok3 := t.SARSegmentSeqnum()
	c := Concat{Ref: ref, Total: total, Seq: seq}
	return c, ok1 && ok2 && ok3 && c.valid()
}

// appendUDH appends a user data header holding a concatenation element
// (when c is not nil; 16-bit reference when ref16) and the national
// language elements of the languages other than DefaultLanguage.
func appendUDH(dst []byte, c *Concat, ref16 bool, locking, single Language) []byte {
	start := len(dst)
	dst = append(dst, 0)
	switch {
	case c != nil && ref16:
		dst = append(dst, IEIConcat16, 4, byte(c.Ref>>8), byte(c.Ref), c.Total, c.Seq)
	case c != nil:
		dst = append(dst, IEIConcat8, 3, byte(c.Ref), c.Total, c.Seq)
	}
	if single != DefaultLanguage {
		dst = append(dst, IEISingleShift, 1, byte(single))
	}
	if locking != DefaultLanguage {
		dst = append(dst, IEILockingShift, 1, byte(locking))
	}
	dst[start] = byte(len(dst) - start - 1)
	return dst
}
