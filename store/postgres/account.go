package postgres

import (
	"context"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

func (o *ops) PutAccount(ctx context.Context, a *store.Account) error {
	if err := rules.Account(a); err != nil {
		return wrap("put account", err)
	}
	return wrap("put account", o.write(ctx, func(o *ops) error {
		return o.tx.QueryRow(ctx, `INSERT INTO accounts (login, name, role, client, password_hash, disabled,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (login) DO UPDATE SET name = excluded.name, role = excluded.role, client = excluded.client,
			password_hash = excluded.password_hash, disabled = excluded.disabled, updated_at = excluded.updated_at
			RETURNING id, created_at`, a.Login, a.Name, a.Role, a.Client, a.PasswordHash, a.Disabled,
			a.CreatedAt, a.UpdatedAt).Scan(&a.ID, scan.Time(&a.CreatedAt))
	}))
}

func (o *ops) Account(ctx context.Context, login string) (store.Account, error) {
	a, err := scan.Account(o.q().QueryRow(ctx, `SELECT `+scan.AccountCols+` FROM accounts WHERE login = $1`, login))
	return a, wrap("account", err)
}

func (o *ops) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := o.q().Query(ctx, `SELECT `+scan.AccountCols+` FROM accounts ORDER BY login`)
	if err != nil {
		return nil, wrap("accounts", err)
	}
	return collect(rows, scan.Account, "accounts")
}

func (o *ops) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	if err := rules.APIToken(t); err != nil {
		return wrap("create API token", err)
	}
	return wrap("create API token", o.write(ctx, func(o *ops) error {
		return o.tx.QueryRow(ctx, `INSERT INTO api_tokens (name, client, hash, created_at, revoked_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, t.Name, t.Client, t.Hash, t.CreatedAt, tm(t.RevokedAt)).Scan(&t.ID)
	}))
}

func (o *ops) APITokenByHash(ctx context.Context, hash string) (store.APIToken, error) {
	t, err := scan.APIToken(o.q().QueryRow(ctx, `SELECT `+scan.APITokenCols+` FROM api_tokens
		WHERE hash = $1 AND revoked_at IS NULL`, hash))
	return t, wrap("API token", err)
}

func (o *ops) APITokens(ctx context.Context) ([]store.APIToken, error) {
	rows, err := o.q().Query(ctx, `SELECT `+scan.APITokenCols+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, wrap("API tokens", err)
	}
	return collect(rows, scan.APIToken, "API tokens")
}

func (o *ops) RevokeAPIToken(ctx context.Context, name string, at time.Time) error {
	return wrap("revoke API token", o.write(ctx, func(o *ops) error {
		return affected(o.tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`,
			rules.Or(at), name))
	}))
}
