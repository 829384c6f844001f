// Package console is the web console of the example server: people log
// in with their accounts (store.Account) and work in server-rendered
// pages. Sessions are cookies (HttpOnly, SameSite=Strict, Secure over
// TLS); every form carries a CSRF token and must come from the site's
// own origin. This first part holds the administrators' pages: webhooks
// with their delivery log (replay), people's accounts and API tokens.
package console

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chatws"
	"github.com/switchboard-go/switchboard/internal/loginguard"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/webhook"
)

//go:embed templates static
var files embed.FS

// Server serves the console under Prefix (e.g. "/console"). Set its
// fields before Handler; it is safe for concurrent use.
type Server struct {
	Store  store.Store
	Prefix string
	// Webhooks is woken when a delivery is replayed (nil: it finds it at
	// its next poll).
	Webhooks *webhook.Dispatcher
	// Chat, when set, gives operators (and admins) the chat page: the
	// line and their conversations, live over WebSocket into this chat
	// server, logged in by their console session.
	Chat *chat.Server
	// Gateway loads the CSV batches uploaded on the SMS page and is told
	// to reload operators an administrator changed (nil: no uploads).
	Gateway *gateway.Gateway
	// Tickets and Mail answer tickets from the tickets page (nil: the
	// page shows tickets and changes them but sends no answer).
	Tickets *mailticket.Processor
	Mail    mailticket.Sender
	// Answers are the answer templates agents choose from, by name (Go
	// text/template with mailticket.TemplateData); nil: DefaultAnswers.
	Answers map[string]string
	// Logins guards password logins (shared with the API, so that
	// guessing counts once across both); nil: a guard of its own.
	Logins *loginguard.Guard
	Logger *slog.Logger
	// PublicOrigin is the console's origin as browsers see it when a
	// proxy in front ends TLS (e.g. "https://support.example.com"): forms
	// from it are accepted, and an https one makes the cookies Secure.
	PublicOrigin string
	// SessionTTL is how long a session lives (default 12 h).
	SessionTTL time.Duration

	tmpl     map[string]*template.Template
	sessions *sessions
}

var pages = []string{"login", "home", "webhooks", "users", "tokens", "chat", "sms", "loaded", "batch", "number", "operators", "tickets", "ticket", "stats"}

// Handler returns the console's routes, to mount at Prefix with the
// prefix stripped.
func (s *Server) Handler() (http.Handler, error) {
	s.tmpl = map[string]*template.Template{}
	for _, p := range pages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		s.tmpl[p] = t
	}
	if s.Logins == nil {
		s.Logins = loginguard.New()
	}
	s.sessions = newSessions(cmp.Or(s.SessionTTL, 12*time.Hour))
	static, _ := fs.Sub(files, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.with(anyone, s.logout))
	mux.HandleFunc("GET /{$}", s.with(anyone, s.home))
	mux.HandleFunc("GET /webhooks", s.with(admins, s.webhooks))
	mux.HandleFunc("POST /webhooks/deliveries/{id}/replay", s.with(admins, s.replay))
	mux.HandleFunc("GET /users", s.with(admins, s.users))
	mux.HandleFunc("POST /users", s.with(admins, s.saveUser))
	mux.HandleFunc("GET /tokens", s.with(admins, s.tokens))
	mux.HandleFunc("POST /tokens", s.with(admins, s.makeToken))
	mux.HandleFunc("POST /tokens/revoke", s.with(admins, s.revokeToken))
	mux.HandleFunc("POST /webhooks", s.with(admins, s.saveEndpoint))
	mux.HandleFunc("POST /webhooks/delete", s.with(admins, s.deleteEndpoint))
	mux.HandleFunc("GET /tickets", s.with(agents, s.tickets))
	mux.HandleFunc("GET /tickets/stats", s.with(agents, s.stats))
	mux.HandleFunc("GET /tickets/attachments/{id}", s.with(agents, s.attachment))
	mux.HandleFunc("GET /tickets/{number}", s.with(agents, s.ticket))
	mux.HandleFunc("POST /tickets/{number}/{action}", s.with(agents, s.ticketAction))
	mux.HandleFunc("GET /sms", s.with(smsUsers, s.smsHome))
	mux.HandleFunc("POST /sms/batches", s.withLimit(smsUsers, MaxBatchBytes+64<<10, s.upload))
	mux.HandleFunc("GET /sms/batches/{id}", s.with(smsUsers, s.batchPage))
	mux.HandleFunc("GET /sms/batches/{id}/progress", s.with(smsUsers, s.progressJSON))
	mux.HandleFunc("GET /sms/batches/{id}/failed.csv", s.with(smsUsers, s.failedCSV))
	mux.HandleFunc("GET /sms/number", s.with(smsUsers, s.numberStatus))
	mux.HandleFunc("GET /sms/operators", s.with(smsUsers, s.operators))
	mux.HandleFunc("POST /sms/operators/{id}", s.with(admins, s.saveOperator))
	if s.Chat != nil {
		mux.HandleFunc("GET /chat", s.with(operators, s.chatPage))
		mux.Handle("GET /chat/ws", &chatws.Handler{Server: s.Chat, Operator: s.sessionOperator})
		mux.Handle("GET /static/switchboard-chat.js", chatws.ScriptHandler())
	}
	return headers(mux), nil
}

