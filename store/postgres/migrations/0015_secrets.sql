-- Secrets every process on the store shares (signing keys).
CREATE TABLE secrets (
	name TEXT PRIMARY KEY,
	value BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
