package mailticket

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/charmap"
)

// charsetReader reads text in a named charset: the ones go-message knows,
// UTF-7 (RFC 2152, which some mail programs still label headers with),
// and, for a label nobody knows ("NONE", "unknown-8bit"), the bytes as
// they are (made valid UTF-8 later), rather than no text at all.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"`))
	if l == "utf-16" || l == "utf16" {
		b, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return nil, err
		}
		return strings.NewReader(decodeUTF16(b)), nil
	}
	if l == "utf-7" || l == "utf7" || l == "unicode-1-1-utf-7" {
		b, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return nil, err
		}
		return strings.NewReader(decodeUTF7(b)), nil
	}
	if cr, err := charset.Reader(label, r); err == nil {
		return cr, nil
	}
	return r, nil
}

// decodeUTF7 decodes RFC 2152 UTF-7: "+" then modified base64 of UTF-16
// up to "-" or any character outside base64; "+-" is "+". Broken runs
// are kept as written.
func decodeUTF7(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '+' {
			out.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(b) && isB64(b[j]) {
			j++
		}
		if j == i+1 { // "+-" or a lone '+'
			out.WriteByte('+')
			if j < len(b) && b[j] == '-' {
				i = j
			}
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(string(b[i+1 : j]))
		if err != nil || len(raw) < 2 {
			out.Write(b[i:j])
			i = j - 1
			continue
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		out.WriteString(string(utf16.Decode(u)))
		if j < len(b) && b[j] == '-' {
			j++ // the "-" ends the run and is not text
		}
		i = j - 1
	}
	return out.String()
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// escape8bitWords makes the raw 8-bit bytes inside Q-encoded words
// (Outlook puts them there, and RFC 2047 decoders then leave the word
// undecoded) "=XX" escapes, as they should have been written.
func escape8bitWords(s string) string {
	if !hasHighByte(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		start := strings.Index(s[i:], "=?")
		if start < 0 {
			b.WriteString(s[i:])
			break
		}
		start += i
		b.WriteString(s[i:start])
		end := qWordEnd(s, start)
		if end < 0 {
			b.WriteString("=?")
			i = start + 2
			continue
		}
		for k := start; k < end; k++ {
			if s[k] >= 0x80 {
				fmt.Fprintf(&b, "=%02X", s[k])
			} else {
				b.WriteByte(s[k])
			}
		}
		i = end
	}
	return b.String()
}

// maxWordLen bounds the scan for an encoded word's end.
const maxWordLen = 512

// qWordEnd returns the end (after "?=") of the Q-encoded word starting at
// s[i:] ("=?charset?Q?text?="), or -1.
func qWordEnd(s string, i int) int {
	j := i + 2
	for j < len(s) && j < i+maxWordLen && s[j] != '?' && s[j] > ' ' {
		j++
	}
	if j+2 >= len(s) || s[j] != '?' || (s[j+1] != 'q' && s[j+1] != 'Q') || s[j+2] != '?' {
		return -1
	}
	// RFC 2047 words are at most 75 characters; allow generous slack but
	// never scan far, so that many "=?" cost linear time.
	for k := j + 3; k+1 < len(s) && k < i+maxWordLen; k++ {
		switch {
		case s[k] == '?' && s[k+1] == '=':
			return k + 2
		case s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n':
			return -1
		}
	}
	return -1
}

func hasHighByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// fixC1 reads C1 control characters (U+0080-U+009F), which text labelled
// Latin-1 brings when it was Windows-1252 (its most common mislabel), as
// the Windows-1252 characters they stand for (curly quotes, the euro).
func fixC1(s string) string {
	if !strings.ContainsFunc(s, isC1) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isC1(r) {
			return charmap.Windows1252.DecodeByte(byte(r))
		}
		return r
	}, s)
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

// fixInvalidUTF8 keeps the valid UTF-8 of s and reads each byte that is
// not as Windows-1252 (undeclared 8-bit text is most often that: smart
// quotes and the euro sign included).
func fixInvalidUTF8(s string) string {
	var b bytes.Buffer
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(charmap.Windows1252.DecodeByte(s[i]))
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// charsetParam reads a charset parameter.
var charsetParam = regexp.MustCompile(`^(?i)charset\s*=\s*"?([a-z0-9_.:\-]+)`)

// indexFold is bytes.Index of an ASCII word, without case.
func indexFold(b []byte, word string) int {
	for i := 0; i+len(word) <= len(b); i++ {
		j := bytes.IndexAny(b[i:], word[:1]+strings.ToUpper(word[:1]))
		if j < 0 {
			return -1
		}
		i += j
		if i+len(word) <= len(b) && bytes.EqualFold(b[i:i+len(word)], []byte(word)) {
			return i
		}
	}
	return -1
}

// maxCharsetScan bounds how much of a body is searched for the charset
// of its text parts.
const maxCharsetScan = 64 << 10

// declaredCharset is the charset a mail declares for its text when that
// is neither ASCII nor UTF-8: the top-level Content-Type's, else the
// first one in the part headers of the body; "" if none.
func declaredCharset(h textproto.Header, body []byte) string {
	legacy := func(cs string) string {
		switch l := strings.ToLower(cs); l {
		case "", "us-ascii", "ascii", "utf-8", "utf8", "utf-7", "unknown-8bit", "x-unknown", "default":
			return ""
		default:
			return l
		}
	}
	if _, params, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil {
		if cs := legacy(params["charset"]); cs != "" {
			return cs
		}
	}
	b := body[:min(len(body), maxCharsetScan)]
	for tries := 0; tries < 8; tries++ {
		i := indexFold(b, "charset")
		if i < 0 {
			break
		}
		b = b[i+len("charset"):]
		if sm := charsetParam.FindSubmatch(append([]byte("charset"), b[:min(len(b), 80)]...)); sm != nil {
			if cs := legacy(string(sm[1])); cs != "" {
				return cs
			}
		}
	}
	return ""
}

// fromCharset reads s as text in charset cs, or returns it as it is when
// cs is unknown or s is not valid in it.
func fromCharset(s, cs string) string {
	r, err := charset.Reader(cs, strings.NewReader(s))
	if err != nil {
		return s
	}
	b, err := io.ReadAll(r)
	if err != nil || !utf8.Valid(b) || bytes.ContainsRune(b, utf8.RuneError) {
		return s
	}
	return string(b)
}

// decodeUTF16 decodes UTF-16 by its byte order mark, or, without one
// (programs leave it out, and RFC 2781's big-endian default is then often
// wrong), by where the zero bytes of ASCII characters fall, and for text
// without ASCII (Chinese, Japanese, Korean) by which byte order reads as
// more characters of the scripts mail is written in.
func decodeUTF16(b []byte) string {
	big := true
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		big, b = false, b[2:]
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		b = b[2:]
	default:
		even, odd := 0, 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 {
				even++
			}
			if b[i+1] == 0 {
				odd++
			}
		}
		if even != odd {
			big = even > odd
		} else {
			big = plausibleUTF16(b, true) >= plausibleUTF16(b, false)
		}
	}
	return string(utf16.Decode(utf16Units(b, big)))
}

func utf16Units(b []byte, big bool) []uint16 {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if big {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return u
}

// plausibleUTF16 counts the code units of b, read in one byte order, that
// are characters of the scripts mail is commonly written in; a broken
// surrogate pair counts against.
func plausibleUTF16(b []byte, big bool) int {
	n := 0
	u := utf16Units(b, big)
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c >= 0xD800 && c <= 0xDBFF && i+1 < len(u) && u[i+1] >= 0xDC00 && u[i+1] <= 0xDFFF:
			n++ // a pair: an emoji, a rare ideograph
			i++
		case c >= 0xD800 && c <= 0xDFFF:
			n -= 2
		case c == '\t', c == '\n', c == '\r',
			c >= 0x20 && c <= 0x7E,     // ASCII
			c >= 0xA0 && c <= 0x24F,    // Latin
			c >= 0x370 && c <= 0x6FF,   // Greek, Cyrillic, Armenian, Hebrew, Arabic
			c >= 0x0E00 && c <= 0x0E7F, // Thai
			c >= 0x2000 && c <= 0x206F, // punctuation
			c >= 0x3000 && c <= 0x30FF, // CJK punctuation, kana
			c >= 0x4E00 && c <= 0x9FFF, // CJK ideographs
			c >= 0xAC00 && c <= 0xD7AF, // Hangul
			c >= 0xFF00 && c <= 0xFFEF: // full width forms
			n++
		}
	}
	return n
}

// bWord is an RFC 2047 B-encoded word.
var bWord = regexp.MustCompile(`=\?([^?\s]+)\?([bB])\?([A-Za-z0-9+/=]*)\?=`)

// repadBWords fixes the base64 padding of B words ("VEVTVA=" for
// "VEVTVA=="; none at all), which programs get wrong and strict decoders
// then leave raw.
func repadBWords(s string) string {
	return bWord.ReplaceAllStringFunc(s, func(w string) string {
		m := bWord.FindStringSubmatch(w)
		p := strings.TrimRight(m[3], "=")
		if len(p)%4 == 1 {
			p = p[:len(p)-1] // a stray character no decoder can use
		}
		if n := len(p) % 4; n != 0 {
			p += strings.Repeat("=", 4-n)
		}
		return "=?" + m[1] + "?" + m[2] + "?" + p + "?="
	})
}
