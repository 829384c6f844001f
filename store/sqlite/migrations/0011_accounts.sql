-- People's accounts for the web console and the HTTP API, and programs'
-- API tokens (only their SHA-256 is kept).
CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	login         TEXT    NOT NULL UNIQUE,
	name          TEXT    NOT NULL DEFAULT '',
	role          TEXT    NOT NULL,
	client        TEXT    NOT NULL DEFAULT '',
	password_hash TEXT    NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	client     TEXT    NOT NULL DEFAULT '',
	hash       TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
