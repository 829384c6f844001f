package mailticket

import (
	"mime"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// lenientMediaType parses a Content-Type or Content-Disposition value as
// mime.ParseMediaType does and, where that fails, the way mail programs
// write them anyway: unquoted values with spaces or '=' (an Outlook
// Express boundary "----=_NextPart..."), raw 8-bit file names. ok is false
// only when not even a type can be read.
func lenientMediaType(v string) (mt string, params map[string]string, ok bool) {
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		return mt, params, true
	}
	if strings.IndexByte(v, '(') >= 0 {
		v = stripComments(v)
		if mt, params, err := mime.ParseMediaType(v); err == nil {
			return mt, params, true
		}
	}
	fields := splitParams(v)
	mt = strings.ToLower(strings.TrimSpace(fields[0]))
	if mt == "" || strings.ContainsAny(mt, " \t\"") {
		return "", nil, false
	}
	params = map[string]string{}
	for _, f := range fields[1:] {
		k, val, found := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !found || k == "" {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		k = strings.TrimSuffix(k, "*") // a broken RFC 2231 value: keep it as written
		if _, dup := params[k]; !dup {
			params[k] = validUTF8(val)
		}
	}
	return mt, params, true
}

// splitParams splits a header value at the semicolons outside quotes.
func splitParams(v string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// fixMediaHeaders rewrites a header's Content-Type and
// Content-Disposition when only the lenient reading understands them, so
// that the MIME reader sees their parameters (a boundary above all).
// It returns a warning for each rewrite.
func fixMediaHeaders(h *textproto.Header) []string {
	var warns []string
	for _, k := range []string{"Content-Type", "Content-Disposition"} {
		v := h.Get(k)
		if v == "" {
			continue
		}
		if _, _, err := mime.ParseMediaType(v); err == nil {
			continue
		}
		mt, params, ok := lenientMediaType(v)
		if !ok {
			continue
		}
		if fixed := mime.FormatMediaType(mt, params); fixed != "" {
			h.Set(k, fixed)
			warns = append(warns, k+" read leniently: "+string(clip([]byte(v), 80)))
		}
	}
	return warns
}
