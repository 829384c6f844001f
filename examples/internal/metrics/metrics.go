// Package metrics exposes the example server's channels to Prometheus:
// what the library packages count (gateway counters and health, chat
// load, mail outcomes) read at scrape time, and the HTTP API's latency.
// The library packages carry no Prometheus dependency; this package turns
// their snapshots into metrics.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/smpp/gateway"
)

// Metrics is one server's registry. Its methods are safe for concurrent
// use.
type Metrics struct {
	reg          *prometheus.Registry
	mailResults  *prometheus.CounterVec
	mailReplies  prometheus.Counter
	httpRequests *prometheus.HistogramVec
}

// New makes the registry: Go runtime and process metrics, mail outcomes
// (fed by MailResult) and HTTP latency (Instrument). AddGateway and
// AddChat add the channels' figures.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.mailResults = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_mail_results_total",
		Help: "Mails processed, by outcome (created, followup, duplicate, quarantined, ignored, rejected, bounce, unmatched)."},
		[]string{"outcome"})
	m.mailReplies = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_mail_autoreplies_queued_total",
		Help: "Automatic replies queued for new tickets and follow-ups."})
	m.httpRequests = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_http_request_duration_seconds",
		Help: "HTTP API requests by route, method and status, and how long they took.", Buckets: prometheus.DefBuckets},
		[]string{"route", "method", "code"})
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.mailResults, m.mailReplies, m.httpRequests)
	return m
}

// AddGateway adds a gateway's figures, read at scrape time (call once).
func (m *Metrics) AddGateway(g *gateway.Gateway) { m.reg.MustRegister(&gatewayCollector{g: g}) }

// AddChat adds a chat server's load, read at scrape time (call once).
func (m *Metrics) AddChat(s *chat.Server) { m.reg.MustRegister(&chatCollector{s: s}) }

// MailResult counts one processed mail (a Poller's OnResult).
func (m *Metrics) MailResult(_ mailticket.Source, r mailticket.Result) {
	m.mailResults.WithLabelValues(string(r.Outcome)).Inc()
	if r.AutoResponse != "" {
		m.mailReplies.Inc()
	}
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, Timeout: 10 * time.Second})
}

// Instrument times h's requests by the pattern of the route that served
// them (never the raw path: ids would make a series each).
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "other"
		}
		m.httpRequests.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

// methodLabel is the method as a label: one of HTTP's, or "other" (a
// client chooses the method: as a label, any would add series).
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scrapeContext bounds the store reads of one scrape.
func scrapeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
