package coding

import (
	"errors"
	"fmt"
	"slices"

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
// (GSM 7-bit or UCS-2), sends GSM 7-bit unpacked, splits by UDH8,
// refuses characters the coding cannot carry, and uses no national
// language tables.
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
	// Languages opts in to the national language tables of 3GPP TS 23.038
	// Annex A (not every SMSC and handset passes or honours them). When
	// the text is not in the GSM 7-bit default alphabet, Split tries
	// every pair of a locking shift table (the default alphabet's or that
	// of one of these languages) and a single shift table (likewise) that
	// carries the text, and sends it in GSM 7-bit with the pair that takes
	// the fewest parts, counting in each part's capacity the user data
	// header elements that name the tables (IEISingleShift,
	// IEILockingShift: 3 octets each, plus the header's length octet when
	// there is no concatenation element): 155 septets in one message with
	// one table named, 152 with two; 149 and 146 in a UDH8 or SAR part. A
	// tie goes to fewer elements, then to the default alphabet with a
	// single shift table (a handset that ignores the elements garbles
	// only that table's characters), then to fewer septets, then to the
	// earlier language. UCS-2 is kept unless the pair takes fewer parts
	// (with Fixed, the pair is used whenever one carries the text).
	//
	// The elements go in a user data header of every part, UDHI set: with
	// the concatenation element for UDH8 and UDH16; alone for SAR, whose
	// part capacity leaves room for the concatenation element the SMSC
	// adds; alone in a message that is not split. Payload carries no
	// header, so with Payload Languages is ignored.
	Languages []Language
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
// text that fits in one message is one segment without header or TLVs
// (with only the national language elements, when o.Languages chose
// tables). Parts never split a GSM escape pair or a UTF-16 surrogate
// pair.
func Split(text string, o SplitOptions) (DataCoding, []Segment, error) {
	dc := o.Coding
	if !o.Fixed {
		dc, _ = Choose(text)
	}
	replace := o.Replace
	if replace == 0 {
		replace = -1
	}
	maxParts := o.MaxParts
	if maxParts <= 0 || maxParts > 255 {
		maxParts = 255
	}
	enc, err := Encode(nil, text, dc, replace)
	var nl tables // the national language tables, when chosen
	if len(o.Languages) > 0 && o.Method != Payload {
		if dc, nl = o.tables(text, dc, enc, maxParts); nl.named() {
			enc, err = AppendGSM7Lang(nil, text, nl.locking, nl.single, -1)
		}
	}
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
	if nl.named() {
		single, part = gsmCapacity(o.Method, nl.ieOctets())
	}
	unit := 1 // octets per unit in enc
	if dc.Alphabet() == UCS2 {
		unit = 2
	}
	chunks, err := cut(enc, unit, single, part, maxParts)
	if err != nil {
		return dc, nil, err
	}
	pack := isGSM && o.Packed
	langUDH := func() []byte { // a header of the language elements alone, or none
		if !nl.named() {
			return nil
		}
		return appendUDH(nil, nil, false, nl.locking, nl.single)
	}
	if len(chunks) == 1 {
		udh := langUDH()
		return dc, []Segment{{ShortMessage: body(udh, enc, pack), UDHI: udh != nil}}, nil
	}
	segs := make([]Segment, len(chunks))
	for i, ch := range chunks {
		c := Concat{Ref: o.Ref, Total: uint8(len(chunks)), Seq: uint8(i + 1)}
		switch o.Method {
		case SAR:
			udh := langUDH()
			segs[i].ShortMessage, segs[i].UDHI = body(udh, ch, pack), udh != nil
			segs[i].TLVs.SetSARMsgRefNum(c.Ref)
			segs[i].TLVs.SetSARTotalSegments(c.Total)
			segs[i].TLVs.SetSARSegmentSeqnum(c.Seq)
		default:
			if o.Method == UDH8 {
				c.Ref &= 0xFF
			}
			udh := appendUDH(nil, &c, o.Method == UDH16, nl.locking, nl.single)
			segs[i].ShortMessage = body(udh, ch, pack)
			segs[i].UDHI = true
		}
	}
	return dc, segs, nil
}

// tables decides whether text goes in GSM 7-bit with national language
// tables (see SplitOptions.Languages), given the coding dc chosen without
// them and the text encoded in it (enc, when the encoding succeeded).
func (o SplitOptions) tables(text string, dc DataCoding, enc []byte, maxParts int) (DataCoding, tables) {
	switch {
	case !o.Fixed && dc == UCS2:
		single, part := Capacity(UCS2, o.Method)
		ucs2Parts := maxParts + 1
		if chunks, err := cut(enc, 2, single, part, maxParts); err == nil {
			ucs2Parts = len(chunks)
		}
		if t, ok := chooseTables(text, o.Method, o.Languages, maxParts); ok && t.parts < ucs2Parts {
			return GSM7, t
		}
	case o.Fixed && dc.Alphabet() == GSM7:
		if _, ok := Septets(text); !ok {
			if t, ok := chooseTables(text, o.Method, o.Languages, maxParts); ok {
				return dc, t
			}
		}
	}
	return dc, tables{}
}

// cut cuts enc (units of unit octets) into chunks: one when it has at
// most single units, else parts of at most part units that never end
// inside a GSM escape pair (unit 1) or before the low half of a UTF-16
// surrogate pair (unit 2).
func cut(enc []byte, unit, single, part, maxParts int) ([][]byte, error) {
	if len(enc)/unit <= single {
		return [][]byte{enc}, nil
	}
	var chunks [][]byte
	for rest := enc; len(rest) > 0; {
		n := part * unit
		if n >= len(rest) {
			n = len(rest)
		} else if unit == 1 && rest[n-1] == gsmEscape {
			n-- // keep the escape with its character
		} else if unit == 2 && rest[n-2]&0xFC == 0xD8 {
			n -= 2 // keep a high surrogate with its low one
		}
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
		if len(chunks) > maxParts {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyParts, maxParts)
		}
	}
	return chunks, nil
}

