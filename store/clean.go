package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names and texts come from customers. Kept as they came, a name with a
// line break forges a line in a transcript ("Eve\n[10:00] bob: refund
// approved"), and a right-to-left override (U+202E) makes "invoice‮fdp.exe"
// read as a PDF. The stores clean what they are given with CleanLine and
// CleanText, and so do the channels before they show or export anything.

// CleanLine makes s safe to show on one line: control characters
// (Unicode Cc) and line or paragraph separators become spaces, format
// characters (Cf: bidirectional overrides, zero-width spaces, ...) are
// dropped except the zero-width joiner and non-joiner that some scripts
// and emoji need, runs of spaces become one, and the ends are trimmed.
func CleanLine(s string) string {
	if isCleanLine(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cc, r) || r == '\u2028' || r == '\u2029' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D':
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CleanText makes a message text safe to show: line breaks are kept (as
// \n; \r\n, a lone \r and U+2028/2029 become \n) and so are tabs; other
// control characters and format characters (as for CleanLine) are
// dropped.
func CleanText(s string) string {
	if isCleanText(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prevCR := false
	for _, r := range s {
		cr := r == '\r'
		switch {
		case r == '\n' && prevCR:
		case cr || r == '\n' || r == '\u2028' || r == '\u2029':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte('\t')
		case unicode.Is(unicode.Cc, r):
		case unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D':
		default:
			b.WriteRune(r)
		}
		prevCR = cr
	}
	return b.String()
}

// isCleanLine reports whether CleanLine would leave s as it is.
func isCleanLine(s string) bool { return isClean(s, true) }

// isCleanText reports whether CleanText would leave s as it is: a byte
// at a time while s is ASCII (every message goes through it), decoding
// only the other runes.
func isCleanText(s string) bool {
	i := 0
	// Eight bytes at a time while they are all printable ASCII: no high
	// bit, none below 0x20, no 0x7f.
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		const ones, highs = 0x0101010101010101, 0x8080808080808080
		below := (w - ones*0x20) & ^w & highs // a byte below 0x20 (w has no high bit)
		del := (w ^ ones*0x7f - ones) & ^(w ^ ones*0x7f) & highs
		if w&highs != 0 || below != 0 || del != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			continue
		}
		if c < utf8.RuneSelf {
			return false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || dropped(r, false) {
			return false // invalid UTF-8 is rewritten too
		}
		i += n - 1
	}
	return true
}

// isClean checks s a byte at a time while it is ASCII, and decodes only
// the other runes.
func isClean(s string, line bool) bool {
	prevSpace := true // a line may not start with a space
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == ' ':
				if line && prevSpace {
					return false
				}
				prevSpace = true
				i++
				continue
			case c >= 0x20 && c < 0x7f:
			case !line && (c == '\n' || c == '\t'):
			default:
				return false
			}
			prevSpace = false
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || dropped(r, line) {
			return false // invalid UTF-8 is rewritten too
		}
		prevSpace = false
		i += n
	}
	return !line || !prevSpace || s == ""
}

// dropped reports whether a non-ASCII rune is removed or replaced (in a
// line, spaces are collapsed too).
func dropped(r rune, line bool) bool {
	switch {
	case r <= 0x9f: // C1 controls
		return true
	case r < 0x600: // no format characters here but the soft hyphen
		return r == 0xAD || line && r == 0xA0
	case r == '\u2028', r == '\u2029':
		return true
	case unicode.Is(unicode.Cf, r):
		return r != '\u200C' && r != '\u200D'
	}
	return line && unicode.IsSpace(r)
}
