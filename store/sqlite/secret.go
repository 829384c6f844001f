package sqlite

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
		if _, err := o.w().ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, value, tm(rules.Now())); err != nil {
			return err
		}
		return o.w().QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&got)
	})
	return got, wrap("ensure secret", err)
}
