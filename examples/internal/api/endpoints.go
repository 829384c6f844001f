package api

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard-go/switchboard/store"
)

// EndpointChange creates or changes the webhook endpoint called Name.
// Fields left zero keep the endpoint's values; a new endpoint needs URL
// and Events.
type EndpointChange struct {
	Name   string
	URL    string
	Events []string // sms, ticket, chat
	// Client, when not nil, limits the endpoint to one platform client's
	// SMS events ("": every client's). A client is made on first use.
	Client *string
	// NewSecret gives an existing endpoint a new signing secret (a new
	// endpoint always gets one).
	NewSecret bool
}

// ErrEndpointIncomplete is SaveEndpoint's error for a new endpoint
// without URL or events.
var ErrEndpointIncomplete = errors.New("a new endpoint needs a URL and its events")

// SaveEndpoint applies ch through st and returns the endpoint saved and
// its signing secret when one was made (to show once), else "". The
// store checks the rest (ErrInvalid: name, URL, events), and refuses a
// change that raced another (store.ErrDuplicate: the name was made
// meanwhile; store.ErrConflict: the endpoint was deleted or renamed).
func SaveEndpoint(ctx context.Context, st store.Store, ch EndpointChange) (store.WebhookEndpoint, string, error) {
	var prev store.WebhookEndpoint
	eps, err := st.WebhookEndpoints(ctx)
	if err != nil {
		return prev, "", err
	}
	for _, e := range eps {
		if e.Name == ch.Name {
			prev = e
		}
	}
	e := store.WebhookEndpoint{ID: prev.ID, Name: ch.Name, URL: cmp.Or(ch.URL, prev.URL), Secret: prev.Secret, Topics: prev.Topics,
		ClientID: prev.ClientID, CreatedAt: prev.CreatedAt}
	if ch.Events != nil {
		e.Topics = nil
		for _, t := range ch.Events {
			e.Topics = append(e.Topics, store.WebhookTopic(strings.TrimSpace(t)))
		}
	}
	if ch.Client != nil {
		e.ClientID = 0
		if *ch.Client != "" {
			c, err := st.ClientByName(ctx, *ch.Client)
			if errors.Is(err, store.ErrNotFound) {
				c = store.Client{Name: *ch.Client}
				err = st.CreateClient(ctx, &c)
			}
			if err != nil {
				return e, "", err
			}
			e.ClientID = c.ID
		}
	}
	if e.URL == "" || len(e.Topics) == 0 {
		return e, "", ErrEndpointIncomplete
	}
	secret := ""
	if e.Secret == "" || ch.NewSecret {
		b := make([]byte, 24)
		rand.Read(b)
		e.Secret = "whsec_" + base64.RawURLEncoding.EncodeToString(b)
		secret = e.Secret
	}
	if err := st.PutWebhookEndpoint(ctx, &e); err != nil {
		return e, "", err
	}
	return e, secret, nil
}

type endpointRequest struct {
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Client    *string  `json:"client"`
	NewSecret bool     `json:"new_secret"`
}

// putWebhook creates or changes the endpoint named in the path: 201 with
// its signing secret (shown once) when one was made, else 200. A
// client's token (or sms account) manages only its own client's
// endpoints, which carry SMS events only.
func (s *Server) putWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c := callerOf(ctx)
	name := r.PathValue("name")
	var req endpointRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if err := s.mayManage(ctx, c, name); err != nil {
		return err
	}
	if c.client != "" {
		if req.Client != nil && *req.Client != c.client {
			return forbidden("limited to client " + c.client)
		}
		req.Client = &c.client
		if req.Events != nil && (len(req.Events) != 1 || req.Events[0] != string(store.TopicSMS)) {
			return badField("events", `events: a client's endpoint carries ["sms"] only`)
		}
	}
	if err := checkText("url", req.URL); err != nil {
		return err
	}
	e, secret, err := SaveEndpoint(ctx, s.Store, EndpointChange{Name: name, URL: req.URL, Events: req.Events, Client: req.Client, NewSecret: req.NewSecret})
	switch {
	case errors.Is(err, ErrEndpointIncomplete):
		return badField("", "a new endpoint needs url and events")
	case errors.Is(err, store.ErrInvalid):
		return badField("", err.Error())
	case errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrConflict):
		return &apiError{Status: http.StatusConflict, Message: "the endpoint " + name + " was made or changed meanwhile by another request; read it and try again"}
	case err != nil:
		return err
	}
	out := map[string]any{"name": e.Name, "url": redacted(e.URL), "events": e.Topics}
	status := http.StatusOK
	if secret != "" {
		out["secret"], status = secret, http.StatusCreated
	}
	writeJSON(w, status, out)
	return nil
}

// deleteWebhook deletes an endpoint and its deliveries: 200 {"deleted"}.
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name := r.PathValue("name")
	if err := s.mayManage(ctx, callerOf(ctx), name); err != nil {
		return err
	}
	if err := s.Store.DeleteWebhookEndpoint(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no endpoint named " + name)
		}
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
	return nil
}

// mayManage refuses a caller who may not create, change or delete the
// endpoint called name: only administrators (and tokens for every
// client) manage every endpoint; a client manages the endpoints of its
// own client, and cannot take a name another uses.
func (s *Server) mayManage(ctx context.Context, c caller, name string) error {
	eps, clients, err := s.visibleEndpoints(ctx, c)
	if err != nil {
		return err
	}
	if c.role == store.RoleAdmin || c.role == "" && c.client == "" {
		return nil
	}
	if c.client == "" {
		return forbidden("an account of role " + string(c.role) + " has no access to webhooks")
	}
	for _, e := range eps {
		if e.Name == name && clients[e.ClientID] == c.client {
			return nil
		}
	}
	all, err := s.Store.WebhookEndpoints(ctx)
	if err != nil {
		return err
	}
	for _, e := range all {
		if e.Name == name {
			return &apiError{Status: http.StatusConflict, Message: "the endpoint name " + name + " is taken"}
		}
	}
	return nil
}
