package coding

import (
	"fmt"
	"unicode/utf8"
)

// The GSM 03.38 default alphabet (3GPP TS 23.038 section 6.2.1), by code.
// 0x1B is the escape to the extension table.
var gsmDefault = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// The extension table (section 6.2.1.1): the code after 0x1B; 0 where
// it defines none.
var gsmExtension = [128]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

const gsmEscape = 0x1B

var (
	gsmToCode = map[rune]byte{} // default alphabet, escape excluded
	gsmToExt  = map[rune]byte{}
	gsmASCII  [128]int16 // fast path: ASCII rune -> code, -1 none, 0x100|ext for extension
)

func init() {
	for i := range gsmASCII {
		gsmASCII[i] = -1
	}
	for code, r := range gsmDefault {
		if code == gsmEscape {
			continue
		}
		gsmToCode[r] = byte(code)
		if r < 128 {
			gsmASCII[r] = int16(code)
		}
	}
	for code, r := range gsmExtension {
		if r == 0 {
			continue
		}
		gsmToExt[r] = byte(code)
		if r < 128 {
			gsmASCII[r] = 0x100 | int16(code)
		}
	}
}

// gsmLookup returns r's code (ext: behind the escape) or ok false.
func gsmLookup(r rune) (code byte, ext, ok bool) {
	if r >= 0 && r < 128 {
		v := gsmASCII[r]
		if v < 0 {
			return 0, false, false
		}
		return byte(v), v >= 0x100, true
	}
	if c, ok := gsmToCode[r]; ok {
		return c, false, true
	}
	if c, ok := gsmToExt[r]; ok {
		return c, true, true
	}
	return 0, false, false
}

// GSMRepresentable reports whether r is in the GSM 7-bit default alphabet
// or its extension table.
func GSMRepresentable(r rune) bool {
	_, _, ok := gsmLookup(r)
	return ok
}

// Septets is the number of GSM 7-bit septets text takes (extension
// characters count 2), and whether every character is representable.
func Septets(text string) (n int, ok bool) {
	for _, r := range text {
		_, ext, found := gsmLookup(r)
		if !found {
			return n, false
		}
		n++
		if ext {
			n++
		}
	}
	return n, true
}

// UnrepresentableError is a character that the chosen coding cannot carry.
type UnrepresentableError struct {
	Coding DataCoding
	Rune   rune
	Offset int // byte offset in the text
}

func (e *UnrepresentableError) Error() string {
	return fmt.Sprintf("smpp/coding: %q (U+%04X) at offset %d is not representable in %s", e.Rune, e.Rune, e.Offset, e.Coding)
}

// AppendGSM7 appends text as unpacked GSM 7-bit septets (one octet per
// septet, extension characters as 0x1B and their code). replace is used
// for characters outside the alphabet; with replace < 0 they are an
// *UnrepresentableError. replace must itself be representable.
func AppendGSM7(dst []byte, text string, replace rune) ([]byte, error) {
	for i, r := range text {
		code, ext, ok := gsmLookup(r)
		if !ok {
			if replace < 0 {
				return dst, &UnrepresentableError{Coding: GSM7, Rune: r, Offset: i}
			}
			if code, ext, ok = gsmLookup(replace); !ok {
				return dst, &UnrepresentableError{Coding: GSM7, Rune: replace, Offset: i}
			}
		}
		if ext {
			dst = append(dst, gsmEscape)
		}
		dst = append(dst, code)
	}
	return dst, nil
}

// DecodeGSM7 decodes unpacked GSM 7-bit septets. An escape followed by a
// code the extension table does not define decodes as the default
// alphabet's character for that code (3GPP TS 23.038's fallback); a
// trailing lone escape decodes as a space. Octets above 0x7F are an error.
func DecodeGSM7(septets []byte) (string, error) {
	return decodeGSM7(septets, &gsmDefault, &gsmExtension)
}

