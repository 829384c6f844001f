-- Secrets every process on the store shares (signing keys).
CREATE TABLE secrets (
	name TEXT PRIMARY KEY,
	value BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
