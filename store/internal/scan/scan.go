// Package scan reads the stores' records from result rows: the column
// lists and scan functions both backends share, and sql.Scanner helpers
// that accept either driver's representation of a value (database/sql with
// SQLite hands over int64 microseconds for times, pgx a time.Time).
package scan

import (
	"fmt"
	"time"
)

// Row is a result row: *sql.Row, *sql.Rows, pgx.Row, pgx.Rows.
type Row interface{ Scan(dest ...any) error }

// Time scans a nullable time column into t: NULL, 0 and the Unix epoch
// (the stores' "not yet" in NOT NULL columns) become the zero time; others
// are returned in UTC.
func Time(t *time.Time) timeScanner { return timeScanner{t} }

type timeScanner struct{ t *time.Time }

func (x timeScanner) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.t = time.Time{}
	case int64: // SQLite: microseconds since the epoch
		if v == 0 {
			*x.t = time.Time{}
		} else {
			*x.t = time.UnixMicro(v).UTC()
		}
	case time.Time: // PostgreSQL: timestamptz
		if v.Unix() == 0 && v.Nanosecond() == 0 {
			*x.t = time.Time{}
		} else {
			*x.t = v.UTC()
		}
	default:
		return fmt.Errorf("store: time column holds %T", v)
	}
	return nil
}

// ID scans a nullable integer reference into n (NULL becomes 0).
func ID(n *int64) idScanner { return idScanner{n} }

type idScanner struct{ n *int64 }

func (x idScanner) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.n = 0
	case int64:
		*x.n = v
	default:
		return fmt.Errorf("store: id column holds %T", v)
	}
	return nil
}

// Str scans a nullable text column into s (NULL becomes "").
func Str(s *string) strScanner { return strScanner{s} }

type strScanner struct{ s *string }

func (x strScanner) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*x.s = ""
	case string:
		*x.s = v
	case []byte:
		*x.s = string(v)
	default:
		return fmt.Errorf("store: text column holds %T", v)
	}
	return nil
}

// NullID is the argument for a nullable reference: 0 is stored as NULL.
func NullID(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// NullStr is the argument for a unique-when-present text column: "" is
// stored as NULL.
func NullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
