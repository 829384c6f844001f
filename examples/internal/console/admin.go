package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/store"
)

type endpointRow struct {
	store.WebhookEndpoint
	URL    string // without the password of its user information
	Client string
}

// webhooks lists the endpoints and a page of deliveries, newest first,
// by state and endpoint; failed and delivered ones can be replayed.
func (s *Server) webhooks(w http.ResponseWriter, r *http.Request) {
	s.webhooksPage(w, r, http.StatusOK, "", "")
}

// webhooksPage is the webhooks page with a form's problem, or with a
// signing secret just made (shown this once).
func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request, status int, problem, secret string) {
	ctx := r.Context()
	eps, err := s.Store.WebhookEndpoints(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	q := r.URL.Query()
	f := store.WebhookDeliveryFilter{State: store.DeliveryState(q.Get("state")), Limit: 50}
	switch f.State {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed:
	default:
		http.Error(w, "state: want pending, delivered or failed", http.StatusBadRequest)
		return
	}
	if n, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && n > 0 {
		f.BeforeID = n
	}
	names := map[int64]string{}
	rows := make([]endpointRow, 0, len(eps))
	for _, e := range eps {
		names[e.ID] = e.Name
		row := endpointRow{WebhookEndpoint: e, URL: e.URL}
		if u, err := url.Parse(e.URL); err == nil {
			row.URL = u.Redacted()
		}
		if e.ClientID != 0 {
			if c, err := s.Store.Client(ctx, e.ClientID); err == nil {
				row.Client = c.Name
			}
		}
		rows = append(rows, row)
		if q.Get("endpoint") == e.Name {
			f.EndpointIDs = []int64{e.ID}
		}
	}
	ds, err := s.Store.WebhookDeliveries(ctx, f)
	if err != nil {
		s.fail(w, err)
		return
	}
	var next int64
	if len(ds) == f.Limit {
		next = ds[len(ds)-1].ID
	}
	s.render(w, r, "webhooks", status, map[string]any{"Endpoints": rows, "Deliveries": ds, "Names": names,
		"State": string(f.State), "Endpoint": q.Get("endpoint"), "Next": next, "Replayed": q.Get("replayed"),
		"Problem": problem, "Secret": secret, "Topics": []store.WebhookTopic{store.TopicSMS, store.TopicTicket, store.TopicChat}})
}

// replay makes a delivery due again (see store.ReplayWebhookDelivery)
// and returns to the list.
func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	id := pathID(r, "id")
	err := s.Store.ReplayWebhookDelivery(r.Context(), id, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound) || id == 0:
		http.Error(w, "no such delivery", http.StatusNotFound)
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	if s.Webhooks != nil {
		s.Webhooks.Wake()
	}
	http.Redirect(w, r, s.path("/webhooks?replayed="+strconv.FormatInt(id, 10)), http.StatusSeeOther)
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	s.usersPage(w, r, http.StatusOK, "")
}

// usersPage lists the accounts, with the form to add or change one.
func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, status int, problem string) {
	as, err := s.Store.Accounts(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "users", status, map[string]any{"Accounts": as, "Problem": problem, "Saved": r.URL.Query().Get("saved"),
		"Roles": []store.AccountRole{store.RoleAgent, store.RoleChatOperator, store.RoleSMSClient, store.RoleAdmin}})
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request) {
	s.tokensPage(w, r, http.StatusOK, "", "")
}

// saveUser creates or changes a person's account from the People form:
// a new account needs a password (at least 8 characters); a change keeps
// the password unless one is given.
func (s *Server) saveUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	login := r.FormValue("login")
	a := store.Account{Login: login, Name: r.FormValue("name"), Role: store.AccountRole(r.FormValue("role")),
		Client: r.FormValue("client"), Disabled: r.FormValue("disabled") == "on"}
	prev, err := s.Store.Account(ctx, login)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, err)
		return
	}
	bad := func(msg string) { s.usersPage(w, r, http.StatusBadRequest, msg) }
	switch password := r.FormValue("password"); {
	case password != "":
		if len(password) < 8 || len(password) > maxPassword {
			bad("A password has 8 to 72 characters.")
			return
		}
		if a.PasswordHash, err = chat.HashPassword(password); err != nil {
			s.fail(w, err)
			return
		}
	case exists:
		a.PasswordHash = prev.PasswordHash
		a.CreatedAt = prev.CreatedAt
	default:
		bad("A new account needs a password.")
		return
	}
	if sess := sessionOf(ctx); sess != nil && sess.login == login && (a.Disabled || a.Role != store.RoleAdmin) {
		bad("You cannot disable your own account or take your own admin role.")
		return
	}
	if err := s.Store.PutAccount(ctx, &a); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			bad(err.Error())
			return
		}
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, s.path("/users?saved="+url.QueryEscape(login)), http.StatusSeeOther)
}
