package mailticket

import (
	"strings"
)

// authFailed reports whether the Authentication-Results headers of the
// MTA named authServID (RFC 8601; all it added: milters may add several)
// say the From domain failed: dmarc=fail, or, without a DMARC verdict
// (none counts as none), spf=fail or softfail and no passing DKIM
// signature of the From domain (or a parent of it).
func authFailed(m *Mail, authServID string) bool {
	fromDomain := strings.ToLower(m.From.Domain())
	var dmarc, spf string
	dkimAligned := false
	for _, v := range m.Header.Values("Authentication-Results") {
		v = stripComments(v)
		id, results, _ := strings.Cut(v, ";")
		if f := strings.Fields(id); len(f) == 0 || !strings.EqualFold(f[0], authServID) {
			continue
		}
		for _, r := range splitParams(results) {
			method, result, props := parseResult(r)
			switch method {
			case "dmarc":
				if result != "none" && dmarc != "fail" {
					dmarc = result
				}
			case "spf":
				if spf == "" || result == "fail" || result == "softfail" {
					spf = result
				}
			case "dkim":
				if d := props["header.d"]; result == "pass" && d != "" && (d == fromDomain || strings.HasSuffix(fromDomain, "."+d)) {
					dkimAligned = true
				}
			}
		}
	}
	switch {
	case dmarc == "fail":
		return true
	case dmarc == "pass":
		return false
	case spf == "fail" || spf == "softfail":
		return !dkimAligned
	}
	return false
}

// parseResult reads one "method=result prop=value ..." of an
// Authentication-Results header, lower-cased, spaces around '=' allowed.
func parseResult(r string) (method, result string, props map[string]string) {
	r = strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(r, "=", " = ")), " "))
	f := strings.Fields(r)
	props = map[string]string{}
	if len(f) < 3 || f[1] != "=" {
		return "", "", props
	}
	method, result = f[0], f[2]
	for i := 3; i+2 < len(f); i++ {
		if f[i+1] == "=" {
			props[f[i]] = strings.Trim(f[i+2], `"`)
			i += 2
		}
	}
	return method, result, props
}

// stripComments replaces RFC 5322 comments ("(...)", nested, with
// quoted-pairs) outside quoted strings with spaces.
func stripComments(s string) string { return comments(s, true) }

// removeComments removes them, for places where a space is not allowed
// either ("pete(his account)@silly.test").
func removeComments(s string) string { return comments(s, false) }

func comments(s string, spaces bool) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' && i+1 < len(s) {
				b.WriteByte(c)
				i++
				c = s[i]
			} else if c == '"' {
				quoted = false
			}
		case c == '\\' && depth > 0: // a quoted-pair inside a comment
			i++
			if spaces {
				b.WriteByte(' ')
			}
			continue
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		} else if spaces {
			b.WriteByte(' ')
		}
	}
	return b.String()
}
