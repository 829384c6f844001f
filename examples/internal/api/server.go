package api

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/internal/loginguard"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/webhook"
)

// Limits of requests and pages.
const (
	MaxBody      = 64 << 10 // a JSON request body
	MaxBatchBody = 32 << 20 // a CSV batch
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Server serves the API. Its fields must be set before Handler is called
// and not changed after. A Server is safe for concurrent use.
type Server struct {
	Store store.Store
	// Gateway queues SMS; Numbering and MaxParts must be the ones it
	// was made with (they check a message before it is queued).
	Gateway   *gateway.Gateway
	Numbering gateway.Numbering
	MaxParts  int
	// Tickets and Mail answer tickets (nil: the reply route answers 503).
	Tickets *mailticket.Processor
	Mail    mailticket.Sender
	// Metrics serves GET /metrics to a token for every client (nil: 404).
	Metrics http.Handler
	// Webhooks is woken when a delivery is replayed (nil: it finds the
	// delivery at its next poll).
	Webhooks *webhook.Dispatcher
	// MaxBatchBytes caps a CSV batch's body (0: MaxBatchBody).
	MaxBatchBytes int64
	Logger        *slog.Logger // nil: slog.Default()
	Now           func() time.Time

	loginsOnce  sync.Once
	logins      *loginguard.Guard
	credentials *credentials
}

func (s *Server) initLogins() {
	s.loginsOnce.Do(func() { s.logins, s.credentials = loginguard.New(), newCredentials() })
}

// loginGuard is the server's guard of password logins.
func (s *Server) loginGuard() *loginguard.Guard {
	s.initLogins()
	return s.logins
}

// creds are the credentials checked lately.
func (s *Server) creds() *credentials {
	s.initLogins()
	return s.credentials
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	route := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, s.authenticated(h))
	}
	route("POST /api/v1/sms", s.sendSMS)
	route("GET /api/v1/sms/{id}", s.getSMS)
	route("GET /api/v1/status/{number}", s.numberStatus)
	route("POST /api/v1/batches", s.loadBatch)
	route("GET /api/v1/batches/{id}", s.getBatch)
	route("GET /api/v1/mo", s.listMO)
	route("GET /api/v1/tickets", s.listTickets)
	route("GET /api/v1/tickets/{number}", s.getTicket)
	route("POST /api/v1/tickets/{number}/reply", s.replyTicket)
	route("PATCH /api/v1/tickets/{number}", s.patchTicket)
	route("GET /api/v1/chat/conversations", s.listConversations)
	route("GET /api/v1/chat/conversations/{id}/transcript", s.transcript)
	route("GET /api/v1/webhooks", s.listWebhooks)
	route("PUT /api/v1/webhooks/{name}", s.putWebhook)
	route("DELETE /api/v1/webhooks/{name}", s.deleteWebhook)
	route("GET /api/v1/webhooks/deliveries", s.listDeliveries)
	route("GET /api/v1/webhooks/deliveries/{id}", s.getDelivery)
	route("POST /api/v1/webhooks/deliveries/{id}/replay", s.replayDelivery)
	if s.Metrics != nil {
		route("GET /metrics", func(w http.ResponseWriter, r *http.Request) error {
			if err := allow(callerOf(r.Context()), areaMetrics); err != nil {
				return err
			}
			s.Metrics.ServeHTTP(w, r)
			return nil
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, &apiError{Message: "no route " + r.Method + " " + r.URL.Path})
	})
	return mux
}

// healthz answers 200 while the store answers, 503 otherwise.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Store.Queues(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
