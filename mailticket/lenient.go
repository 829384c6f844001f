package mailticket

import (
	"bytes"
)

// lenientHeader makes a mail's header readable the way mature parsers
// read it: a leading mbox "From " line and blank or whitespace-only
// lines before the first field are skipped, and a header line that is
// not a field ("Name: value") nor the continuation of a kept one is
// dropped, each with a warning. The body is left as it is. raw is
// returned unchanged (not copied) when nothing had to go.
func lenientHeader(raw []byte) ([]byte, []string) {
	var warns []string
	start := 0
	for start < len(raw) {
		line, next := lineAt(raw, start)
		switch {
		case start == 0 && bytes.HasPrefix(line, []byte("From ")):
			warns = append(warns, "leading mbox From line skipped")
		case len(bytes.TrimSpace(line)) == 0:
			warns = append(warns, "blank line before the header skipped")
		default:
			goto fields
		}
		start = next
	}
fields:
	var out []byte // the cleaned header, made on the first dropped line
	pos, kept := start, false
	for pos < len(raw) {
		line, next := lineAt(raw, pos)
		if len(bytes.TrimRight(line, "\r")) == 0 {
			break // the header ends
		}
		ok := isField(line) || (kept && (line[0] == ' ' || line[0] == '\t'))
		if !ok && out == nil {
			out = append(make([]byte, 0, len(raw)), raw[start:pos]...)
		}
		if ok && out != nil {
			out = append(out, raw[pos:next]...)
		}
		if !ok {
			warns = append(warns, "malformed header line dropped: "+string(clip(bytes.TrimRight(line, "\r"), 60)))
		}
		kept = ok
		pos = next
	}
	if out == nil {
		return raw[start:], warns
	}
	return append(out, raw[pos:]...), warns
}

// lineAt returns the line starting at i (without its "\n") and where the
// next one starts.
func lineAt(b []byte, i int) ([]byte, int) {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return b[i : i+j], i + j + 1
	}
	return b[i:], len(b)
}

// isField reports whether line starts a header field: a name of printable
// ASCII without ':' or space, then ':'.
func isField(line []byte) bool {
	for i, c := range line {
		if c == ':' {
			return i > 0
		}
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return false
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
