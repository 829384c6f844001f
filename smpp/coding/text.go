package coding

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Encode appends text encoded in coding dc to dst. GSM 7-bit is unpacked
// (one octet per septet, as most SMSCs expect in short_message); use Pack
// for packed septets. Characters that dc cannot carry are replaced by
// replace, or are an *UnrepresentableError when replace is negative.
// Binary codings copy the text's bytes.
func Encode(dst []byte, text string, dc DataCoding, replace rune) ([]byte, error) {
	switch dc.Alphabet() {
	case GSM7:
		return AppendGSM7(dst, text, replace)
	case IA5:
		return appendCharset(dst, text, dc, 0x7F, replace)
	case Latin1:
		return appendCharset(dst, text, dc, 0xFF, replace)
	case UCS2:
		// Every Unicode character fits (outside the BMP as a surrogate
		// pair, which SMSCs accept as UTF-16); invalid UTF-8 in text
		// becomes U+FFFD, as in Go's own conversions.
		for _, r := range text {
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				dst = binary.BigEndian.AppendUint16(dst, uint16(r1))
				dst = binary.BigEndian.AppendUint16(dst, uint16(r2))
			} else {
				dst = binary.BigEndian.AppendUint16(dst, uint16(r))
			}
		}
		return dst, nil
	case Binary, Binary8:
		return append(dst, text...), nil
	}
	return dst, fmt.Errorf("smpp/coding: encoding to %s is not supported", dc)
}

func appendCharset(dst []byte, text string, dc DataCoding, maxRune rune, replace rune) ([]byte, error) {
	for i, r := range text {
		if r > maxRune || r == utf8.RuneError {
			if replace < 0 || replace > maxRune {
				return dst, &UnrepresentableError{Coding: dc, Rune: r, Offset: i}
			}
			r = replace
		}
		dst = append(dst, byte(r))
	}
	return dst, nil
}

// Decode decodes a short message's octets in coding dc. GSM 7-bit is
// taken as unpacked; UCS-2 is read as UTF-16BE (a lone surrogate becomes
// U+FFFD). Binary codings are returned as their bytes.
func Decode(b []byte, dc DataCoding) (string, error) {
	switch dc.Alphabet() {
	case GSM7:
		return DecodeGSM7(b)
	case IA5:
		for i, c := range b {
			if c > 0x7F {
				return "", fmt.Errorf("smpp/coding: octet 0x%02X at %d is not IA5", c, i)
			}
		}
		return string(b), nil
	case Latin1:
		out := make([]byte, 0, len(b)+len(b)/4)
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return string(out), nil
	case UCS2:
		if len(b)%2 != 0 {
			return "", fmt.Errorf("smpp/coding: UCS-2 text of odd length %d", len(b))
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u)), nil
	case Binary, Binary8:
		return string(b), nil
	}
	return "", fmt.Errorf("smpp/coding: decoding %s is not supported", dc)
}

// Choose picks the coding for text: GSM 7-bit when every character is in
// the GSM alphabet (extension table included), else UCS-2. It also returns
// the text's length in that coding's units: septets (extension characters
// count 2) or UTF-16 code units (characters outside the BMP count 2).
func Choose(text string) (dc DataCoding, units int) {
	if n, ok := Septets(text); ok {
		return GSM7, n
	}
	for _, r := range text {
		units++
		if r >= 0x10000 {
			units++
		}
	}
	return UCS2, units
}
