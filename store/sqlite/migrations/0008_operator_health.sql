-- What each gateway process running an operator last reported about it,
-- for other processes to show.
CREATE TABLE sms_operator_health (
	operator_id   INTEGER NOT NULL REFERENCES sms_operators (id) ON DELETE CASCADE,
	process       TEXT    NOT NULL,
	bound         INTEGER NOT NULL,
	binds         INTEGER NOT NULL,
	unbound_since INTEGER,
	last_error    TEXT    NOT NULL DEFAULT '',
	throughput    REAL    NOT NULL DEFAULT 0,
	reported_at   INTEGER NOT NULL,
	PRIMARY KEY (operator_id, process)
);
