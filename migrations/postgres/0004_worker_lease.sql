-- Live worker processes. Each renews its lease while it runs; a River job
-- left 'running' by a client without a live lease (a killed process) is
-- made available again at once, instead of waiting for River's rescuer.
CREATE TABLE worker_lease (
    client_id  TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL -- Unix milliseconds
);
