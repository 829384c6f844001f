package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchboard-go/switchboard/chat"
)

// chatCollector reads chat.Server.Stats at scrape time.
type chatCollector struct{ s *chat.Server }

var chatDescs = struct {
	connections, handshakes, conversations, waiting, operators, uploads, dropped, messages *prometheus.Desc
}{
	connections:   prometheus.NewDesc("switchboard_chat_connections", "Open chat connections.", nil, nil),
	handshakes:    prometheus.NewDesc("switchboard_chat_handshakes", "Connections still reading their HELLO.", nil, nil),
	conversations: prometheus.NewDesc("switchboard_chat_conversations", "Open conversations by state (waiting in line or active).", []string{"state"}, nil),
	waiting:       prometheus.NewDesc("switchboard_chat_queue_length", "Customers waiting in line.", nil, nil),
	operators:     prometheus.NewDesc("switchboard_chat_operators_online", "Operators with a connection.", nil, nil),
	uploads:       prometheus.NewDesc("switchboard_chat_upload_bytes", "Memory reserved by uploads in progress.", nil, nil),
	dropped:       prometheus.NewDesc("switchboard_chat_events_dropped_total", "Events the event hook could not take in time.", nil, nil),
	messages:      prometheus.NewDesc("switchboard_chat_messages_total", "Messages stored, by sender (customer, operator, system).", []string{"sender"}, nil),
}

func (c *chatCollector) Describe(ch chan<- *prometheus.Desc) {
	d := chatDescs
	for _, x := range []*prometheus.Desc{d.connections, d.handshakes, d.conversations, d.waiting, d.operators, d.uploads, d.dropped, d.messages} {
		ch <- x
	}
}

func (c *chatCollector) Collect(ch chan<- prometheus.Metric) {
	st, d := c.s.Stats(), chatDescs
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	gauge(d.connections, float64(st.Connections))
	gauge(d.handshakes, float64(st.Handshakes))
	gauge(d.conversations, float64(st.Waiting), "waiting")
	gauge(d.conversations, float64(st.Conversations-st.Waiting), "active")
	gauge(d.waiting, float64(st.Waiting))
	gauge(d.operators, float64(st.Operators))
	gauge(d.uploads, float64(st.UploadBytes))
	ch <- prometheus.MustNewConstMetric(d.dropped, prometheus.CounterValue, float64(st.EventsDropped))
	for sender, n := range map[string]int64{"customer": st.CustomerMessages, "operator": st.OperatorMessages, "system": st.SystemMessages} {
		ch <- prometheus.MustNewConstMetric(d.messages, prometheus.CounterValue, float64(n), sender)
	}
}
