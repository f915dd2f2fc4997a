-- A daily snapshot of every KPI of the scorecard (package report), taken by
-- the kpi_snapshot job, so that a trend survives ticket churn (deleted
-- tickets, accounts edited since) and a restart; the report reads the
-- history of the KPIs of the current state (CRM coverage) from it. One row
-- per day, KPI and slice; a later snapshot of the same day replaces it.
CREATE TABLE kpi_snapshot (
    day         TEXT   NOT NULL, -- YYYY-MM-DD (UTC) the figures are of
    kpi         TEXT   NOT NULL,
    dimension   TEXT   NOT NULL, -- '' for the KPI overall, or 'priority'
    slice_key   TEXT   NOT NULL, -- '' overall, or the P-level
    numerator   DOUBLE PRECISION NOT NULL,
    denominator BIGINT NOT NULL,
    taken_at    BIGINT NOT NULL, -- Unix milliseconds
    PRIMARY KEY (day, kpi, dimension, slice_key)
);
