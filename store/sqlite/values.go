package sqlite

import (
	"database/sql"
	"time"
)

// Times are stored as INTEGER microseconds since the epoch; NULL (or 0 in
// NOT NULL columns) is the zero time. scan.Time reads them back.

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

// nonNil stores an empty blob rather than NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// affected turns an update that matched no row into sql.ErrNoRows.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
