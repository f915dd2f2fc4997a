-- Records a source sent that could not be read (a field of the wrong type,
-- a malformed timestamp, comments that cannot be fetched), set aside so
-- that one poison record never stops a source. The sync moves on past a
-- record only once it is stored or here; a record stored later leaves.
-- raw is the record as it came (JSON text, at most 64 KiB); times are
-- Unix ns.
CREATE TABLE quarantine (
    source     TEXT    NOT NULL,
    object     TEXT    NOT NULL,
    record_id  TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    raw        TEXT    NOT NULL,
    first_seen BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (source, object, record_id)
);