// decodeGSM7 decodes septets with a locking table (lock) and a single
// shift table (single) behind the escape. A code single does not define
// decodes as lock's; a code lock does not define, as a space.
func decodeGSM7(septets []byte, lock, single *[128]rune) (string, error) {
	out := make([]byte, 0, len(septets)+len(septets)/2)
	for i := 0; i < len(septets); i++ {
		c := septets[i]
		if c > 0x7F {
			return "", fmt.Errorf("smpp/coding: octet 0x%02X at %d is not a GSM 7-bit septet", c, i)
		}
		if c != gsmEscape {
			out = appendSeptetRune(out, lock[c])
			continue
		}
		if i+1 == len(septets) {
			out = append(out, ' ')
			break
		}
		i++
		n := septets[i]
		if n > 0x7F {
			return "", fmt.Errorf("smpp/coding: octet 0x%02X at %d is not a GSM 7-bit septet", n, i)
		}
		switch r := single[n]; {
		case r != 0:
			out = utf8.AppendRune(out, r)
		case n == gsmEscape:
			out = append(out, ' ') // reserved for a further extension table
		default:
			out = appendSeptetRune(out, lock[n])
		}
	}
	return string(out), nil
}

// appendSeptetRune appends a locking table's character, a space for a
// code the table leaves undefined (0).
func appendSeptetRune(out []byte, r rune) []byte {
	if r == 0 {
		return append(out, ' ')
	}
	return utf8.AppendRune(out, r)
}

// Pack packs septets (values 0-0x7F) into octets, least significant bit
// first, after fillBits zero bits (0-6: the padding that aligns septets
// after a user data header). When the last octet would end with 7 spare
// bits, which a receiver counting septets from octets would read as a
// trailing '@', a CR septet fills them; it never takes an octet more.
// (The rule of 3GPP TS 23.038 6.1.2.3.1 that doubles a final CR on an
// octet boundary is for USSD and cell broadcast, whose length is in
// octets too, but whose pages are fixed: applied to SMS it made 160
// septets ending in CR take 141 octets.) Unpack removes such a padding CR.
func Pack(dst []byte, septets []byte, fillBits int) []byte {
	n := len(septets)
	total := fillBits + 7*n
	extra := 0
	if total%8 == 1 { // 7 spare bits would follow
		extra = 1
	}
	bits := total + 7*extra
	start := len(dst)
	for i := 0; i < (bits+7)/8; i++ {
		dst = append(dst, 0)
	}
	out := dst[start:]
	pos := fillBits
	put := func(s byte) {
		v := uint16(s&0x7F) << (pos % 8)
		out[pos/8] |= byte(v)
		if pos%8 > 1 {
			out[pos/8+1] |= byte(v >> 8)
		}
		pos += 7
	}
	for _, s := range septets {
		put(s)
	}
	if extra == 1 {
		put('\r')
	}
	return dst
}

// Unpack unpacks the septets of packed octets, skipping fillBits leading
// bits, and drops a padding CR (see Pack): a final CR that fills the
// last seven bits. (A text that really ends in CR exactly there cannot be
// told from padding without the septet count, which SMPP does not carry;
// its CR is dropped.)
func Unpack(dst []byte, packed []byte, fillBits int) []byte {
	bits := 8*len(packed) - fillBits
	if bits < 7 {
		return dst
	}
	n := bits / 7
	start := len(dst)
	for i := 0; i < n; i++ {
		pos := fillBits + 7*i
		v := uint16(packed[pos/8])
		if pos/8+1 < len(packed) {
			v |= uint16(packed[pos/8+1]) << 8
		}
		dst = append(dst, byte(v>>(pos%8))&0x7F)
	}
	// With no spare bits left, a final CR is the padding of Pack.
	if bits%7 == 0 && n > 0 && dst[start+n-1] == '\r' {
		dst = dst[:start+n-1]
	}
	return dst
}
