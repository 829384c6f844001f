package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// credentials remembers logins and passwords checked, for credentialsTTL:
// only an HMAC of the pair under a key of this process, with the account's
// password hash when checked. A pair is taken again while the account
// still has that hash and is not disabled; a change of password, a disable
// or a deleted account ends it at once.
type credentials struct {
	mu  sync.Mutex
	key []byte
	m   map[[sha256.Size]byte]credential
}

type credential struct {
	hash  string
	until time.Time
}

const (
	credentialsTTL = 10 * time.Minute
	maxCredentials = 10000
)

func newCredentials() *credentials {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	return &credentials{key: key, m: map[[sha256.Size]byte]credential{}}
}

func (c *credentials) id(login, password string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, c.key)
	mac.Write([]byte(login))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var id [sha256.Size]byte
	copy(id[:], mac.Sum(nil))
	return id
}

// check reports whether login and password were checked within the TTL
// and the account is unchanged since; then it is the caller.
func (c *credentials) check(ctx context.Context, st store.AccountStore, login, password string) (caller, bool, error) {
	id := c.id(login, password)
	c.mu.Lock()
	cr, ok := c.m[id]
	c.mu.Unlock()
	if !ok || time.Now().After(cr.until) {
		return caller{}, false, nil
	}
	acct, err := st.Account(ctx, login)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return caller{}, false, err
	}
	if err != nil || acct.Disabled || acct.PasswordHash != cr.hash {
		c.mu.Lock()
		delete(c.m, id)
		c.mu.Unlock()
		return caller{}, false, nil
	}
	return caller{name: acct.Login, client: acct.Client, role: acct.Role}, true, nil
}

// remember keeps a pair just checked against hash.
func (c *credentials) remember(login, password, hash string, now time.Time) {
	id := c.id(login, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCredentials {
		for k, cr := range c.m {
			if now.After(cr.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m { // still full: one goes (only right passwords get here)
			if len(c.m) < maxCredentials {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[id] = credential{hash: hash, until: now.Add(credentialsTTL)}
}
