-- A Salesforce pass reads accounts, then contacts, opportunities and
-- contact relations, each object in pages that commit alone. The accounts
-- it touches (and their organizations and tickets) are queued held until
-- the pass has read every object, so that no audit sees an account without
-- the contacts the same pass is about to store. held_until is Unix ns; 0
-- is not held. A pass that dies leaves its entries held only until then.
ALTER TABLE audit_queue ADD COLUMN held_until BIGINT NOT NULL DEFAULT 0;
