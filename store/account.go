package store

import (
	"context"
	"time"
)

// AccountRole is what a person's account may do.
type AccountRole string

const (
	RoleAdmin AccountRole = "admin" // everything, accounts and API tokens included
	RoleAgent AccountRole = "agent" // tickets
	// RoleChatOperator serves chat customers. Accounts in ChatStore's
	// chat_operators keep logging in to the chat server; this role is
	// the same person's login to the web side.
	RoleChatOperator AccountRole = "operator"
	RoleSMSClient    AccountRole = "sms" // one platform client's batches and messages
)

// Account is a person's login to the web console and the HTTP API.
type Account struct {
	ID           int64
	Login        string // unique; letters, digits and . _ @ - (at most 64 bytes)
	Name         string
	Role         AccountRole
	Client       string // the platform client an sms account sees; "" for the other roles
	PasswordHash string // bcrypt; never the password itself
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// APIToken is a program's credential for the HTTP API. The token itself
// is shown once, when it is made; the store keeps only its SHA-256.
type APIToken struct {
	ID        int64
	Name      string // unique among the tokens not revoked
	Client    string // "": any client (an administrator's program); else only this platform client's SMS
	Hash      string // hex SHA-256 of the token
	CreatedAt time.Time
	RevokedAt time.Time // zero while the token is valid
}

// AccountStore keeps the accounts of people and the API tokens of
// programs.
type AccountStore interface {
	// PutAccount creates or replaces the account with a.Login and sets
	// a.ID and its times (CreatedAt is kept on a replacement). ErrInvalid
	// for a login that is empty, too long or holds other characters, an
	// unknown role, an sms account without client or another role with
	// one, or no password hash.
	PutAccount(ctx context.Context, a *Account) error
	// Account returns the account with login, or ErrNotFound.
	Account(ctx context.Context, login string) (Account, error)
	// Accounts lists the accounts by login.
	Accounts(ctx context.Context) ([]Account, error)

	// CreateAPIToken stores t (CreatedAt defaulting to now) and sets t.ID.
	// ErrDuplicate if a token not revoked has t.Name or any token has
	// t.Hash; ErrInvalid without a name or with a hash that is not 64 hex
	// digits.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash returns the token not revoked with this hash, or
	// ErrNotFound.
	APITokenByHash(ctx context.Context, hash string) (APIToken, error)
	// APITokens lists every token, revoked ones included, by id.
	APITokens(ctx context.Context) ([]APIToken, error)
	// RevokeAPIToken revokes the token not revoked named name, at at (now
	// when zero). ErrNotFound if there is none.
	RevokeAPIToken(ctx context.Context, name string, at time.Time) error
}

// ValidLogin reports whether s can be an account's login: 1 to 64
// letters, digits, '.', '_', '@' or '-'.
func ValidLogin(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}
