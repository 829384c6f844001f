-- Webhooks: endpoints and the outbox of their deliveries. The triggers
-- write a delivery for each endpoint that wants an event, in the
-- transaction of the change itself: nothing committed goes without its
-- deliveries, nothing rolled back gets one, and with no endpoint nothing
-- is written. They lock the endpoints they read (FOR KEY SHARE): an
-- endpoint being deleted is waited for and then skipped, rather than
-- failing the change with a foreign key violation.
CREATE TABLE webhook_endpoints (
	id         BIGSERIAL PRIMARY KEY,
	name       TEXT        NOT NULL UNIQUE,
	url        TEXT        NOT NULL,
	secret     TEXT        NOT NULL,
	on_sms     BOOLEAN     NOT NULL DEFAULT FALSE,
	on_ticket  BOOLEAN     NOT NULL DEFAULT FALSE,
	on_chat    BOOLEAN     NOT NULL DEFAULT FALSE,
	client_id  BIGINT      NOT NULL DEFAULT 0,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
	id              BIGSERIAL PRIMARY KEY,
	endpoint_id     BIGINT      NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
	event           TEXT        NOT NULL,
	event_key       TEXT        NOT NULL,
	subject_id      BIGINT      NOT NULL,
	value           TEXT        NOT NULL DEFAULT '',
	old_value       TEXT        NOT NULL DEFAULT '',
	code            BIGINT      NOT NULL DEFAULT 0,
	detail          TEXT        NOT NULL DEFAULT '',
	at              TIMESTAMPTZ NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	payload         BYTEA,
	state           TEXT        NOT NULL DEFAULT 'pending',
	attempts        BIGINT      NOT NULL DEFAULT 0,
	replay_base     BIGINT      NOT NULL DEFAULT 0,
	finished        BIGINT      NOT NULL DEFAULT 0, -- the attempt whose outcome was recorded last
	next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
	last_status     BIGINT      NOT NULL DEFAULT 0,
	last_error      TEXT        NOT NULL DEFAULT '',
	delivered_at    TIMESTAMPTZ,
	UNIQUE (endpoint_id, event_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE FUNCTION webhook_sms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO webhook_deliveries (endpoint_id, event, event_key, subject_id, value, code, detail, at, created_at)
	SELECT e.id, 'sms.' || NEW.state, 'sms:' || NEW.id || ':' || NEW.state, NEW.id, NEW.state, NEW.error_code,
		NEW.reason, COALESCE(NEW.done_at, NEW.submitted_at, NEW.created_at), clock_timestamp()
	FROM webhook_endpoints e WHERE e.on_sms AND e.client_id IN (0, NEW.client_id) FOR KEY SHARE
	ON CONFLICT (endpoint_id, event_key) DO NOTHING;
	RETURN NULL;
END $$;

CREATE TRIGGER webhook_sms_insert AFTER INSERT ON sms_transmissions FOR EACH ROW
	WHEN (NEW.state NOT IN ('queued', 'submitting')) EXECUTE FUNCTION webhook_sms();
CREATE TRIGGER webhook_sms_update AFTER UPDATE OF state ON sms_transmissions FOR EACH ROW
	WHEN (NEW.state <> OLD.state AND NEW.state NOT IN ('queued', 'submitting')) EXECUTE FUNCTION webhook_sms();

CREATE FUNCTION webhook_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO webhook_deliveries (endpoint_id, event, event_key, subject_id, value, old_value, code, at, created_at)
	SELECT e.id, 'ticket.' || NEW.kind, 'ticket_event:' || NEW.id, NEW.ticket_id, NEW.new_value, NEW.old_value,
		NEW.agent_id, NEW.at, clock_timestamp()
	FROM webhook_endpoints e WHERE e.on_ticket FOR KEY SHARE
	ON CONFLICT (endpoint_id, event_key) DO NOTHING;
	RETURN NULL;
END $$;

CREATE TRIGGER webhook_ticket AFTER INSERT ON ticket_events FOR EACH ROW EXECUTE FUNCTION webhook_ticket();

CREATE FUNCTION webhook_chat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO webhook_deliveries (endpoint_id, event, event_key, subject_id, value, detail, at, created_at)
	SELECT e.id, 'chat.' || NEW.state,
		'chat:' || NEW.id || ':' || NEW.state || ':' || NEW.operator_id || ':'
			|| COALESCE((extract(epoch FROM NEW.assigned_at) * 1000000)::bigint, 0),
		NEW.id, NEW.state, NEW.operator_id, COALESCE(NEW.closed_at, NEW.assigned_at, NEW.opened_at), clock_timestamp()
	FROM webhook_endpoints e WHERE e.on_chat FOR KEY SHARE
	ON CONFLICT (endpoint_id, event_key) DO NOTHING;
	RETURN NULL;
END $$;

CREATE TRIGGER webhook_chat_insert AFTER INSERT ON chat_conversations FOR EACH ROW EXECUTE FUNCTION webhook_chat();
CREATE TRIGGER webhook_chat_update AFTER UPDATE OF state, operator_id ON chat_conversations FOR EACH ROW
	WHEN (NEW.state <> OLD.state OR NEW.operator_id <> OLD.operator_id) EXECUTE FUNCTION webhook_chat();
