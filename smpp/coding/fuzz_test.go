package coding

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
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
		require.NoError(t, err, "decoded text %q does not encode", s)
		again, err := DecodeGSM7(enc)
		if err != nil || again != s {
			t.Fatalf("%x -> %q -> %x -> %q", b, s, enc, again)
		}
		n, ok := Septets(s)
		require.True(t, ok, "Septets(%q) not ok", s)
		require.Equal(t, len(enc), n, "Septets(%q), against the encoding's length", s)
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
		require.Equal(t, (fillBits+7*len(sept)+7)/8, len(packed), "fill %d: octets for %d septets packed", fillBits, len(sept))
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

// FuzzDecodeGSM7Lang: any septets with any pair of languages either fail
// to decode (an octet above 0x7F) or decode to text that encodes with the
// same languages and decodes back to the same text; nothing panics.
func FuzzDecodeGSM7Lang(f *testing.F) {
	f.Add([]byte("\x07\x1b\x69\x0c\x1b\x1b\x1b"), uint8(1), uint8(1))
	f.Add([]byte("\x00\x1b\x19 a\x1b"), uint8(4), uint8(13))
	f.Add([]byte("\x1b\x41"), uint8(2), uint8(200))
	f.Fuzz(func(t *testing.T, b []byte, locking, single uint8) {
		lock, sing := Language(locking), Language(single)
		s, err := DecodeGSM7Lang(b, lock, sing)
		if err != nil {
			return
		}
		enc, err := AppendGSM7Lang(nil, s, lock, sing, -1)
		require.NoError(t, err, "decoded text %q does not encode with %s/%s", s, lock, sing)
		again, err := DecodeGSM7Lang(enc, lock, sing)
		if err != nil || again != s {
			t.Fatalf("%s/%s: %x -> %q -> %x -> %q", lock, sing, b, s, enc, again)
		}
	})
}

// FuzzSplitLanguages: a text split with national languages (any of
// them, any method, packed or not) and received part by part decodes to
// the same text, and no part exceeds 140 octets on the air. With
// fromTables, the text is made of the input's octets as indices into the
// characters of the languages' tables (and two that no table has).
func FuzzSplitLanguages(f *testing.F) {
	f.Add("Envío recibido, ¿cuándo llegará? "+strings.Repeat("á", 150), uint16(1<<Spanish), uint8(0), false, false)
	f.Add(strings.Repeat("Φ ∞ pão ", 40), uint16(1<<Portuguese|1<<Spanish), uint8(2), true, false)
	f.Add(strings.Repeat("नमस्ते दुनिया ", 14)+"€{", uint16(1<<Hindi|1<<Bengali), uint8(1), true, false)
	f.Add(strings.Repeat("Şeker ığdır", 20), uint16(0xFFFF), uint8(3), false, false)
	f.Add(strings.Repeat("\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0", 20), uint16(1<<Tamil|1<<Urdu), uint8(0), true, true)
	f.Fuzz(func(t *testing.T, text string, langs uint16, method uint8, packed, fromTables bool) {
		var o SplitOptions
		o.Method, o.Ref, o.Packed = Method(method%4), 0x1234, packed
		for l := range Language(16) {
			if langs&(1<<l) != 0 {
				o.Languages = append(o.Languages, l)
			}
		}
		if fromTables {
			pool := []rune{'ж', '😀'}
			for _, l := range o.Languages {
				for _, table := range []*[128]rune{lockingTables[l.locking()], singleTables[l.single()]} {
					for code, r := range table {
						if r != 0 && r != gsmEscape && code != gsmEscape {
							pool = append(pool, r)
						}
					}
				}
			}
			var b strings.Builder
			for i := 0; i < len(text); i++ {
				b.WriteRune(pool[int(text[i])%len(pool)])
			}
			text = b.String()
		}
		if !utf8.ValidString(text) {
			return // Split's UCS-2 writes U+FFFD for invalid UTF-8
		}
		if packed && strings.Contains(text, "\r") {
			return // a CR in the last seven bits of a packed part reads as padding (see Unpack)
		}
		dc, segs, err := Split(text, o)
		if errors.Is(err, ErrTooManyParts) {
			return
		}
		require.NoError(t, err, "Split(%q, %+v)", text, o)
		if text == "" {
			return
		}
		pack := packed && dc == GSM7 && o.Method != Payload
		for i, s := range segs {
			extra := 0
			if o.Method == SAR && len(segs) > 1 {
				extra = 5
			}
			if o.Method == Payload {
				continue
			}
			bits, _ := airBits(t, dc, s, pack, extra)
			require.LessOrEqual(t, bits, 140*8, "part %d of %d: bits on the air", i+1, len(segs))
		}
		if got, _, _ := receive(t, dc, segs, pack); got != text {
			t.Fatalf("Split(%q, %+v) came back as %q", text, o, got)
		}
	})
}
