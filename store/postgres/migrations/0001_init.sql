-- switchboard schema, version 1. NULL times mean "not yet".

-- Chat ---------------------------------------------------------------

CREATE TABLE chat_conversations (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_name  TEXT    NOT NULL DEFAULT '',
	customer_id    TEXT    NOT NULL DEFAULT '',
	customer_email TEXT    NOT NULL DEFAULT '',
	operator_id    TEXT    NOT NULL DEFAULT '',
	state          TEXT    NOT NULL,
	last_seq       BIGINT NOT NULL DEFAULT 0,
	opened_at      TIMESTAMPTZ NOT NULL,
	assigned_at    TIMESTAMPTZ,
	closed_at      TIMESTAMPTZ
);
CREATE INDEX chat_conversations_state ON chat_conversations (state, id);

CREATE TABLE chat_attachments (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	conversation_id BIGINT NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
	name            TEXT    NOT NULL,
	media_type      TEXT    NOT NULL,
	size            BIGINT NOT NULL,
	sha256          TEXT    NOT NULL,
	data            BYTEA    NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX chat_attachments_conversation ON chat_attachments (conversation_id);

CREATE TABLE chat_messages (
	conversation_id BIGINT NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
	seq             BIGINT NOT NULL,
	client_msg_id   TEXT,
	sender_role     TEXT    NOT NULL,
	sender_id       TEXT    NOT NULL DEFAULT '',
	kind            TEXT    NOT NULL,
	body            TEXT    NOT NULL DEFAULT '',
	attachment_id   BIGINT REFERENCES chat_attachments (id),
	created_at      TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX chat_messages_client ON chat_messages (conversation_id, sender_role, sender_id, client_msg_id)
	WHERE client_msg_id IS NOT NULL;

-- SMS ----------------------------------------------------------------

CREATE TABLE sms_operators (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name            TEXT    NOT NULL UNIQUE,
	host            TEXT    NOT NULL DEFAULT '',
	port            BIGINT NOT NULL DEFAULT 0,
	system_id       TEXT    NOT NULL DEFAULT '',
	password        TEXT    NOT NULL DEFAULT '',
	system_type     TEXT    NOT NULL DEFAULT '',
	bind_mode       TEXT    NOT NULL,
	tls             BOOLEAN NOT NULL DEFAULT false,
	window_size     BIGINT NOT NULL DEFAULT 0,
	tps             BIGINT NOT NULL DEFAULT 0,
	enquire_link_us BIGINT NOT NULL DEFAULT 0,
	binds           BIGINT NOT NULL DEFAULT 0,
	is_default      BOOLEAN NOT NULL DEFAULT false,
	enabled         BOOLEAN NOT NULL DEFAULT true,
	created_at      TIMESTAMPTZ NOT NULL,
	updated_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX sms_operators_default ON sms_operators (is_default) WHERE is_default;

CREATE TABLE sms_operator_params (
	operator_id BIGINT NOT NULL REFERENCES sms_operators (id) ON DELETE CASCADE,
	command     TEXT    NOT NULL,
	name        TEXT    NOT NULL,
	value       TEXT    NOT NULL,
	PRIMARY KEY (operator_id, command, name)
);

CREATE TABLE sms_operator_prefixes (
	prefix      TEXT    PRIMARY KEY,
	operator_id BIGINT NOT NULL REFERENCES sms_operators (id) ON DELETE CASCADE
);
CREATE INDEX sms_operator_prefixes_operator ON sms_operator_prefixes (operator_id);

CREATE TABLE sms_source_numbers (
	operator_id BIGINT NOT NULL REFERENCES sms_operators (id) ON DELETE CASCADE,
	number      TEXT    NOT NULL,
	PRIMARY KEY (operator_id, number)
);

CREATE TABLE sms_clients (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sms_batches (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	client_id  BIGINT NOT NULL REFERENCES sms_clients (id),
	name       TEXT    NOT NULL DEFAULT '',
	total      BIGINT NOT NULL DEFAULT 0,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX sms_batches_name ON sms_batches (client_id, name) WHERE name <> '';

CREATE TABLE sms_transmissions (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	external_id     TEXT,
	client_id       BIGINT NOT NULL REFERENCES sms_clients (id),
	batch_id        BIGINT REFERENCES sms_batches (id),
	operator_id     BIGINT NOT NULL DEFAULT 0,
	source          TEXT    NOT NULL DEFAULT '',
	destination     TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	state           TEXT    NOT NULL,
	reason          TEXT    NOT NULL DEFAULT '',
	error_code      BIGINT NOT NULL DEFAULT 0,
	attempts        BIGINT NOT NULL DEFAULT 0,
	segments        BIGINT NOT NULL DEFAULT 0,
	message_id      TEXT    NOT NULL DEFAULT '',
	next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
	claimed_at      TIMESTAMPTZ,
	created_at      TIMESTAMPTZ NOT NULL,
	submitted_at    TIMESTAMPTZ,
	done_at         TIMESTAMPTZ
);
CREATE UNIQUE INDEX sms_transmissions_external ON sms_transmissions (client_id, external_id)
	WHERE external_id IS NOT NULL;
CREATE INDEX sms_transmissions_queue ON sms_transmissions (operator_id, next_attempt_at, id)
	WHERE state = 'queued';
CREATE INDEX sms_transmissions_claimed ON sms_transmissions (claimed_at) WHERE state = 'submitting';
CREATE INDEX sms_transmissions_destination ON sms_transmissions (destination, id);
CREATE INDEX sms_transmissions_batch ON sms_transmissions (batch_id, state);

CREATE TABLE sms_segments (
	transmission_id BIGINT NOT NULL REFERENCES sms_transmissions (id) ON DELETE CASCADE,
	segment         BIGINT NOT NULL,
	operator_id     BIGINT NOT NULL,
	message_id      TEXT    NOT NULL,
	state           TEXT    NOT NULL DEFAULT '',
	error_code      BIGINT NOT NULL DEFAULT 0,
	done_at         TIMESTAMPTZ,
	PRIMARY KEY (transmission_id, segment)
);
CREATE INDEX sms_segments_message ON sms_segments (operator_id, message_id);

-- Receipts whose message id was not recorded yet (they can overtake the
-- submit_sm_resp); applied by the RecordSubmit that brings the id.
CREATE TABLE sms_pending_receipts (
	operator_id BIGINT NOT NULL,
	message_id  TEXT    NOT NULL,
	state       TEXT    NOT NULL,
	error_code  BIGINT NOT NULL,
	done_at     TIMESTAMPTZ NOT NULL,
	received_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (operator_id, message_id)
);

CREATE TABLE sms_mo (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	operator_id     BIGINT NOT NULL DEFAULT 0,
	source          TEXT    NOT NULL,
	short_code      TEXT    NOT NULL DEFAULT '',
	body            TEXT    NOT NULL,
	received_at     TIMESTAMPTZ NOT NULL,
	transmission_id BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sms_mo_source ON sms_mo (source, id);

-- Tickets ------------------------------------------------------------

CREATE TABLE ticket_queues (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ticket_customers (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email      TEXT    NOT NULL UNIQUE,
	name       TEXT    NOT NULL DEFAULT '',
	company    TEXT    NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ticket_agents (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       TEXT    NOT NULL,
	email      TEXT    NOT NULL UNIQUE,
	phone      TEXT    NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ticket_counters (
	day  TEXT    PRIMARY KEY,
	last BIGINT NOT NULL
);

CREATE TABLE tickets (
	id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	number            TEXT    NOT NULL UNIQUE,
	title             TEXT    NOT NULL DEFAULT '',
	queue_id          BIGINT NOT NULL REFERENCES ticket_queues (id),
	state             TEXT    NOT NULL,
	priority          BIGINT NOT NULL,
	customer_id       BIGINT REFERENCES ticket_customers (id),
	owner_id          BIGINT REFERENCES ticket_agents (id),
	linked_ticket_id  BIGINT REFERENCES tickets (id),
	created_at        TIMESTAMPTZ NOT NULL,
	updated_at        TIMESTAMPTZ NOT NULL,
	first_response_at TIMESTAMPTZ,
	closed_at         TIMESTAMPTZ
);
CREATE INDEX tickets_queue ON tickets (queue_id, state);
CREATE INDEX tickets_customer ON tickets (customer_id);
CREATE INDEX tickets_created ON tickets (created_at);

CREATE TABLE ticket_articles (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	direction   TEXT    NOT NULL,
	agent_id    BIGINT REFERENCES ticket_agents (id),
	message_id  TEXT    NOT NULL DEFAULT '',
	in_reply_to TEXT    NOT NULL DEFAULT '',
	refs        TEXT    NOT NULL DEFAULT '',
	from_addr   TEXT    NOT NULL DEFAULT '',
	to_addr     TEXT    NOT NULL DEFAULT '',
	cc_addr     TEXT    NOT NULL DEFAULT '',
	subject     TEXT    NOT NULL DEFAULT '',
	body_text   TEXT    NOT NULL DEFAULT '',
	body_html   TEXT    NOT NULL DEFAULT '',
	sent_at     TIMESTAMPTZ NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_articles_ticket ON ticket_articles (ticket_id, id);
CREATE INDEX ticket_articles_message ON ticket_articles (message_id) WHERE message_id <> '';

CREATE TABLE ticket_attachments (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	article_id BIGINT NOT NULL REFERENCES ticket_articles (id) ON DELETE CASCADE,
	name       TEXT    NOT NULL DEFAULT '',
	media_type TEXT    NOT NULL DEFAULT '',
	content_id TEXT    NOT NULL DEFAULT '',
	size       BIGINT NOT NULL,
	sha256     TEXT    NOT NULL,
	data       BYTEA    NOT NULL
);
CREATE INDEX ticket_attachments_article ON ticket_attachments (article_id, id);

CREATE TABLE mail_receipts (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source_key  TEXT UNIQUE,
	content_key TEXT UNIQUE,
	ticket_id   BIGINT NOT NULL REFERENCES tickets (id),
	article_id  BIGINT NOT NULL REFERENCES ticket_articles (id),
	received_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ticket_events (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	kind      TEXT    NOT NULL,
	agent_id  BIGINT NOT NULL DEFAULT 0,
	old_value TEXT    NOT NULL DEFAULT '',
	new_value TEXT    NOT NULL DEFAULT '',
	at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
CREATE INDEX ticket_events_kind_at ON ticket_events (kind, at);

CREATE TABLE auto_responses (
	id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id BIGINT NOT NULL DEFAULT 0,
	recipient TEXT    NOT NULL,
	template  TEXT    NOT NULL DEFAULT '',
	sent_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX auto_responses_recipient ON auto_responses (recipient, sent_at);
