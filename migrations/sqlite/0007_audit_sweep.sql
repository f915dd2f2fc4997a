-- The audit sweep re-audits every open ticket, organization and account
-- (time-based rules change their minds as time passes). It walks the
-- tables in key order instead of queueing every entity, and records how far
-- it got in the transaction of each batch, so a killed worker resumes it.
CREATE TABLE audit_sweep (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    requested_at  BIGINT  NOT NULL DEFAULT 0, -- Unix ms of the last request
    finished_at   BIGINT  NOT NULL DEFAULT 0, -- requested_at that the last finished sweep covered
    position_kind TEXT    NOT NULL DEFAULT '', -- the last entity audited: '' before the first
    position_id   TEXT    NOT NULL DEFAULT ''
);
INSERT INTO audit_sweep (id) VALUES (1);