var funcs = template.FuncMap{
	"dur":   dur,
	"split": strings.Fields,
	"list":  func(vs ...any) []any { return vs },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
}

// headers adds the console's security headers: its own scripts and
// styles only, no framing by other sites.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "+
			"style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) path(p string) string { return s.Prefix + p }

func (s *Server) now() time.Time { return time.Now() }

// who may see a page.
type audience func(store.AccountRole) bool

func anyone(store.AccountRole) bool   { return true }
func admins(r store.AccountRole) bool { return r == store.RoleAdmin }
func operators(r store.AccountRole) bool {
	return r == store.RoleChatOperator || r == store.RoleAdmin
}

type sessionKey struct{}

func sessionOf(ctx context.Context) *session { s, _ := ctx.Value(sessionKey{}).(*session); return s }

// with runs h for a request with a live session of the audience: others
// are sent to the login page (GET) or refused (POST, 403). A POST must
// come from this site with the session's CSRF token, in a body of at
// most 64 KiB.
func (s *Server) with(who audience, h http.HandlerFunc) http.HandlerFunc {
	return s.withLimit(who, 64<<10, h)
}

// withLimit is with for bodies of at most limit bytes (a file upload's
// form).
func (s *Server) withLimit(who audience, limit int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.current(r)
		if err != nil {
			s.fail(w, err)
			return
		}
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, s.path("/login?next="+url.QueryEscape(r.URL.Path)), http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusForbidden)
			return
		}
		if !who(sess.role) {
			http.Error(w, "your account's role ("+string(sess.role)+") has no access to this page", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if r.Method != http.MethodGet {
			if !sameOrigin(r, s.PublicOrigin) {
				http.Error(w, "this form did not come from the console (it came from another site)", http.StatusForbidden)
				return
			}
			var tooBig *http.MaxBytesError
			err := parseForm(r)
			if err != nil && !errors.As(err, &tooBig) {
				// The multipart reader does not always pass the limit's error
				// on; the body, read once more, says whether it was that.
				if _, rerr := r.Body.Read(make([]byte, 1)); errors.As(rerr, &tooBig) {
					err = rerr
				}
			}
			if r.MultipartForm != nil {
				// The server removes an upload's temporary files only from
				// the request it made, not from a copy (StripPrefix makes one).
				defer r.MultipartForm.RemoveAll()
			}
			switch {
			case errors.As(err, &tooBig):
				http.Error(w, "the form is larger than this page takes ("+sizeText(limit)+")", http.StatusRequestEntityTooLarge)
				return
			case err != nil:
				http.Error(w, "the form could not be read: "+err.Error(), http.StatusBadRequest)
				return
			}
			if !sess.validCSRF(r.PostFormValue("csrf")) {
				http.Error(w, "this form did not come from the console (CSRF check failed); reload the page", http.StatusForbidden)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

// sizeText writes a byte count in KiB or MiB.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}

// parseForm reads a POST's form: a file upload's parts beyond 8 MiB go
// to temporary files, which the HTTP server removes after the request.
func parseForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(8 << 20)
	}
	return r.ParseForm()
}

// render writes page p with data; layout fields come from the session.
func (s *Server) render(w http.ResponseWriter, r *http.Request, p string, status int, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["Prefix"] = s.Prefix
	if sess := sessionOf(r.Context()); sess != nil {
		data["Login"], data["Role"], data["CSRF"] = sess.login, string(sess.role), sess.csrf
		data["Admin"] = sess.role == store.RoleAdmin
		data["Operator"] = s.Chat != nil && operators(sess.role)
		data["SMS"] = smsUsers(sess.role)
		data["Agent"] = agents(sess.role)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.tmpl[p].Execute(w, data); err != nil {
		s.logger().Error("console: render", "page", p, "err", err)
	}
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	s.logger().Error("console", "err", err)
	http.Error(w, "the console could not do that: "+err.Error(), http.StatusInternalServerError)
}

// loginPage shows the login form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "login", http.StatusOK, map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a redirect after login inside the console.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	return next
}

const maxPassword = 72 // bcrypt reads no more

// login checks a login and password under the login guard and starts a
// session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r, s.PublicOrigin) {
		http.Error(w, "this form did not come from the console", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	login, password := r.FormValue("login"), r.FormValue("password")
	next := safeNext(r.FormValue("next"))
	retry := func(status int, msg string) {
		s.render(w, r, "login", status, map[string]any{"Error": msg, "Next": next, "LoginName": login})
	}
	if !store.ValidLogin(login) || password == "" || len(password) > maxPassword {
		retry(http.StatusUnauthorized, "Wrong login or password.")
		return
	}
	ctx, now := r.Context(), time.Now()
	var acct store.Account
	out, why, err := s.Logins.Login(ctx, login, loginguard.HostKey(r.RemoteAddr), password, false, now, func() (loginguard.Account, error) {
		var err error
		acct, err = s.Store.Account(ctx, login)
		if errors.Is(err, store.ErrNotFound) {
			return loginguard.Account{}, nil
		}
		return loginguard.Account{PasswordHash: acct.PasswordHash, Disabled: acct.Disabled}, err
	})
	switch out {
	case loginguard.LoggedIn:
	case loginguard.Refused:
		retry(http.StatusTooManyRequests, "Too many attempts: "+why)
		return
	case loginguard.Busy:
		retry(http.StatusServiceUnavailable, "Too many logins at once; try again.")
		return
	case loginguard.LookupFail:
		s.fail(w, err)
		return
	default:
		retry(http.StatusUnauthorized, "Wrong login or password.")
		return
	}
	s.sessions.create(w, r, acct, s.path("/"), s.secure(r), now)
	http.Redirect(w, r, s.path(next), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.sessions.end(w, r, s.path("/"), s.secure(r))
	http.Redirect(w, r, s.path("/login"), http.StatusSeeOther)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "home", http.StatusOK, nil)
}

// secure reports whether the console is reached over TLS (its own, or a
// proxy's named by PublicOrigin): cookies are Secure then.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.PublicOrigin, "https://")
}

// current returns the request's session as its account is now: nil when
// there is none or it expired, and the session ends when its account was
// deleted, disabled or given a new password since the login. A change of
// role or client applies from the next request on.
func (s *Server) current(r *http.Request) (*session, error) {
	sess := s.sessions.get(r, time.Now())
	if sess == nil {
		return nil, nil
	}
	acct, err := s.Store.Account(r.Context(), sess.login)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.sessions.drop(sess.key)
		return nil, nil
	case err != nil:
		return nil, err
	}
	if acct.Disabled || fingerprint(acct.PasswordHash) != sess.pass {
		s.sessions.drop(sess.key)
		return nil, nil
	}
	sess.role, sess.client, sess.name = acct.Role, acct.Client, cmp.Or(acct.Name, acct.Login)
	s.sessions.refresh(sess.key, acct)
	return sess, nil
}

// pathID reads the path value name as an id (0 if it is not one).
func pathID(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
