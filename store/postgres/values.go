package postgres

import "time"

// Times are timestamptz; NULL (or the epoch in NOT NULL columns) is the
// zero time. scan.Time reads them back.

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
