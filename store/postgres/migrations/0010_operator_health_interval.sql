-- A health report says how often its process reports (so that readers
-- judge its freshness by the writer's pace, not their own) and whether
-- it is the last one of a process or operator that stopped.
ALTER TABLE sms_operator_health ADD COLUMN interval_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sms_operator_health ADD COLUMN stopped BOOLEAN NOT NULL DEFAULT false;
