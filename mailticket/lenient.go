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
	pos, kept := start, false
	for pos < len(raw) {
		line, next := lineAt(raw, pos)
		if len(bytes.TrimSpace(line)) == 0 {
			if len(bytes.TrimRight(line, "\r")) > 0 {
				w.add("a line of spaces taken as the end of the header")
			}
			return finishHeader(out, raw[start:pos]), raw[next:]
		}
		switch {
		case isField(line) || (kept && (line[0] == ' ' || line[0] == '\t')):
			if fixed, ok := obsField(raw[pos:next]); ok {
				if out == nil {
					out = append(make([]byte, 0, len(raw[start:pos])+256), raw[start:pos]...)
				}
				out = append(out, fixed...)
			} else if out != nil {
				out = append(out, raw[pos:next]...)
			}
			kept = true
		case fieldFollows(raw, next):
			if out == nil {
				out = append(make([]byte, 0, len(raw[start:pos])+256), raw[start:pos]...)
			}
			w.add("malformed header line dropped: " + string(clip(bytes.TrimRight(line, "\r"), 60)))
			kept = false
		default: // no blank line: the body starts here
			w.add("no blank line after the header: the body starts at " + string(clip(bytes.TrimRight(line, "\r"), 40)))
			return finishHeader(out, raw[start:pos]), raw[pos:]
		}
		pos = next
	}
	return finishHeader(out, raw[start:pos]), nil
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

// fieldFollows reports whether, past any continuation lines, the line at
// i starts a field: then a broken line before it is a broken field, not
// the start of the body.
func fieldFollows(b []byte, i int) bool {
	for i < len(b) {
		line, next := lineAt(b, i)
		if len(bytes.TrimSpace(line)) == 0 {
			return false
		}
		if line[0] != ' ' && line[0] != '\t' {
			return isField(line)
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
