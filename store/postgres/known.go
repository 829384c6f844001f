package postgres

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

func (o *ops) KnownMailKeys(ctx context.Context, keys []string) ([]string, error) {
	known, err := o.known(ctx, keys, `SELECT source_key FROM mail_receipts WHERE source_key = ANY($1)
		UNION SELECT content_key FROM mail_receipts WHERE content_key = ANY($1)`)
	return known, wrap("known mail keys", err)
}

func (o *ops) KnownMessageIDs(ctx context.Context, ids []string) ([]string, error) {
	known, err := o.known(ctx, ids, `SELECT DISTINCT message_id FROM ticket_articles WHERE message_id = ANY($1) AND message_id <> ''`)
	return known, wrap("known message ids", err)
}

// known runs query over the keys a text column can hold: one that is not
// UTF-8 or holds a NUL is never stored, so never known.
func (o *ops) known(ctx context.Context, keys []string, query string) ([]string, error) {
	list := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" && utf8.ValidString(k) && !strings.ContainsRune(k, 0) {
			list = append(list, k)
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	rows, err := o.q().Query(ctx, query, list)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
