-- Attachment bytes are kept once per content (SHA-256): the logo in every
-- signature of a long thread is one row, however many mails carry it.
CREATE TABLE attachment_data (
	sha256 TEXT   PRIMARY KEY,
	size   BIGINT NOT NULL,
	data   BYTEA  NOT NULL
);
INSERT INTO attachment_data (sha256, size, data) SELECT DISTINCT ON (sha256) sha256, size, data FROM ticket_attachments
	ON CONFLICT DO NOTHING;
ALTER TABLE ticket_attachments DROP COLUMN data;
CREATE INDEX ticket_attachments_sha256 ON ticket_attachments (sha256);
