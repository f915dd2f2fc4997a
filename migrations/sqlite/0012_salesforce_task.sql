-- The open Tasks of the account teams, on accounts and on their
-- opportunities (account_id is the Task's AccountId, which Salesforce
-- derives from WhatId): rules read them as account.open_tasks. A Task
-- that closes or is deleted leaves. Times are Unix ms, as elsewhere.
CREATE TABLE salesforce_task (
    id              TEXT   PRIMARY KEY,
    account_id      TEXT   NOT NULL,
    system_modstamp BIGINT NOT NULL,
    data            TEXT  NOT NULL
);
CREATE INDEX salesforce_task_account_idx ON salesforce_task (account_id);
