CREATE TABLE chat_operators (
	login             TEXT PRIMARY KEY,
	name              TEXT        NOT NULL DEFAULT '',
	password_hash     TEXT        NOT NULL,
	max_conversations INTEGER     NOT NULL DEFAULT 0,
	disabled          BOOLEAN     NOT NULL DEFAULT FALSE,
	created_at        TIMESTAMPTZ NOT NULL,
	updated_at        TIMESTAMPTZ NOT NULL
);
