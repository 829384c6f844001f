-- A receipt kept for a submission not yet recorded keeps the submit date
-- it names, so that a later reuse of its id does not take it.
ALTER TABLE sms_pending_receipts ADD COLUMN submitted_at TIMESTAMPTZ;
