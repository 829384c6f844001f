-- verified: the customer's identity came from a token the website signed.
-- left_message: no operator was available when the customer came; they
-- left a message and the conversation was not routed.
ALTER TABLE chat_conversations ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_conversations ADD COLUMN left_message INTEGER NOT NULL DEFAULT 0;
