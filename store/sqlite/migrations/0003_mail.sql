-- Mail-to-ticket: pending reminders, merges, the auto-response outbox and
-- the quarantine of mail that could not be ingested.
ALTER TABLE tickets ADD COLUMN pending_until INTEGER;
ALTER TABLE tickets ADD COLUMN merged_into_id INTEGER REFERENCES tickets (id);
CREATE INDEX tickets_pending ON tickets (pending_until) WHERE state = 'pending' AND pending_until IS NOT NULL;

ALTER TABLE auto_responses ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE auto_responses ADD COLUMN sender TEXT NOT NULL DEFAULT '';
ALTER TABLE auto_responses ADD COLUMN raw BLOB;
ALTER TABLE auto_responses ADD COLUMN state TEXT NOT NULL DEFAULT 'sent';
ALTER TABLE auto_responses ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE auto_responses ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE INDEX auto_responses_queued ON auto_responses (id) WHERE state = 'queued';

CREATE TABLE mail_quarantine (
	id          INTEGER PRIMARY KEY,
	source_key  TEXT UNIQUE,
	reason      TEXT    NOT NULL,
	size        INTEGER NOT NULL,
	raw         BLOB    NOT NULL,
	at          INTEGER NOT NULL
);
