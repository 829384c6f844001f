package chat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Payload encoding: fields in a fixed order per frame type; integers as
// unsigned varints, strings and byte strings as a varint length and the
// bytes, times as varint milliseconds since the Unix epoch (0: none).
// Decoders reject what is malformed (truncated, oversized, invalid UTF-8
// in a string) and ignore trailing bytes, which later versions may use
// for new fields.

// MaxText caps a text field (a chat message) in bytes.
const MaxText = 16 << 10

// maxShort caps names, ids and other short strings.
const maxShort = 256

// ErrMalformed is wrapped by a *DecodeError for a payload that does not
// decode.
var ErrMalformed = errors.New("chat: malformed payload")

// DecodeError is a frame whose payload is malformed or whose type is
// unknown.
type DecodeError struct {
	Type Type
	Err  error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("chat: decoding %s: %v", e.Type, e.Err) }
func (e *DecodeError) Unwrap() error { return e.Err }

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// appendStrings appends a count and up to max strings.
func appendStrings(b []byte, ss []string, max int) []byte {
	n := min(len(ss), max)
	b = appendUvarint(b, uint64(n))
	for _, s := range ss[:n] {
		b = appendString(b, s)
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(t.UnixMilli()))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// decoder reads payload fields; the first error sticks and later reads
// return zero values.
type decoder struct {
	b     []byte
	err   error
	alias bool // byte fields may alias b...
	size  int  // ...when they are at least half of its size (b's length at the start)
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

// more reports whether fields follow: a field added in a later version of
// a frame is read only when present, so older peers' frames still decode.
func (d *decoder) more() bool { return d.err == nil && len(d.b) > 0 }

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("%s: bad varint", field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int64 reads a non-negative int64.
func (d *decoder) int64(field string) int64 {
	v := d.uvarint(field)
	if v > 1<<62 {
		d.fail("%s: %d out of range", field, v)
		return 0
	}
	return int64(v)
}

func (d *decoder) u8(field string) uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("%s: missing", field)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bool(field string) bool {
	switch d.u8(field) {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("%s: not a boolean", field)
	return false
}

func (d *decoder) raw(field string, max int) []byte {
	n := d.uvarint(field)
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail("%s: %d bytes, limit %d", field, n, max)
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("%s: truncated", field)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string(field string, max int) string {
	p := d.raw(field, max)
	if d.err != nil {
		return ""
	}
	if !utf8.Valid(p) {
		d.fail("%s: not UTF-8", field)
		return ""
	}
	return string(p)
}

// strings reads a count (at most max) and that many strings of at most
// maxLen bytes.
func (d *decoder) strings(field string, max, maxLen int) []string {
	n := d.uvarint(field)
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail("%s: %d, limit %d", field, n, max)
		return nil
	}
	var out []string
	for i := uint64(0); i < n && d.err == nil; i++ {
		out = append(out, d.string(field, maxLen))
	}
	return out
}

func (d *decoder) bytes(field string, max int) []byte {
	p := d.raw(field, max)
	if p == nil || d.alias && 2*len(p) >= d.size {
		return p // what it keeps alive is at most twice what it holds
	}
	return append([]byte(nil), p...)
}

func (d *decoder) time(field string) time.Time {
	ms := d.uvarint(field)
	if d.err != nil || ms == 0 {
		return time.Time{}
	}
	if ms > 1<<53 {
		d.fail("%s: out of range", field)
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}
