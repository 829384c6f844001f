package console

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// cookieName is the session cookie: HttpOnly, SameSite=Strict, Secure
// over TLS, limited to the console's path.
const cookieName = "sb_console"

// session is a person logged in to the console. Sessions live in the
// process: a restart logs everybody out. Role, client and name are the
// account's as of the request (see Server.current); pass fingerprints
// the password hash of the login, so that a new password ends the
// sessions of the old one.
type session struct {
	key     string // its key in sessions.byID
	login   string
	name    string
	role    store.AccountRole
	client  string
	pass    string
	csrf    string // the token every form and cookie-authenticated API call carries
	expires time.Time
}

// fingerprint is a short digest of a password hash.
func fingerprint(hash string) string {
	h := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(h[:8])
}

// sessions are the live sessions, by the SHA-256 of their cookie value
// (a memory dump does not give working cookies).
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	ttl  time.Duration
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{byID: map[string]*session{}, ttl: ttl}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func key(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(h[:])
}

// create starts a session for a and sets its cookie.
func (ss *sessions) create(w http.ResponseWriter, r *http.Request, a store.Account, path string, secure bool, now time.Time) *session {
	value := randomToken()
	s := &session{key: key(value), login: a.Login, name: cmp.Or(a.Name, a.Login), role: a.Role, client: a.Client,
		pass: fingerprint(a.PasswordHash), csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	for k, old := range ss.byID { // expired ones go as new ones come
		if now.After(old.expires) {
			delete(ss.byID, k)
		}
	}
	ss.byID[s.key] = s
	ss.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: path, HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(ss.ttl / time.Second)})
	return s
}

// get returns a copy of the request's live session, or nil.
func (ss *sessions) get(r *http.Request, now time.Time) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[key(c.Value)]
	if s == nil || now.After(s.expires) {
		return nil
	}
	cp := *s
	return &cp
}

// refresh stores what the account says now into the session with key;
// drop ends it.
func (ss *sessions) refresh(k string, a store.Account) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s := ss.byID[k]; s != nil {
		s.role, s.client, s.name = a.Role, a.Client, cmp.Or(a.Name, a.Login)
	}
}

func (ss *sessions) drop(k string) {
	ss.mu.Lock()
	delete(ss.byID, k)
	ss.mu.Unlock()
}

// end ends the request's session and clears its cookie.
func (ss *sessions) end(w http.ResponseWriter, r *http.Request, path string, secure bool) {
	if c, err := r.Cookie(cookieName); err == nil {
		ss.mu.Lock()
		delete(ss.byID, key(c.Value))
		ss.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: path, HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// validCSRF checks a form's or header's token against the session's, in
// constant time.
func (s *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

// sameOrigin reports whether a state-changing request came from a page
// of this site: its Origin (or, without one, Referer) names this host,
// or is public (the site's origin behind a proxy; "" for none). Browsers
// send Origin with every POST.
func sameOrigin(r *http.Request, public string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = r.Header.Get("Referer")
	}
	if origin == "" {
		return false
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	is := func(want string) bool {
		return want != "" && (origin == want || len(origin) > len(want) && origin[:len(want)+1] == want+"/")
	}
	return is(scheme+r.Host) || is(public)
}
