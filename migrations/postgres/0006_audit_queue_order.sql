-- The audit drains its queue oldest first (NextAuditBatch): an index in
-- that order spares a sort of the whole queue per batch during a sweep.
CREATE INDEX audit_queue_order_idx ON audit_queue (queued_at, entity_kind, entity_id);
