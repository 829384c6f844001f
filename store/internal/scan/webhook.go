package scan

import "github.com/switchboard-go/switchboard/store"

// Columns of the webhook tables, in the order the scanners read them.
const (
	WebhookEndpointCols = `id, name, url, secret, on_sms, on_ticket, on_chat, client_id, created_at`
	WebhookDeliveryCols = `id, endpoint_id, event, event_key, subject_id, value, old_value, code, detail, at,
		created_at, payload, state, attempts, attempts - replay_base, next_attempt_at, last_status, last_error, delivered_at`
)

// WebhookEndpoint scans WebhookEndpointCols.
func WebhookEndpoint(sc Row) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var sms, ticket, chat bool
	err := sc.Scan(&e.ID, &e.Name, &e.URL, &e.Secret, &sms, &ticket, &chat, &e.ClientID, Time(&e.CreatedAt))
	for _, t := range []struct {
		on    bool
		topic store.WebhookTopic
	}{{sms, store.TopicSMS}, {ticket, store.TopicTicket}, {chat, store.TopicChat}} {
		if t.on {
			e.Topics = append(e.Topics, t.topic)
		}
	}
	return e, err
}

// WebhookDelivery scans WebhookDeliveryCols.
func WebhookDelivery(sc Row) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	err := sc.Scan(&d.ID, &d.EndpointID, &d.Event, &d.Key, &d.SubjectID, &d.Value, &d.OldValue, &d.Code,
		&d.Detail, Time(&d.At), Time(&d.CreatedAt), &d.Payload, &d.State, &d.Attempts, &d.Tries, Time(&d.NextAttemptAt),
		&d.LastStatus, &d.LastError, Time(&d.DeliveredAt))
	return d, err
}
