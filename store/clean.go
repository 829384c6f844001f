package store

import (
	"strings"
	"unicode"
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
func isCleanLine(s string) bool {
	prevSpace := true // no leading space
	for _, r := range s {
		switch {
		case r == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		case r < 0x20 || r == 0x7f:
			return false
		case r >= 0x80 && (unicode.Is(unicode.Cc, r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' ||
			unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D'):
			return false
		}
		prevSpace = false
	}
	return !prevSpace || s == ""
}

// isCleanText reports whether CleanText would leave s as it is.
func isCleanText(s string) bool {
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case r < 0x20 || r == 0x7f:
			return false
		case r >= 0x80 && (unicode.Is(unicode.Cc, r) || r == '\u2028' || r == '\u2029' ||
			unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D'):
			return false
		}
	}
	return true
}
