-- A receipt kept for a submission not yet recorded keeps how far from
-- its submit date that submission may be (microseconds; NULL: the
-- default tolerance).
ALTER TABLE sms_pending_receipts ADD COLUMN date_tolerance INTEGER;
