package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-go/switchboard/webhook"
)

type webhookCollector struct{ d *webhook.Dispatcher }

var webhookAttempts = prometheus.NewDesc("switchboard_webhook_attempts_total",
	"Webhook delivery attempts by outcome: delivered (2xx), retried (to be tried again), failed (given up).", []string{"outcome"}, nil)

// AddWebhooks adds a webhook dispatcher's counts, read at scrape time
// (call once).
func (m *Metrics) AddWebhooks(d *webhook.Dispatcher) { m.reg.MustRegister(&webhookCollector{d: d}) }

func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) { ch <- webhookAttempts }

func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.Stats()
	for _, x := range []struct {
		outcome string
		n       int64
	}{{"delivered", s.Delivered}, {"retried", s.Retried}, {"failed", s.Failed}} {
		ch <- prometheus.MustNewConstMetric(webhookAttempts, prometheus.CounterValue, float64(x.n), x.outcome)
	}
}
