-- An operator is an SMSC over SMPP or a GSM modem on a serial port; a
-- modem's settings.
ALTER TABLE sms_operators ADD COLUMN kind TEXT NOT NULL DEFAULT 'smpp';
ALTER TABLE sms_operators ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE sms_operators ADD COLUMN baud INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_operators ADD COLUMN pin TEXT NOT NULL DEFAULT '';
ALTER TABLE sms_operators ADD COLUMN smsc TEXT NOT NULL DEFAULT '';
