package sqlite

import (
	"fmt"
	"time"
)

// Times are stored as INTEGER microseconds since the epoch, NULL for zero.

func tm(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// tm0 is tm for NOT NULL columns: the zero time is stored as 0.
func tm0(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// micros scans a nullable microsecond column into a time.Time.
type micros struct{ t *time.Time }

func (m micros) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		if v == 0 {
			*m.t = time.Time{}
		} else {
			*m.t = time.UnixMicro(v).UTC()
		}
	default:
		return fmt.Errorf("sqlite: time column holds %T", v)
	}
	return nil
}

func ts(t *time.Time) micros { return micros{t} }

// id stores 0 as NULL for nullable references.
func id(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// nullID scans a nullable integer into an int64 (NULL -> 0).
type nullID struct{ n *int64 }

func (x nullID) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.n = 0
	case int64:
		*x.n = v
	default:
		return fmt.Errorf("sqlite: id column holds %T", v)
	}
	return nil
}

// nullStr stores "" as NULL (unique-when-present columns).
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// str scans a nullable text column into a string (NULL -> "").
type str struct{ s *string }

func (x str) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.s = ""
	case string:
		*x.s = v
	case []byte:
		*x.s = string(v)
	default:
		return fmt.Errorf("sqlite: text column holds %T", v)
	}
	return nil
}
