-- People's accounts for the web console and the HTTP API, and programs'
-- API tokens (only their SHA-256 is kept).
CREATE TABLE accounts (
	id            BIGSERIAL PRIMARY KEY,
	login         TEXT        NOT NULL UNIQUE,
	name          TEXT        NOT NULL DEFAULT '',
	role          TEXT        NOT NULL,
	client        TEXT        NOT NULL DEFAULT '',
	password_hash TEXT        NOT NULL,
	disabled      BOOLEAN     NOT NULL DEFAULT FALSE,
	created_at    TIMESTAMPTZ NOT NULL,
	updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
	id         BIGSERIAL PRIMARY KEY,
	name       TEXT        NOT NULL,
	client     TEXT        NOT NULL DEFAULT '',
	hash       TEXT        NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
