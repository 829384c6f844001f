package mailticket

import (
	"bytes"
	"fmt"
)

// maxWarnings bounds the warnings one mail collects.
const maxWarnings = 20

// warnings collects a mail's warnings, at most maxWarnings and a count of
// the rest.
type warnings struct {
	list    []string
	dropped int
}

func (w *warnings) add(s string) {
	if len(w.list) < maxWarnings {
		w.list = append(w.list, s)
	} else {
		w.dropped++
	}
}

func (w *warnings) done() []string {
	if w.dropped > 0 {
		return append(w.list, fmt.Sprintf("and %d more warnings", w.dropped))
	}
	return w.list
}

// splitMail finds a mail's header and body the way mature parsers do: a
// leading mbox "From " line and blank or whitespace-only lines before the
// first field are skipped; the header ends at the first empty or
// whitespace-only line, whatever its line end (CRLF or LF); a line that is
// not a field ("Name: value", obsolete "Name : value" too) nor the
// continuation of one is dropped when a field follows it, and is the
// start of the body (a mail without the blank line) when none does.
// header is the header's text (what it keeps of it), ending with an
// empty line; body is the rest of raw, unchanged.
func splitMail(raw []byte, w *warnings) (header, body []byte) {
	start := 0
	for start < len(raw) {
		line, next := lineAt(raw, start)
		switch {
		case start == 0 && bytes.HasPrefix(line, []byte("From ")) && !isField(line): // not "From : a@b"
			w.add("leading mbox From line skipped")
		case len(bytes.TrimSpace(line)) == 0:
			w.add("blank line before the header skipped")
		default:
			goto fields
		}
		start = next
	}
fields:
	var out []byte // the header when lines had to go, else raw[start:pos]
	pos, kept, dropping, fields := start, false, false, 0
	for pos < len(raw) {
		line, next := lineAt(raw, pos)
		if len(bytes.TrimSpace(line)) == 0 && kept && len(bytes.TrimRight(line, "\r")) > 0 && continues(raw, next) {
			// A line of white space inside a folded field (obs-FWS,
			// RFC 5322 4.2): dropped, the field goes on.
			if out == nil {
				out = append(make([]byte, 0, len(raw[start:pos])+256), raw[start:pos]...)
			}
			pos = next
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			if len(bytes.TrimRight(line, "\r")) > 0 {
				w.add("a line of spaces taken as the end of the header")
			}
			return finishHeader(out, raw[start:pos]), raw[next:]
		}
		folded := line[0] == ' ' || line[0] == '\t'
		switch {
		case dropping && folded: // the rest of a dropped line
			pos = next
			continue
		case isField(line) || (kept && folded):
			if fixed, ok := obsField(raw[pos:next]); ok {
				if out == nil {
					out = append(make([]byte, 0, len(raw[start:pos])+256), raw[start:pos]...)
				}
				out = append(out, fixed...)
			} else if out != nil {
				out = append(out, raw[pos:next]...)
			}
			kept, dropping = true, false
			fields++
		case fieldFollows(raw, next, fields > 0):
			if out == nil {
				out = append(make([]byte, 0, len(raw[start:pos])+256), raw[start:pos]...)
			}
			w.add("malformed header line dropped: " + string(clip(bytes.TrimRight(line, "\r"), 60)))
			kept, dropping = false, true
		default: // no blank line: the body starts here
			w.add("no blank line after the header: the body starts at " + string(clip(bytes.TrimRight(line, "\r"), 40)))
			return finishHeader(out, raw[start:pos]), raw[pos:]
		}
		pos = next
	}
	return finishHeader(out, raw[start:pos]), nil
}

// continues reports whether the line at i continues a folded field.
func continues(b []byte, i int) bool {
	if i >= len(b) {
		return false
	}
	line, _ := lineAt(b, i)
	return len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && len(bytes.TrimSpace(line)) > 0
}

// finishHeader returns the header kept (out when lines were dropped, else
// the original run) ending with an empty line.
func finishHeader(out, orig []byte) []byte {
	h := orig
	if out != nil {
		h = out
	}
	h = append(h[:len(h):len(h)], "\r\n"...) // a copy when it must grow: orig belongs to raw
	return h
}

// maxLookahead bounds the lines fieldFollows looks at past a broken line
// (a flood of broken lines made the header split quadratic).
const maxLookahead = 64

