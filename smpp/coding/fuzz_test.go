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

// FuzzPack: packing then unpacking returns the septets, except a final
// CR that fills the last seven bits (it reads as padding); packing never
// takes an octet more than the septets need; unpacking arbitrary octets
// never panics.
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
		if want := (fillBits + 7*len(sept) + 7) / 8; len(packed) != want {
			t.Fatalf("fill %d: %d septets packed into %d octets, want %d", fillBits, len(sept), len(packed), want)
		}
		got := Unpack(nil, packed, fillBits)
		if bytes.Equal(got, sept) {
			return
		}
		if n := len(sept); n > 0 && sept[n-1] == '\r' && (fillBits+7*n)%8 == 0 && bytes.Equal(got, sept[:n-1]) {
			return // a final CR on the octet boundary reads as padding
		}
		t.Fatalf("fill %d: %x -> %x -> %x", fillBits, sept, packed, got)
	})
}
