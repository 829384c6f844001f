package postgres

import (
	"fmt"
	"time"
)

// tm stores the zero time as NULL.
func tm(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// epoch stands for the zero time in NOT NULL time columns.
var epoch = time.Unix(0, 0).UTC()

// tm0 is tm for NOT NULL columns: the zero time is stored as the epoch.
func tm0(t time.Time) time.Time {
	if t.IsZero() {
		return epoch
	}
	return t
}

// tsz scans a nullable timestamptz into a time.Time (NULL and the epoch
// become the zero time).
type tsz struct{ t *time.Time }

func (x tsz) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.t = time.Time{}
	case time.Time:
		if v.Unix() == 0 && v.Nanosecond() == 0 {
			*x.t = time.Time{}
		} else {
			*x.t = v.UTC()
		}
	default:
		return fmt.Errorf("postgres: time column holds %T", v)
	}
	return nil
}

func ts(t *time.Time) tsz { return tsz{t} }

// id stores 0 as NULL for nullable references.
func id(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// nullID scans a nullable bigint (NULL -> 0).
type nullID struct{ n *int64 }

func (x nullID) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.n = 0
	case int64:
		*x.n = v
	default:
		return fmt.Errorf("postgres: id column holds %T", v)
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

// str scans a nullable text column (NULL -> "").
type str struct{ s *string }

func (x str) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.s = ""
	case string:
		*x.s = v
	default:
		return fmt.Errorf("postgres: text column holds %T", v)
	}
	return nil
}
