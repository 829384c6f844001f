-- Several operators may take one prefix: the gateway prefers the lowest
-- priority that is healthy and shares by weight among equals.
ALTER TABLE sms_operators ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_operators ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sms_operator_prefixes DROP CONSTRAINT sms_operator_prefixes_pkey;
ALTER TABLE sms_operator_prefixes ADD PRIMARY KEY (prefix, operator_id);
