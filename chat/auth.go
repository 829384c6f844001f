package chat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/internal/loginguard"
	"github.com/switchboard-go/switchboard/internal/netutil"
	"github.com/switchboard-go/switchboard/store"
)

// ErrBadToken is returned by VerifyCustomerToken for a token that is
// malformed, badly signed or expired.
var ErrBadToken = errors.New("chat: bad customer token")

// CustomerClaims is what a website vouches for about a customer.
type CustomerClaims struct {
	ID      string    `json:"id,omitempty"`
	Name    string    `json:"name,omitempty"`
	Email   string    `json:"email,omitempty"`
	Expires time.Time `json:"exp"`
}

// SignCustomer makes a token the chat server accepts in HELLO as proof of
// the customer's identity: the claims in base64url JSON, a dot, and their
// HMAC-SHA256 with secret (the server's Options.Secret). A website signs
// it for a logged-in customer; it expires at c.Expires.
func SignCustomer(secret []byte, c CustomerClaims) string {
	body, _ := json.Marshal(c)
	enc := base64.RawURLEncoding.EncodeToString(body)
	return enc + "." + base64.RawURLEncoding.EncodeToString(mac(secret, "customer", enc))
}

// VerifyCustomerToken checks a token made by SignCustomer at time now.
func VerifyCustomerToken(secret []byte, token string, now time.Time) (CustomerClaims, error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return CustomerClaims{}, ErrBadToken
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, "customer", enc)) {
		return CustomerClaims{}, ErrBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return CustomerClaims{}, ErrBadToken
	}
	var c CustomerClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return CustomerClaims{}, ErrBadToken
	}
	if !now.Before(c.Expires) {
		return CustomerClaims{}, fmt.Errorf("%w: expired", ErrBadToken)
	}
	return c, nil
}

func mac(secret []byte, purpose, data string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(data))
	return h.Sum(nil)
}

// resumeToken makes the token a customer resumes conversationID with:
// the conversation, the token's generation, its expiry, and their HMAC.
// It is signed, so it survives a server restart when the secret does.
// Each resume issues the next generation and revokes the earlier ones
// (see hub.attachCustomer).
func resumeToken(secret []byte, conversationID int64, gen uint64, expires time.Time) string {
	data := fmt.Sprintf("%d.%d.%d", conversationID, gen, expires.Unix())
	return data + "." + base64.RawURLEncoding.EncodeToString(mac(secret, "resume", data))
}

// parseResume checks a resume token's signature and expiry and returns
// its conversation and generation.
func parseResume(secret []byte, token string, now time.Time) (id int64, gen uint64, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return 0, 0, false
	}
	data, sig := token[:i], token[i+1:]
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, "resume", data)) {
		return 0, 0, false
	}
	var exp int64
	if _, err := fmt.Sscanf(data, "%d.%d.%d", &id, &gen, &exp); err != nil || now.Unix() >= exp {
		return 0, 0, false
	}
	return id, gen, true
}

// deviceToken vouches that a device logged in as login: given in the
// operator's WELCOME, presented in its HELLOs; signed, it survives a
// restart when the secret does.
func deviceToken(secret []byte, login string, expires time.Time) string {
	data := base64.RawURLEncoding.EncodeToString([]byte(login)) + "." + fmt.Sprint(expires.Unix())
	return data + "." + base64.RawURLEncoding.EncodeToString(mac(secret, "device", data))
}

// validDevice reports whether token is an unexpired device token of login.
func validDevice(secret []byte, token, login string, now time.Time) bool {
	data, sig, ok := cutLast(token, '.')
	if !ok {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, "device", data)) {
		return false
	}
	who, exp, ok := strings.Cut(data, ".")
	name, err := base64.RawURLEncoding.DecodeString(who)
	var until int64
	if _, serr := fmt.Sscanf(exp, "%d", &until); !ok || err != nil || serr != nil {
		return false
	}
	return string(name) == login && now.Unix() < until
}

func cutLast(s string, sep byte) (before, after string, found bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// deviceTTL is how long a device token stays valid (each login renews it).
const deviceTTL = 30 * 24 * time.Hour

// OperatorAccount is an operator as the directory keeps it.
type OperatorAccount struct {
	ID           string
	Name         string
	PasswordHash string // from HashPassword (bcrypt)
	// MaxConversations caps the conversations served at once (0: the
	// server's default).
	MaxConversations int
	Disabled         bool
}

// ErrUnknownOperator is what a Directory returns for a login it does not
// know.
var ErrUnknownOperator = errors.New("chat: unknown operator")

// Directory finds operators by login. Implementations must be safe for
// concurrent use.
type Directory interface {
	Operator(ctx context.Context, login string) (OperatorAccount, error)
}

// StaticDirectory is a Directory kept in memory, by login.
type StaticDirectory map[string]OperatorAccount

// Operator implements Directory.
func (d StaticDirectory) Operator(ctx context.Context, login string) (OperatorAccount, error) {
	a, ok := d[login]
	if !ok {
		return OperatorAccount{}, ErrUnknownOperator
	}
	return a, nil
}

// HashPassword hashes an operator's password for storage (bcrypt, cost
// 10).
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// addressKey is the client address a login counts against: the IP, or an
// IPv6 /64 (one host's share of a network).
func addressKey(addr net.Addr) string { return loginguard.HostKey(addr.String()) }

func loopback(addr net.Addr) bool {
	host, _, err := net.SplitHostPort(addr.String())
	return err == nil && netutil.LoopbackHost(host)
}

// StoreDirectory is a Directory over the store's chat operator accounts
// (store.ChatStore.PutChatOperator keeps them).
type StoreDirectory struct{ Store store.ChatStore }

// Operator implements Directory.
func (d StoreDirectory) Operator(ctx context.Context, login string) (OperatorAccount, error) {
	o, err := d.Store.ChatOperator(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		return OperatorAccount{}, ErrUnknownOperator
	}
	if err != nil {
		return OperatorAccount{}, err
	}
	return OperatorAccount{ID: o.Login, Name: o.Name, PasswordHash: o.PasswordHash, MaxConversations: o.MaxConversations,
		Disabled: o.Disabled}, nil
}
