-- cxaudit schema for SQLite. Timestamps are Unix milliseconds (BIGINT)
-- so that the same queries run on PostgreSQL and SQLite; record bodies are
-- TEXT  documents beside the columns that queries filter on.

CREATE TABLE sync_cursor (
    source       TEXT   NOT NULL,
    object       TEXT   NOT NULL,
    cursor       TEXT   NOT NULL DEFAULT '',
    completed_at BIGINT NOT NULL DEFAULT 0, -- last time a full pass reached the end of the stream
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (source, object)
);

CREATE TABLE zendesk_ticket (
    id              BIGINT PRIMARY KEY,
    organization_id BIGINT NOT NULL DEFAULT 0,
    status          TEXT   NOT NULL,
    priority        TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    data            TEXT   NOT NULL,
    comments        TEXT   NOT NULL DEFAULT '[]'
);
CREATE INDEX zendesk_ticket_open_idx ON zendesk_ticket (id) WHERE status IN ('new', 'open', 'pending', 'hold');
CREATE INDEX zendesk_ticket_org_idx ON zendesk_ticket (organization_id, created_at);

CREATE TABLE zendesk_organization (
    id          BIGINT PRIMARY KEY,
    external_id TEXT   NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL,
    data        TEXT   NOT NULL
);
CREATE INDEX zendesk_organization_external_id_idx ON zendesk_organization (external_id) WHERE external_id <> '';

CREATE TABLE zendesk_organization_domain (
    domain          TEXT   NOT NULL,
    organization_id BIGINT NOT NULL,
    PRIMARY KEY (domain, organization_id)
);
CREATE INDEX zendesk_organization_domain_org_idx ON zendesk_organization_domain (organization_id);

CREATE TABLE zendesk_user (
    id         BIGINT PRIMARY KEY,
    role       TEXT   NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    data       TEXT   NOT NULL
);
CREATE INDEX zendesk_user_agent_idx ON zendesk_user (id) WHERE role IN ('agent', 'admin');

CREATE TABLE salesforce_account (
    id              TEXT   PRIMARY KEY,
    domain          TEXT   NOT NULL DEFAULT '',
    system_modstamp BIGINT NOT NULL,
    data            TEXT   NOT NULL
);
CREATE INDEX salesforce_account_domain_idx ON salesforce_account (domain) WHERE domain <> '';

CREATE TABLE salesforce_contact (
    id              TEXT   PRIMARY KEY,
    account_id      TEXT   NOT NULL DEFAULT '',
    system_modstamp BIGINT NOT NULL,
    data            TEXT   NOT NULL
);
CREATE INDEX salesforce_contact_account_idx ON salesforce_contact (account_id);

CREATE TABLE salesforce_opportunity (
    id              TEXT   PRIMARY KEY,
    account_id      TEXT   NOT NULL DEFAULT '',
    system_modstamp BIGINT NOT NULL,
    data            TEXT   NOT NULL
);
CREATE INDEX salesforce_opportunity_account_idx ON salesforce_opportunity (account_id);

-- Entities whose findings must be recomputed.
CREATE TABLE audit_queue (
    entity_kind TEXT   NOT NULL,
    entity_id   TEXT   NOT NULL,
    queued_at   BIGINT NOT NULL, -- Unix nanoseconds: a re-queue while an audit runs changes it
    PRIMARY KEY (entity_kind, entity_id)
);

CREATE TABLE finding (
    fingerprint     TEXT   PRIMARY KEY,
    rule_id         TEXT   NOT NULL,
    rule_version    TEXT   NOT NULL,
    title           TEXT   NOT NULL,
    category        TEXT   NOT NULL,
    severity        TEXT   NOT NULL,
    mode            TEXT   NOT NULL,
    entity_kind     TEXT   NOT NULL,
    entity_id       TEXT   NOT NULL,
    message         TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    opened_at       BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    resolved_at     BIGINT NOT NULL DEFAULT 0,
    actions         TEXT   NOT NULL DEFAULT '{}',
    content_hash    TEXT   NOT NULL,
    dirty           INTEGER NOT NULL DEFAULT 0, -- remote systems lag behind; see Finding.Dirty
    written_status  TEXT   NOT NULL DEFAULT '',
    written_hash    TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX finding_entity_idx ON finding (entity_kind, entity_id);
CREATE INDEX finding_dirty_idx ON finding (entity_kind, entity_id) WHERE dirty = 1;
CREATE INDEX finding_status_rule_idx ON finding (status, rule_id);

-- What cxaudit last wrote (or was about to write) to a remote target. A
-- 'pending' row is a write whose outcome is unknown: it is reconciled with
-- the remote system before anything else is written there.
CREATE TABLE writeback_log (
    target     TEXT   PRIMARY KEY, -- e.g. zendesk:ticket:123, salesforce:task:<fingerprint>
    state      TEXT   NOT NULL,    -- pending | done
    marker     TEXT   NOT NULL,    -- travels in the remote record
    remote_id  TEXT   NOT NULL DEFAULT '',
    payload    TEXT   NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL
);

-- Every remote write made, for the audit trail and the demo's summary.
CREATE TABLE write_event (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    system     TEXT   NOT NULL,
    kind       TEXT   NOT NULL, -- zendesk_note, zendesk_tag_update, salesforce_task, salesforce_task_update
    target     TEXT   NOT NULL,
    written_at BIGINT NOT NULL
);
CREATE INDEX write_event_written_at_idx ON write_event (written_at);
