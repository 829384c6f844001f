package sqlite

import (
	"context"

	"github.com/switchboard-go/switchboard/store"
)

// The triggers that write webhook deliveries (see migration 0012). A
// topic's triggers exist only while an endpoint wants it: with a trigger
// on a table SQLite gives up its one-pass plans for the table's updates,
// which costs a gateway a few percent for events nobody asked for. They
// are made and dropped in the transaction that changes the endpoints, and
// a schema change reaches every connection and process at its next
// statement, so no committed change misses them.
var webhookTriggers = []struct {
	name  string
	topic store.WebhookTopic
	on    string // what fires it, and when
	body  string
}{
	{"webhook_sms_insert", store.TopicSMS, `AFTER INSERT ON sms_transmissions
WHEN NEW.state NOT IN ('queued', 'submitting')`, smsDeliveries},
	{"webhook_sms_update", store.TopicSMS, `AFTER UPDATE OF state ON sms_transmissions
WHEN NEW.state <> OLD.state AND NEW.state NOT IN ('queued', 'submitting')`, smsDeliveries},
	{"webhook_ticket", store.TopicTicket, `AFTER INSERT ON ticket_events`, ticketDeliveries},
	{"webhook_chat_insert", store.TopicChat, `AFTER INSERT ON chat_conversations`, chatDeliveries},
	{"webhook_chat_update", store.TopicChat, `AFTER UPDATE OF state, operator_id ON chat_conversations
WHEN NEW.state <> OLD.state OR NEW.operator_id <> OLD.operator_id`, chatDeliveries},
}

// The triggers' statements: one delivery for each endpoint of the topic
// (an event is written once per endpoint however often it fires).
const (
	nowMicros = `CAST(unixepoch('subsec') * 1000000 AS INTEGER)`

	smsDeliveries = `INSERT INTO webhook_deliveries (endpoint_id, event, event_key, subject_id, value, code, detail, at, created_at)
	SELECT e.id, 'sms.' || NEW.state, 'sms:' || NEW.id || ':' || NEW.state, NEW.id, NEW.state, NEW.error_code,
		NEW.reason, COALESCE(NEW.done_at, NEW.submitted_at, NEW.created_at), ` + nowMicros + `
	FROM webhook_endpoints e WHERE e.on_sms AND e.client_id IN (0, NEW.client_id)
	ON CONFLICT (endpoint_id, event_key) DO NOTHING;`

	ticketDeliveries = `INSERT INTO webhook_deliveries (endpoint_id, event, event_key, subject_id, value, old_value, code, at, created_at)
	SELECT e.id, 'ticket.' || NEW.kind, 'ticket_event:' || NEW.id, NEW.ticket_id, NEW.new_value, NEW.old_value,
		NEW.agent_id, NEW.at, ` + nowMicros + `
	FROM webhook_endpoints e WHERE e.on_ticket
	ON CONFLICT (endpoint_id, event_key) DO NOTHING;`

	chatDeliveries = `INSERT INTO webhook_deliveries (endpoint_id, event, event_key, subject_id, value, detail, at, created_at)
	SELECT e.id, 'chat.' || NEW.state,
		'chat:' || NEW.id || ':' || NEW.state || ':' || NEW.operator_id || ':' || COALESCE(NEW.assigned_at, 0),
		NEW.id, NEW.state, NEW.operator_id, COALESCE(NEW.closed_at, NEW.assigned_at, NEW.opened_at), ` + nowMicros + `
	FROM webhook_endpoints e WHERE e.on_chat
	ON CONFLICT (endpoint_id, event_key) DO NOTHING;`
)

// syncWebhookTriggers makes the triggers of the topics some endpoint
// wants and drops the others. It runs inside the write transaction that
// changed the endpoints.
func (o *ops) syncWebhookTriggers(ctx context.Context) error {
	var sms, ticket, chat bool
	if err := o.w().QueryRowContext(ctx, `SELECT COALESCE(MAX(on_sms), 0), COALESCE(MAX(on_ticket), 0),
		COALESCE(MAX(on_chat), 0) FROM webhook_endpoints`).Scan(&sms, &ticket, &chat); err != nil {
		return err
	}
	want := map[store.WebhookTopic]bool{store.TopicSMS: sms, store.TopicTicket: ticket, store.TopicChat: chat}
	for _, tr := range webhookTriggers {
		q := `DROP TRIGGER IF EXISTS ` + tr.name
		if want[tr.topic] {
			q = `CREATE TRIGGER IF NOT EXISTS ` + tr.name + ` ` + tr.on + "\nBEGIN\n\t" + tr.body + "\nEND"
		}
		if _, err := o.tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
