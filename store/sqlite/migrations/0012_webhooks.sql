-- Webhooks: endpoints and the outbox of their deliveries. Triggers write
-- a delivery for each endpoint that wants an event, in the transaction of
-- the change itself: nothing committed goes without its deliveries and
-- nothing rolled back gets one. They exist only while an endpoint wants
-- their events (see webhook.go): a trigger on a table costs its updates
-- SQLite's one-pass plans, and a store without endpoints pays nothing.
CREATE TABLE webhook_endpoints (
	id         INTEGER PRIMARY KEY AUTOINCREMENT, -- ids never reused: a late outcome or request finds nothing
	name       TEXT    NOT NULL UNIQUE,
	url        TEXT    NOT NULL,
	secret     TEXT    NOT NULL,
	on_sms     INTEGER NOT NULL DEFAULT 0,
	on_ticket  INTEGER NOT NULL DEFAULT 0,
	on_chat    INTEGER NOT NULL DEFAULT 0,
	client_id  INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
	event           TEXT    NOT NULL,
	event_key       TEXT    NOT NULL,
	subject_id      INTEGER NOT NULL,
	value           TEXT    NOT NULL DEFAULT '',
	old_value       TEXT    NOT NULL DEFAULT '',
	code            INTEGER NOT NULL DEFAULT 0,
	detail          TEXT    NOT NULL DEFAULT '',
	at              INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	payload         BLOB,
	state           TEXT    NOT NULL DEFAULT 'pending',
	attempts        INTEGER NOT NULL DEFAULT 0,
	replay_base     INTEGER NOT NULL DEFAULT 0,
	finished        INTEGER NOT NULL DEFAULT 0, -- the attempt whose outcome was recorded last
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	delivered_at    INTEGER,
	UNIQUE (endpoint_id, event_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
