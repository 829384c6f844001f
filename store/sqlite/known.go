package sqlite

import (
	"context"
	"math/bits"
	"strings"
)

// Lookups by list. The keys are bound as parameters (exact bytes, whatever
// they hold), padded to a power of two by repeating one, so that a few
// cached statements serve every list size.

// maxListParams is the largest list one statement binds (SQLite allows
// 32,766 parameters; a statement may bind its list twice).
const maxListParams = 4096

func (o *ops) KnownMailKeys(ctx context.Context, keys []string) ([]string, error) {
	known, err := o.known(ctx, keys, func(list string) string {
		return `SELECT source_key FROM mail_receipts WHERE source_key IN (` + list + `)
			UNION SELECT content_key FROM mail_receipts WHERE content_key IN (` + list + `)`
	}, 2)
	return known, wrap("known mail keys", err)
}

func (o *ops) KnownMessageIDs(ctx context.Context, ids []string) ([]string, error) {
	known, err := o.known(ctx, ids, func(list string) string {
		return `SELECT DISTINCT message_id FROM ticket_articles WHERE message_id IN (` + list + `) AND message_id <> ''`
	}, 1)
	return known, wrap("known message ids", err)
}

// known runs query (a statement binding its list times times) over keys,
// in pieces of at most maxListParams, and returns what it selects.
func (o *ops) known(ctx context.Context, keys []string, query func(list string) string, times int) ([]string, error) {
	keys = nonEmpty(keys)
	seen := map[string]bool{}
	var out []string
	for len(keys) > 0 {
		piece := keys[:min(len(keys), maxListParams)]
		keys = keys[len(piece):]
		n := 1 << bits.Len(uint(len(piece)-1)) // the power of two >= len(piece)
		args := make([]any, 0, n*times)
		for range times {
			for i := range n {
				args = append(args, piece[min(i, len(piece)-1)])
			}
		}
		rows, err := o.q().QueryContext(ctx, query(strings.TrimSuffix(strings.Repeat("?, ", n), ", ")), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nonEmpty drops the empty keys (never known).
func nonEmpty(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}
