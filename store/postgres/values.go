package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

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

// nonNil stores an empty bytea rather than NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// affected turns an update that matched no row into pgx.ErrNoRows.
func affected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return pgx.ErrNoRows
	}
	return nil
}
