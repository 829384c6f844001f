-- A queued automatic reply is claimed by the sender sending it (by its
-- name), until
-- then (microseconds), so that two senders never send it both.
ALTER TABLE auto_responses ADD COLUMN claimed_until INTEGER;
ALTER TABLE auto_responses ADD COLUMN claimed_by TEXT;
