package scan

import "github.com/switchboard-go/switchboard/store"

// Columns of the account tables, in the order the scanners read them.
const (
	AccountCols  = `id, login, name, role, client, password_hash, disabled, created_at, updated_at`
	APITokenCols = `id, name, client, hash, created_at, revoked_at`
)

// Account scans AccountCols.
func Account(sc Row) (store.Account, error) {
	var a store.Account
	err := sc.Scan(&a.ID, &a.Login, &a.Name, &a.Role, &a.Client, &a.PasswordHash, &a.Disabled,
		Time(&a.CreatedAt), Time(&a.UpdatedAt))
	return a, err
}

// APIToken scans APITokenCols.
func APIToken(sc Row) (store.APIToken, error) {
	var t store.APIToken
	err := sc.Scan(&t.ID, &t.Name, &t.Client, &t.Hash, Time(&t.CreatedAt), Time(&t.RevokedAt))
	return t, err
}
