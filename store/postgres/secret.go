package postgres

import (
	"context"

	"github.com/switchboard-go/switchboard/store/internal/rules"
)

func (o *ops) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	if err := rules.Secret(name, value); err != nil {
		return nil, wrap("ensure secret", err)
	}
	var got []byte
	err := o.write(ctx, func(o *ops) error {
		// A concurrent first insert makes this one wait for its commit
		// and do nothing; the select, a statement of its own, sees it.
		if _, err := o.tx.Exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING`, name, value, rules.Now()); err != nil {
			return err
		}
		return o.tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&got)
	})
	return got, wrap("ensure secret", err)
}
