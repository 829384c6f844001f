package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

type endpointJSON struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Client    string    `json:"client,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

type deliveryJSON struct {
	ID            int64           `json:"id"`
	Endpoint      string          `json:"endpoint"`
	Event         string          `json:"event"`
	EventID       string          `json:"event_id"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	LastStatus    int             `json:"last_status,omitempty"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	DeliveredAt   *time.Time      `json:"delivered_at,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
}

// visibleEndpoints are the webhook endpoints a caller may see: all for
// an administrator or a token for every client; a client's own (its
// delivery-report URLs) for that client's token or sms account.
func (s *Server) visibleEndpoints(ctx context.Context, c caller) ([]store.WebhookEndpoint, map[int64]string, error) {
	all := c.role == store.RoleAdmin || (c.role == "" && c.client == "")
	if !all && c.client == "" {
		return nil, nil, forbidden("an account of role " + string(c.role) + " has no access to webhooks")
	}
	eps, err := s.Store.WebhookEndpoints(ctx)
	if err != nil {
		return nil, nil, err
	}
	clients := map[int64]string{}
	var out []store.WebhookEndpoint
	for _, e := range eps {
		if e.ClientID != 0 {
			cl, err := s.Store.Client(ctx, e.ClientID)
			switch {
			case errors.Is(err, store.ErrNotFound): // gone since: shown by id, seen by no client
				clients[e.ClientID] = "#" + strconv.FormatInt(e.ClientID, 10)
			case err != nil:
				return nil, nil, err
			default:
				clients[e.ClientID] = cl.Name
			}
		}
		if all || (e.ClientID != 0 && clients[e.ClientID] == c.client) {
			out = append(out, e)
		}
	}
	return out, clients, nil
}

// listWebhooks lists the endpoints the caller may see, never their
// secrets.
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	eps, clients, err := s.visibleEndpoints(r.Context(), callerOf(r.Context()))
	if err != nil {
		return err
	}
	items := make([]endpointJSON, 0, len(eps))
	for _, e := range eps {
		j := endpointJSON{Name: e.Name, URL: redacted(e.URL), Client: clients[e.ClientID], CreatedAt: e.CreatedAt, Events: []string{}}
		for _, t := range e.Topics {
			j.Events = append(j.Events, string(t))
		}
		items = append(items, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// redacted hides the password of a URL's user information.
func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unreadable URL)"
	}
	return u.Redacted()
}

// listDeliveries lists deliveries newest first, by endpoint and state;
// "before" pages back ("next" is the next page's before, 0 at the end).
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	eps, _, err := s.visibleEndpoints(ctx, callerOf(ctx))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.WebhookDeliveryFilter{Limit: DefaultLimit, State: store.DeliveryState(q.Get("state")), EndpointIDs: []int64{}}
	switch f.State {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed:
	default:
		return badField("state", "state: want pending, delivered or failed")
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badField("before", "before: want an id (a non-negative integer)")
		}
		f.BeforeID = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return badField("limit", "limit: want 1 to "+strconv.Itoa(MaxLimit))
		}
		f.Limit = n
	}
	names := map[int64]string{}
	want := q.Get("endpoint")
	found := want == ""
	for _, e := range eps {
		names[e.ID] = e.Name
		if want == "" || e.Name == want {
			f.EndpointIDs = append(f.EndpointIDs, e.ID)
			found = true
		}
	}
	if !found {
		return badField("endpoint", "endpoint: no webhook endpoint named "+strconv.Quote(want)+" that you may see")
	}
	ds, err := s.Store.WebhookDeliveries(ctx, f)
	if err != nil {
		return err
	}
	items := make([]deliveryJSON, 0, len(ds))
	var next int64
	for _, d := range ds {
		items = append(items, deliveryOf(d, names[d.EndpointID], false))
		next = d.ID
	}
	if len(ds) < f.Limit {
		next = 0
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": next})
	return nil
}

func deliveryOf(d store.WebhookDelivery, endpoint string, payload bool) deliveryJSON {
	j := deliveryJSON{ID: d.ID, Endpoint: endpoint, Event: d.Event, EventID: d.Key, State: string(d.State),
		Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt,
		DeliveredAt: optTime(d.DeliveredAt)}
	if d.State == store.DeliveryPending {
		j.NextAttemptAt = optTime(d.NextAttemptAt)
	}
	if payload && d.Payload != nil {
		j.Payload = json.RawMessage(d.Payload)
	}
	return j
}

// visibleDelivery reads the delivery named by the path, or 404 if the
// caller may not see it.
func (s *Server) visibleDelivery(r *http.Request) (store.WebhookDelivery, string, error) {
	ctx := r.Context()
	eps, _, err := s.visibleEndpoints(ctx, callerOf(ctx))
	if err != nil {
		return store.WebhookDelivery{}, "", err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return store.WebhookDelivery{}, "", err
	}
	d, err := s.Store.WebhookDelivery(ctx, id)
	if err != nil {
		return store.WebhookDelivery{}, "", err
	}
	for _, e := range eps {
		if e.ID == d.EndpointID {
			return d, e.Name, nil
		}
	}
	return store.WebhookDelivery{}, "", notFound("no webhook delivery " + strconv.FormatInt(id, 10))
}

// getDelivery returns one delivery with the body it sends.
func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) error {
	d, name, err := s.visibleDelivery(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deliveryOf(d, name, true))
	return nil
}

// replayDelivery sends a delivery again, now, with the same body: 202.
func (s *Server) replayDelivery(w http.ResponseWriter, r *http.Request) error {
	d, name, err := s.visibleDelivery(r)
	if err != nil {
		return err
	}
	if err := s.Store.ReplayWebhookDelivery(r.Context(), d.ID, s.now()); err != nil {
		return err
	}
	if s.Webhooks != nil {
		s.Webhooks.Wake()
	}
	if d, err = s.Store.WebhookDelivery(r.Context(), d.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, deliveryOf(d, name, false))
	return nil
}
