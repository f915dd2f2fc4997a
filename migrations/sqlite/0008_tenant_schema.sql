-- What each system says of the tenant's own schema (Salesforce describe,
-- the Zendesk account's custom fields), stored by the sync so that the
-- audit and `cxaudit rules check` fit the rules to this tenant.
CREATE TABLE tenant_schema (
    source     TEXT   PRIMARY KEY,
    data       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Salesforce AccountContactRelations: the roles a contact plays on an
-- account (its Roles multi-select picklist).
CREATE TABLE salesforce_contact_relation (
    id              TEXT   PRIMARY KEY,
    account_id      TEXT   NOT NULL,
    contact_id      TEXT   NOT NULL,
    system_modstamp BIGINT NOT NULL,
    data            TEXT   NOT NULL
);
CREATE INDEX salesforce_contact_relation_account_idx ON salesforce_contact_relation (account_id, contact_id);
