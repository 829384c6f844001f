-- A receipt is matched to the most recent submission of its message id
-- (seq gives the order: SMSCs reuse ids); one that matches no submission
-- waiting for a receipt is kept with its text as received.
ALTER TABLE sms_segments ADD COLUMN seq BIGSERIAL;
DROP INDEX sms_segments_message;
CREATE INDEX sms_segments_message ON sms_segments (operator_id, message_id, seq);
ALTER TABLE sms_pending_receipts ADD COLUMN raw TEXT NOT NULL DEFAULT '';
-- Sent messages still waiting for receipts, asked about with query_sm.
CREATE INDEX sms_transmissions_sent ON sms_transmissions (operator_id, id) WHERE state = 'sent';
-- A batch's transmissions in order (a load's results).
CREATE INDEX sms_transmissions_batch_id ON sms_transmissions (batch_id, id);