// gsmCapacity is Capacity for GSM 7-bit when ie octets of national
// language elements join the user data header.
func gsmCapacity(m Method, ie int) (single, part int) {
	single = 160
	if ie > 0 {
		single = (140*8 - (1+ie)*8) / 7 // the fill bits fall out of the division
	}
	hdr := 6 // UDH8; SAR leaves room for the SMSC's concatenation element
	if m == UDH16 {
		hdr = 7
	}
	return single, (140*8 - (hdr+ie)*8) / 7
}

// tables is a choice of national language tables.
type tables struct {
	locking, single Language
	parts, septets  int
}

func (t tables) named() bool { return t.locking != DefaultLanguage || t.single != DefaultLanguage }

// ieOctets is the size of the header elements that name the tables.
func (t tables) ieOctets() int {
	n := 0
	if t.locking != DefaultLanguage {
		n += 3
	}
	if t.single != DefaultLanguage {
		n += 3
	}
	return n
}

// better orders choices: fewer parts, fewer header elements, the default
// alphabet kept (a handset that ignores the elements then garbles only
// the characters of the single shift table), fewer septets.
func (t tables) better(u tables) bool {
	if t.parts != u.parts {
		return t.parts < u.parts
	}
	if t.ieOctets() != u.ieOctets() {
		return t.ieOctets() < u.ieOctets()
	}
	if (t.locking == DefaultLanguage) != (u.locking == DefaultLanguage) {
		return t.locking == DefaultLanguage
	}
	return t.septets < u.septets
}

// chooseTables finds the pair of tables of langs (or the default ones)
// that carries text in the fewest parts of method m, at most maxParts
// (see SplitOptions.Languages), other than the default pair.
func chooseTables(text string, m Method, langs []Language, maxParts int) (tables, bool) {
	nlsOnce.Do(buildNLS)
	masks := make([]uint32, 0, len(text))
	kinds := map[uint32]bool{} // the distinct masks
	for _, r := range text {
		mk := nlsMask(r)
		masks = append(masks, mk)
		kinds[mk] = true
	}
	lockings, singles := []Language{DefaultLanguage}, []Language{DefaultLanguage}
	for _, l := range langs {
		if l == DefaultLanguage || l >= numLanguages {
			continue
		}
		if l.locking() == l && !slices.Contains(lockings, l) {
			lockings = append(lockings, l)
		}
		if !slices.Contains(singles, l) {
			singles = append(singles, l)
		}
	}
	var best tables
	found := false
	for _, lk := range lockings {
		for _, sg := range singles {
			t := tables{locking: lk, single: sg}
			if !t.named() {
				continue
			}
			lb, sb := uint32(1)<<lk, uint32(1)<<(singleBit+sg)
			carries := true
			for mk := range kinds {
				if mk&(lb|sb) == 0 {
					carries = false
					break
				}
			}
			if !carries {
				continue
			}
			single, part := gsmCapacity(m, t.ieOctets())
			used := 0
			t.parts = 1
			for _, mk := range masks {
				n := 2 // the escape and the single shift code
				if mk&lb != 0 {
					n = 1
				}
				t.septets += n
				if used+n > part {
					t.parts++
					used = 0
				}
				used += n
			}
			if t.septets <= single {
				t.parts = 1
			}
			if t.parts > maxParts {
				continue
			}
			if !found || t.better(best) {
				best, found = t, true
			}
		}
	}
	return best, found
}

// body appends the encoded text of a part to its header, packed after
// the fill bits that align it to a septet boundary if asked.
func body(udh, enc []byte, pack bool) []byte {
	if !pack {
		if udh == nil {
			return enc
		}
		return append(udh, enc...)
	}
	return Pack(udh, enc, (7-len(udh)*8%7)%7)
}
