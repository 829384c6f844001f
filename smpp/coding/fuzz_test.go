package coding

import (
	"bytes"
	"testing"
)

// FuzzGSM7: any octets either fail to decode or decode to text that
// encodes and decodes back to the same text.
func FuzzGSM7(f *testing.F) {
	f.Add([]byte("hello \x1be \x1b"))
	f.Add([]byte{0x1B, 0x1B, 0x1B})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeGSM7(b)
		if err != nil {
			return
		}
		enc, err := AppendGSM7(nil, s, -1)
		if err != nil {
			t.Fatalf("decoded text %q does not encode: %v", s, err)
		}
		again, err := DecodeGSM7(enc)
		if err != nil || again != s {
			t.Fatalf("%x -> %q -> %x -> %q", b, s, enc, again)
		}
		if n, ok := Septets(s); !ok || n != len(enc) {
			t.Fatalf("Septets(%q) = %d, encoding has %d", s, n, len(enc))
		}
	})
}

// FuzzPack: packing then unpacking returns the septets, except the double
// CR that the spec adds after a CR ending on an octet boundary; unpacking
// arbitrary octets never panics.
func FuzzPack(f *testing.F) {
	f.Add([]byte("hellohello"), uint8(0))
	f.Add([]byte("1234567\r"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, fill uint8) {
		fillBits := int(fill % 7)
		_ = Unpack(nil, b, fillBits) // arbitrary input
		sept := make([]byte, len(b))
		for i, c := range b {
			sept[i] = c & 0x7F
		}
		packed := Pack(nil, sept, fillBits)
		got := Unpack(nil, packed, fillBits)
		if bytes.Equal(got, sept) {
			return
		}
		if len(sept) > 0 && sept[len(sept)-1] == '\r' && bytes.Equal(got, append(sept, '\r')) {
			return // the spec's second CR
		}
		t.Fatalf("fill %d: %x -> %x -> %x", fillBits, sept, packed, got)
	})
}
