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

// caller is who makes a request.
type caller struct {
	name   string // the token's name
	client string // "" for every client
}

type callerKey struct{}

func callerOf(ctx context.Context) caller { c, _ := ctx.Value(callerKey{}).(caller); return c }

var errNoCredentials = &apiError{Status: http.StatusUnauthorized, Message: "missing or invalid credentials (Authorization: Bearer TOKEN)"}

// authenticated runs h for a request with a valid token.
func (s *Server) authenticated(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err == nil {
			if err = checkQuery(r); err == nil {
				err = h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
			}
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
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

// everyClient refuses a caller limited to one client.
func everyClient(c caller) error {
	if c.client != "" {
		return forbidden("this token is limited to client " + c.client)
	}
	return nil
}