// fieldFollows reports whether the broken line before i belongs to the
// header: past its continuation lines comes a field, or another broken
// line with a colon that is folded too, or, after folded lines, the end
// of the header (a field name with spaces, folded like a field, is a
// broken field, not the start of the body; that last only inHeader, when
// fields came before).
func fieldFollows(b []byte, i int, inHeader bool) bool {
	folded := false
	for n := 0; i < len(b) && n < maxLookahead; n++ {
		line, next := lineAt(b, i)
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			return folded && inHeader
		case line[0] == ' ' || line[0] == '\t':
			folded = true
		case isField(line):
			return true
		case folded && bytes.IndexByte(line, ':') > 0:
			folded = false // another folded broken field
		default:
			return false
		}
		i = next
	}
	return false
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
// ASCII without ':', then ':' (RFC 5322's obsolete syntax allows spaces
// or tabs before it).
func isField(line []byte) bool {
	name := true
	for i, c := range line {
		switch {
		case c == ':':
			return i > 0
		case c == ' ' || c == '\t':
			if i == 0 {
				return false
			}
			name = false // only more whitespace may follow, then ':'
		case c < ' ' || c > '~':
			return false
		case !name:
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

// obsField rewrites an obsolete "Name : value" field line (RFC 5322
// obs-optional) as "Name: value"; ok is false for any other line.
func obsField(line []byte) ([]byte, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || (line[colon-1] != ' ' && line[colon-1] != '\t') || line[0] == ' ' || line[0] == '\t' {
		return nil, false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	return append(append([]byte(nil), name...), line[colon:]...), true
}

// foldBrokenLines folds the lines of a part's header that programs wrap
// without the leading white space folding needs ("Content-Type:
// multipart/alternative;" then "boundary=..." on a line of its own): a
// line without a colon right after a field ending in ";" is its
// continuation. head is one part's header block only (never body bytes).
// It returns a repaired copy, or false when nothing needed repair.
func foldBrokenLines(head []byte) ([]byte, bool) {
	var out []byte
	copied, prevOpen := 0, false
	for i := 0; i < len(head); {
		line, next := lineAt(head, i)
		trimmed := bytes.TrimSpace(line)
		switch {
		case len(trimmed) == 0:
			prevOpen = false
		case prevOpen && line[0] != ' ' && line[0] != '\t' && bytes.IndexByte(line, ':') < 0:
			if out == nil {
				out = make([]byte, 0, len(head)+16)
			}
			out = append(append(out, head[copied:i]...), '\t')
			copied = i
			prevOpen = bytes.HasSuffix(trimmed, []byte(";"))
		default:
			prevOpen = bytes.HasSuffix(trimmed, []byte(";"))
		}
		i = next
	}
	if out == nil {
		return head, false
	}
	return append(out, head[copied:]...), true
}

// splitParts splits a multipart body at the lines that are exactly
// "--boundary" (white space after it allowed), not a prefix of a longer
// delimiter. A close delimiter "--boundary--" ends a part, but a
// delimiter after it starts another (an inner multipart that reused the
// boundary closed it early); the preamble, what lies between a close and
// the next delimiter, and the epilogue are left out. A last part with no
// delimiter after it (a mail cut short) is kept. It stops past max parts.
func splitParts(body []byte, boundary string, max int) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1 // start of the current part
	for i := 0; i < len(body) && len(parts) <= max; {
		line, next := lineAt(body, i)
		if bytes.HasPrefix(line, delim) {
			rest := bytes.TrimRight(line[len(delim):], " \t\r")
			if closing := bytes.Equal(rest, []byte("--")); len(rest) == 0 || closing {
				if start >= 0 {
					parts = append(parts, trimPartEnd(body[start:i]))
				}
				start = next
				if closing {
					start = -1
				}
			}
		}
		i = next
	}
	if start >= 0 && start < len(body) {
		parts = append(parts, body[start:])
	}
	return parts
}

// trimPartEnd drops the line break before a delimiter, which belongs to it.
func trimPartEnd(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// partHeader splits a part at its first empty line: the header (with the
// empty line) and the body.
func partHeader(part []byte) (head, body []byte) {
	for i := 0; i < len(part); {
		line, next := lineAt(part, i)
		if len(bytes.TrimRight(line, "\r")) == 0 {
			return part[:next], part[next:]
		}
		i = next
	}
	return append(part[:len(part):len(part)], "\r\n\r\n"...), nil
}
