package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

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
	s.render(w, r, "webhooks", http.StatusOK, map[string]any{"Endpoints": rows, "Deliveries": ds, "Names": names,
		"State": string(f.State), "Endpoint": q.Get("endpoint"), "Next": next, "Replayed": q.Get("replayed")})
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
	as, err := s.Store.Accounts(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "users", http.StatusOK, map[string]any{"Accounts": as})
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Store.APITokens(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, r, "tokens", http.StatusOK, map[string]any{"Tokens": ts})
}
