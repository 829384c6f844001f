-- Several operators may take one prefix: the gateway prefers the lowest
-- priority that is healthy and shares by weight among equals.
ALTER TABLE sms_operators ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_operators ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
CREATE TABLE sms_operator_prefixes_shared (
	prefix      TEXT    NOT NULL,
	operator_id INTEGER NOT NULL REFERENCES sms_operators (id) ON DELETE CASCADE,
	PRIMARY KEY (prefix, operator_id)
);
INSERT INTO sms_operator_prefixes_shared (prefix, operator_id) SELECT prefix, operator_id FROM sms_operator_prefixes;
DROP TABLE sms_operator_prefixes;
ALTER TABLE sms_operator_prefixes_shared RENAME TO sms_operator_prefixes;
CREATE INDEX sms_operator_prefixes_operator ON sms_operator_prefixes (operator_id);
