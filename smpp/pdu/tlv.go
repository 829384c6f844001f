package pdu

//go:generate go run gen_tlv.go
//go:generate go run gen_pdu.go

import (
	"encoding/binary"
	"fmt"
	"iter"
)

// Tag identifies a TLV (an optional parameter). Tags 0x1400-0x3FFF are
// reserved for SMSC vendors.
type Tag uint16

type tagKind uint8

const (
	kindU8 tagKind = iota + 1
	kindU16
	kindU32
	kindCstr
	kindOctets
)

type tagInfo struct {
	name     string
	kind     tagKind
	min, max int // value length bounds; C-Octet strings count their NUL
}

func (t Tag) String() string {
	if i, ok := tagTable[t]; ok {
		return i.name
	}
	if t >= 0x1400 && t <= 0x3FFF {
		return fmt.Sprintf("vendor TLV 0x%04X", uint16(t))
	}
	return fmt.Sprintf("TLV 0x%04X", uint16(t))
}

// TLV is one optional parameter.
type TLV struct {
	Tag   Tag
	Value []byte
}

// TLVs are a PDU's optional parameters, kept in their wire form: an ordered
// list in which unknown (vendor) tags and repeated tags are preserved, so
// that a decoded PDU encodes back to the same bytes. The zero value is an
// empty list.
//
// Getters return views of the stored bytes: do not modify them. Setters
// never write in place; they build a new list, so values returned earlier
// stay valid. TLVs are not safe for concurrent mutation.
type TLVs struct {
	raw []byte
}

// Raw returns the wire form of the list. Do not modify it.
func (t TLVs) Raw() []byte { return t.raw }

// ParseTLVs checks the framing of a wire-form TLV list and returns it.
// The result aliases b.
func ParseTLVs(b []byte) (TLVs, error) {
	t := TLVs{raw: b}
	if err := t.check(); err != nil {
		return TLVs{}, &DecodeError{Field: "TLVs", Status: err.status, Reason: err.reason}
	}
	return t, nil
}

// All iterates over the TLVs in order.
func (t TLVs) All() iter.Seq2[Tag, []byte] {
	return func(yield func(Tag, []byte) bool) {
		for b := t.raw; len(b) >= 4; {
			n := int(binary.BigEndian.Uint16(b[2:]))
			if len(b) < 4+n {
				return
			}
			if !yield(Tag(binary.BigEndian.Uint16(b)), b[4:4+n:4+n]) {
				return
			}
			b = b[4+n:]
		}
	}
}

// List returns the TLVs as a slice (which it allocates).
func (t TLVs) List() []TLV {
	var out []TLV
	for tag, v := range t.All() {
		out = append(out, TLV{tag, v})
	}
	return out
}

// Len is the number of TLVs.
func (t TLVs) Len() int {
	n := 0
	for range t.All() {
		n++
	}
	return n
}

// Has reports whether a TLV with tag is present.
func (t TLVs) Has(tag Tag) bool {
	_, ok := t.Get(tag)
	return ok
}

// Get returns the value of the first TLV with tag.
func (t TLVs) Get(tag Tag) ([]byte, bool) {
	for tg, v := range t.All() {
		if tg == tag {
			return v, true
		}
	}
	return nil, false
}

