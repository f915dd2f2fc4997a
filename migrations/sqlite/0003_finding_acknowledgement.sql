-- Findings acknowledged or snoozed by the people who see them (a tag on the
-- ticket, a completed Task). Unix milliseconds; 0 = not.
ALTER TABLE finding ADD COLUMN acknowledged_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE finding ADD COLUMN snoozed_until BIGINT NOT NULL DEFAULT 0;
