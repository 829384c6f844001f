package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboard-go/switchboard/examples/internal/api"
	"github.com/switchboard-go/switchboard/store"
)

// tokensPage lists the API tokens with the form to make one; made is a
// token just made, shown this once.
func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, status int, problem, made string) {
	ts, err := s.Store.APITokens(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "tokens", status, map[string]any{"Tokens": ts, "Problem": problem, "Made": made,
		"Revoked": r.URL.Query().Get("revoked")})
}

// makeToken makes an API token and shows it once.
func (s *Server) makeToken(w http.ResponseWriter, r *http.Request) {
	name, client := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("client"))
	if name == "" || len(name) > 100 || len(client) > 200 {
		s.tokensPage(w, r, http.StatusBadRequest, "A token needs a name (at most 100 bytes).", "")
		return
	}
	token, rec := api.NewToken(name, client)
	if err := s.Store.CreateAPIToken(r.Context(), &rec); err != nil {
		if errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrInvalid) {
			s.tokensPage(w, r, http.StatusBadRequest, "A token named "+name+" is in use (revoke it first).", "")
			return
		}
		s.fail(w, err)
		return
	}
	s.tokensPage(w, r, http.StatusOK, "", token)
}

// revokeToken revokes the token in use with the form's name.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("name")
	if err := s.Store.RevokeAPIToken(r.Context(), name, s.now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.tokensPage(w, r, http.StatusNotFound, "No token named "+name+" is in use.", "")
			return
		}
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, s.path("/tokens?revoked="+url.QueryEscape(name)), http.StatusSeeOther)
}

// saveEndpoint makes or changes a webhook endpoint from the webhooks
// page; a new secret is shown once.
func (s *Server) saveEndpoint(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	ch := api.EndpointChange{Name: strings.TrimSpace(f.Get("name")), URL: strings.TrimSpace(f.Get("url")),
		Events: f["events"], NewSecret: f.Get("new_secret") == "on"}
	if client := strings.TrimSpace(f.Get("client")); client != "" {
		ch.Client = &client
	}
	if len(ch.Events) == 0 {
		ch.Events = nil // an existing endpoint keeps its events
	}
	_, secret, err := api.SaveEndpoint(r.Context(), s.Store, ch)
	switch {
	case errors.Is(err, api.ErrEndpointIncomplete) || errors.Is(err, store.ErrInvalid) ||
		errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrConflict):
		s.webhooksPage(w, r, http.StatusBadRequest, err.Error(), "")
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	s.webhooksPage(w, r, http.StatusOK, "", secret)
}

// deleteEndpoint deletes a webhook endpoint and its deliveries.
func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("name")
	if err := s.Store.DeleteWebhookEndpoint(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.webhooksPage(w, r, http.StatusNotFound, "No endpoint named "+name+".", "")
			return
		}
		s.fail(w, err)
		return
	}
	http.Redirect(w, r, s.path("/webhooks"), http.StatusSeeOther)
}