// Uint8 returns the value of the first TLV with tag as an integer; ok is
// false when it is absent or its length is not 1.
func (t TLVs) Uint8(tag Tag) (uint8, bool) {
	v, ok := t.Get(tag)
	if !ok || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// Uint16 is Uint8 for 2-octet values.
func (t TLVs) Uint16(tag Tag) (uint16, bool) {
	v, ok := t.Get(tag)
	if !ok || len(v) != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(v), true
}

// Uint32 is Uint8 for 4-octet values.
func (t TLVs) Uint32(tag Tag) (uint32, bool) {
	v, ok := t.Get(tag)
	if !ok || len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// CString returns the value of the first TLV with tag as text, without its
// terminating NUL (tolerating a peer that sent none).
func (t TLVs) CString(tag Tag) (string, bool) {
	v, ok := t.Get(tag)
	if !ok {
		return "", false
	}
	if n := len(v); n > 0 && v[n-1] == 0 {
		v = v[:n-1]
	}
	return view(v), true
}

// Add appends a TLV, keeping any with the same tag (some tags, such as
// broadcast_area_identifier, may repeat).
func (t *TLVs) Add(tag Tag, value []byte) {
	raw := make([]byte, len(t.raw), len(t.raw)+4+len(value))
	copy(raw, t.raw)
	t.raw = appendTLV(raw, tag, value)
}

// Set replaces the TLVs with tag by one with value, at the position of the
// first one, or appends it.
func (t *TLVs) Set(tag Tag, value []byte) {
	raw := make([]byte, 0, len(t.raw)+4+len(value))
	done := false
	for tg, v := range t.All() {
		if tg == tag {
			if !done {
				raw = appendTLV(raw, tag, value)
				done = true
			}
			continue
		}
		raw = appendTLV(raw, tg, v)
	}
	if !done {
		raw = appendTLV(raw, tag, value)
	}
	t.raw = raw
}

// Del removes every TLV with tag.
func (t *TLVs) Del(tag Tag) {
	if !t.Has(tag) {
		return
	}
	raw := make([]byte, 0, len(t.raw))
	for tg, v := range t.All() {
		if tg != tag {
			raw = appendTLV(raw, tg, v)
		}
	}
	t.raw = raw
}

// SetUint8 sets a 1-octet TLV.
func (t *TLVs) SetUint8(tag Tag, v uint8) { t.Set(tag, []byte{v}) }

// SetUint16 sets a 2-octet TLV.
func (t *TLVs) SetUint16(tag Tag, v uint16) { t.Set(tag, binary.BigEndian.AppendUint16(nil, v)) }

// SetUint32 sets a 4-octet TLV.
func (t *TLVs) SetUint32(tag Tag, v uint32) { t.Set(tag, binary.BigEndian.AppendUint32(nil, v)) }

// SetCString sets a text TLV, adding the terminating NUL.
func (t *TLVs) SetCString(tag Tag, v string) { t.Set(tag, append([]byte(v), 0)) }

func appendTLV(dst []byte, tag Tag, v []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(tag))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	return append(dst, v...)
}

type tlvErr struct {
	status Status
	reason string
}

// check validates the framing of the list and the length of every
// standard TLV.
func (t TLVs) check() *tlvErr {
	b := t.raw
	for len(b) > 0 {
		if len(b) < 4 {
			return &tlvErr{StatusInvTLVStream, "truncated TLV header"}
		}
		tag := Tag(binary.BigEndian.Uint16(b))
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return &tlvErr{StatusInvTLVStream, fmt.Sprintf("%s: length %d runs past the end of the PDU", tag, n)}
		}
		if info, ok := tagTable[tag]; ok && (n < info.min || n > info.max) {
			return &tlvErr{StatusInvTLVLen, fmt.Sprintf("%s: length %d, want %d..%d", tag, n, info.min, info.max)}
		}
		if info, ok := tagTable[tag]; ok && info.kind == kindCstr && b[4+n-1] != 0 {
			return &tlvErr{StatusInvTLVVal, fmt.Sprintf("%s: C-Octet string without NUL", tag)}
		}
		b = b[4+n:]
	}
	return nil
}

// NetworkErrorCode returns the network_error_code TLV: the network type
// (1 ANSI-136, 2 IS-95, 3 GSM, ...) and the network's error code.
func (t TLVs) NetworkErrorCode() (networkType uint8, code uint16, ok bool) {
	v, ok := t.Get(TagNetworkErrorCode)
	if !ok || len(v) != 3 {
		return 0, 0, false
	}
	return v[0], binary.BigEndian.Uint16(v[1:]), true
}

// SetNetworkErrorCode sets the network_error_code TLV.
func (t *TLVs) SetNetworkErrorCode(networkType uint8, code uint16) {
	t.Set(TagNetworkErrorCode, []byte{networkType, byte(code >> 8), byte(code)})
}
