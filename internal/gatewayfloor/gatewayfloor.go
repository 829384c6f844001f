// Package gatewayfloor writes what the SMS gateway leaves in a SQLite
// database for a batch, from its load to its last receipt, in the
// cheapest form there is: the floor no gateway on that store can beat,
// measured by store/sqlite's BenchmarkGatewayWriteFloor and by
// bench/gateway beside the real gateway.
package gatewayfloor

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/internal/mailfloor"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

const (
	chunk  = 500  // rows a statement, as the gateway's group commits
	window = 1000 // messages claimed at once, as the bench's operator window
	body   = "Su pedido 123456 va en camino"
)

// Measure writes n messages' whole life into a new database in dir and
// returns messages a second. Each message goes through the states the
// gateway gives it, on the store's schema with all its indexes: loaded
// (one multi-row INSERT per 500), claimed (one UPDATE per 1,000),
// submitted (one UPDATE and one segment INSERT per 500, each 500 a
// transaction), delivered (one segment UPDATE and one transmission
// UPDATE per 500, each 500 a transaction). No reads but the claim's, no
// lookups of receipts kept aside, no SMPP.
func Measure(ctx context.Context, dir string, n int) (float64, error) {
	path := filepath.Join(dir, "gateway-floor.db")
	st, err := sqlite.Open(ctx, path, nil) // the schema
	if err != nil {
		return 0, err
	}
	defer st.Close()
	db, err := mailfloor.Open(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO sms_clients (name, created_at) VALUES ('floor', 1);
		INSERT INTO sms_batches (client_id, name, total, created_at) VALUES (1, 'floor', 0, 1)`); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := load(ctx, db, n); err != nil {
		return 0, err
	}
	now := time.Now().UnixMicro()
	for done := 0; done < n; done += window {
		ids, err := claim(ctx, db, now)
		if err != nil {
			return 0, err
		}
		for k := 0; k < len(ids); k += chunk {
			if err := submitted(ctx, db, ids[k:min(k+chunk, len(ids))], now); err != nil {
				return 0, err
			}
		}
		for k := 0; k < len(ids); k += chunk {
			if err := delivered(ctx, db, ids[k:min(k+chunk, len(ids))], now); err != nil {
				return 0, err
			}
		}
	}
	elapsed := time.Since(start)
	var got int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sms_transmissions WHERE state = 'delivered'`).Scan(&got); err != nil {
		return 0, err
	}
	if got != n {
		return 0, fmt.Errorf("gateway floor: %d of %d delivered", got, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func load(ctx context.Context, db *sql.DB, n int) error {
	return inTx(ctx, db, func(tx *sql.Tx) error {
		for i := 0; i < n; i += chunk {
			var rows []string
			var args []any
			for j := i; j < min(i+chunk, n); j++ {
				rows = append(rows, "(1, 1, 1, ?, ?, 'queued', ?, 1)")
				args = append(args, fmt.Sprintf("58414%07d", j), body, fmt.Sprintf("floor/%d", j))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO sms_transmissions (client_id, batch_id, operator_id, destination,
				body, state, external_id, created_at) VALUES `+strings.Join(rows, ","), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func claim(ctx context.Context, db *sql.DB, now int64) ([]int64, error) {
	var ids []int64
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE sms_transmissions SET state = 'submitting', claimed_at = ?,
			attempts = attempts + 1 WHERE id IN (SELECT id FROM sms_transmissions WHERE operator_id = 1
			AND next_attempt_at <= ? AND state = 'queued' ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING id, destination, body`, now, now, window)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var destination, text string
			if err := rows.Scan(&id, &destination, &text); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// rows returns a VALUES list of one row per id, and its arguments.
func rows(ids []int64, row string, args func(id int64) []any) (string, []any) {
	list := make([]string, len(ids))
	var all []any
	for i, id := range ids {
		list[i] = row
		all = append(all, args(id)...)
	}
	return strings.Join(list, ","), all
}

func messageID(id int64) string { return fmt.Sprintf("%08x", id) }

func submitted(ctx context.Context, db *sql.DB, ids []int64, now int64) error {
	return inTx(ctx, db, func(tx *sql.Tx) error {
		vals, args := rows(ids, "(?, ?)", func(id int64) []any { return []any{id, messageID(id)} })
		if _, err := tx.ExecContext(ctx, `UPDATE sms_transmissions SET state = 'sent', submitted_at = ?, segments = 1,
			message_id = v.column2, claimed_at = NULL FROM (VALUES `+vals+`) AS v
			WHERE sms_transmissions.id = v.column1`, append([]any{now}, args...)...); err != nil {
			return err
		}
		vals, args = rows(ids, "(?, 1, 1, ?)", func(id int64) []any { return []any{id, messageID(id)} })
		_, err := tx.ExecContext(ctx, `INSERT INTO sms_segments (transmission_id, segment, operator_id, message_id)
			VALUES `+vals, args...)
		return err
	})
}

func delivered(ctx context.Context, db *sql.DB, ids []int64, now int64) error {
	return inTx(ctx, db, func(tx *sql.Tx) error {
		in, args := rows(ids, "?", func(id int64) []any { return []any{messageID(id)} })
		if _, err := tx.ExecContext(ctx, `UPDATE sms_segments SET state = 'delivered', done_at = ?
			WHERE operator_id = 1 AND message_id IN (`+in+`)`, append([]any{now}, args...)...); err != nil {
			return err
		}
		in, args = rows(ids, "?", func(id int64) []any { return []any{id} })
		_, err := tx.ExecContext(ctx, `UPDATE sms_transmissions SET state = 'delivered', done_at = ? WHERE id IN (`+in+`)`,
			append([]any{now}, args...)...)
		return err
	})
}
