-- Duplicate accounts: accounts of one customer share a website domain
-- (indexed since 0001) or a name key (cxaudit.NameKey: case, punctuation
-- and legal forms such as Inc, GmbH, Ltd left out), looked up through this
-- index, never by comparing every pair. NULL: not computed yet (rows
-- stored before this migration; the next Salesforce pass fills them).
ALTER TABLE salesforce_account ADD COLUMN name_key TEXT;
CREATE INDEX salesforce_account_name_key_idx ON salesforce_account (name_key) WHERE name_key <> '';
