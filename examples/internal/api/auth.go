package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/internal/loginguard"
	"github.com/switchboard-go/switchboard/store"
)

// TokenPrefix starts every API token, so that a leaked one is recognizable
// (by secret scanners, by people).
const TokenPrefix = "sbt_"

// NewToken makes a token and the record that keeps it (its hash): the
// token is shown once and never stored.
func NewToken(name, client string) (token string, rec store.APIToken) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, store.APIToken{Name: name, Client: client, Hash: HashToken(token)}
}

// HashToken is the hash the store keeps of a token.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// caller is who makes a request: a program (a token) or a person (an
// account).
type caller struct {
	name   string            // the token's name or the account's login
	client string            // "" for every client
	role   store.AccountRole // "" for a token
}

// area is a part of the API.
type area int

const (
	areaSMS area = iota
	areaTickets
	areaChat
	areaMetrics
)

var areaNames = [...]string{"SMS", "tickets", "chat", "metrics"}

// allow refuses c an area it may not use: a token for every client and
// an admin use all; a client's token and an sms account their client's
// SMS; an agent tickets; an operator the chat.
func allow(c caller, a area) error {
	switch {
	case c.role == "" && c.client == "", c.role == store.RoleAdmin:
		return nil
	case a == areaSMS && (c.role == "" || c.role == store.RoleSMSClient):
		return nil
	case a == areaTickets && c.role == store.RoleAgent, a == areaChat && c.role == store.RoleChatOperator:
		return nil
	case c.client != "":
		return forbidden("limited to client " + c.client + "'s SMS: no " + areaNames[a])
	}
	return forbidden("an account of role " + string(c.role) + " has no access to " + areaNames[a])
}

type callerKey struct{}

func callerOf(ctx context.Context) caller { c, _ := ctx.Value(callerKey{}).(caller); return c }

var errNoCredentials = &apiError{Status: http.StatusUnauthorized,
	Message: "missing or invalid credentials (Authorization: Bearer TOKEN, or a person's login and password)"}

// authenticated runs h for a request with a valid token.
func (s *Server) authenticated(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err == nil {
			if err = checkQuery(r); err == nil {
				err = h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
			}
		} else {
			w.Header().Add("WWW-Authenticate", `Bearer realm="switchboard"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="switchboard", charset="UTF-8"`)
			// Not worth keeping: the server would read what is left of
			// the body, however slowly it comes, before answering.
			w.Header().Set("Connection", "close")
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	}
}

func (s *Server) authenticate(r *http.Request) (caller, error) {
	if login, password, ok := r.BasicAuth(); ok {
		return s.authenticatePassword(r, login, password)
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(token, TokenPrefix) || len(token) > 100 {
		return caller{}, errNoCredentials
	}
	t, err := s.Store.APITokenByHash(r.Context(), HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return caller{}, errNoCredentials
	}
	if err != nil {
		return caller{}, err
	}
	return caller{name: t.Name, client: t.Client}, nil
}

// authenticatePassword checks a person's login and password (HTTP Basic)
// under the chat server's rules against guessing (loginguard): counted
// per login and address before the hash, refused unread beyond them (429),
// an unknown login as slow as a wrong password. Credentials once checked
// are taken again without the guard or the hash while the account's
// password and state are unchanged (credentials), so a person's requests
// are neither slowed nor throttled by a guesser after that.
func (s *Server) authenticatePassword(r *http.Request, login, password string) (caller, error) {
	if !store.ValidLogin(login) || len(password) > maxPassword {
		return caller{}, errNoCredentials
	}
	ctx := r.Context()
	if c, ok, err := s.creds().check(ctx, s.Store, login, password); ok || err != nil {
		return c, err
	}
	g := s.loginGuard()
	host, now := loginguard.HostKey(r.RemoteAddr), time.Now()
	var acct store.Account
	out, why, err := g.Login(ctx, login, host, password, false, now, func() (loginguard.Account, error) {
		var err error
		acct, err = s.Store.Account(ctx, login)
		if errors.Is(err, store.ErrNotFound) {
			return loginguard.Account{}, nil
		}
		return loginguard.Account{PasswordHash: acct.PasswordHash, Disabled: acct.Disabled}, err
	})
	switch out {
	case loginguard.Refused:
		return caller{}, &apiError{Status: http.StatusTooManyRequests, Message: why}
	case loginguard.LookupFail:
		return caller{}, err
	case loginguard.Busy:
		return caller{}, &apiError{Status: http.StatusServiceUnavailable, Message: "too many logins at once; try again"}
	case loginguard.WrongPassword:
		return caller{}, errNoCredentials
	}
	s.creds().remember(login, password, acct.PasswordHash, now)
	return caller{name: acct.Login, client: acct.Client, role: acct.Role}, nil
}

// maxPassword is bcrypt's limit: it reads no further, so a longer password
// would match a stored one by its first 72 bytes.
const maxPassword = 72
