CREATE TABLE chat_operators (
	login             TEXT PRIMARY KEY,
	name              TEXT    NOT NULL DEFAULT '',
	password_hash     TEXT    NOT NULL,
	max_conversations INTEGER NOT NULL DEFAULT 0,
	disabled          INTEGER NOT NULL DEFAULT 0,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
);
