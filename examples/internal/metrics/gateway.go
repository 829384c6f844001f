package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchboard-go/switchboard/smpp/gateway"
)

// gatewayCollector reads gateway.Operators at scrape time: this process's
// counters and sessions per operator, and the store's counts of the last
// day's messages by state (every process's).
type gatewayCollector struct{ g *gateway.Gateway }

var (
	smsCounterDesc = prometheus.NewDesc("switchboard_sms_events_total",
		"What this process's gateway did per operator: accepted, failed, retried, uncertain, possible_duplicate, late, unknown, part_retry, query, queried_final, no_receipt, failed_over, receipt, mo.",
		[]string{"operator", "event"}, nil)
	smsBoundDesc = prometheus.NewDesc("switchboard_sms_binds_up",
		"SMPP sessions bound per operator in this process.", []string{"operator"}, nil)
	smsBindsDesc = prometheus.NewDesc("switchboard_sms_binds",
		"SMPP sessions configured per operator.", []string{"operator"}, nil)
	smsStateDesc = prometheus.NewDesc("switchboard_sms_transmissions_last_day",
		"Messages created in the last 24 hours per operator and state (queued is the queue depth of recent messages), all processes.",
		[]string{"operator", "state"}, nil)
	smsScrapeErrDesc = prometheus.NewDesc("switchboard_sms_scrape_error",
		"1 when the gateway's figures could not be read for this scrape.", nil, nil)
)

func (c *gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{smsCounterDesc, smsBoundDesc, smsBindsDesc, smsStateDesc, smsScrapeErrDesc} {
		ch <- d
	}
}

func (c *gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := scrapeContext()
	defer cancel()
	ops, err := c.g.Operators(ctx, time.Now().Add(-24*time.Hour))
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(smsScrapeErrDesc, prometheus.GaugeValue, failed)
	for _, op := range ops {
		for state, n := range op.Store.ByState {
			ch <- prometheus.MustNewConstMetric(smsStateDesc, prometheus.GaugeValue, float64(n), op.Name, string(state))
		}
		ch <- prometheus.MustNewConstMetric(smsBindsDesc, prometheus.GaugeValue, float64(op.Binds), op.Name)
		if !op.Running {
			continue
		}
		ch <- prometheus.MustNewConstMetric(smsBoundDesc, prometheus.GaugeValue, float64(op.Bound), op.Name)
		p := op.Process
		for _, e := range []struct {
			name string
			n    uint64
		}{{"accepted", p.Accepted}, {"failed", p.Failed}, {"retried", p.Retried}, {"uncertain", p.Uncertain},
			{"possible_duplicate", p.PossibleDuplicates}, {"late", p.Late}, {"unknown", p.Unknown}, {"part_retry", p.PartRetries},
			{"query", p.Queries}, {"queried_final", p.QueriedFinal}, {"no_receipt", p.NoReceipt}, {"failed_over", p.FailedOver},
			{"receipt", p.Receipts}, {"mo", p.MO}} {
			ch <- prometheus.MustNewConstMetric(smsCounterDesc, prometheus.CounterValue, float64(e.n), op.Name, e.name)
		}
	}
}
