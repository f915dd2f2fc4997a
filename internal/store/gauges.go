package store

import (
	"context"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// What /metrics reports of the database, read at scrape time (package
// metrics): no SQL outside this package.

// OpenFindingCount is the number of open findings (acknowledged ones
// included) of one rule, category and severity.
type OpenFindingCount struct {
	RuleID   string
	Category cxaudit.Category
	Severity cxaudit.Severity
	N        int64
}

// OpenFindingCounts counts open findings by rule, category and severity.
func (q *queries) OpenFindingCounts(ctx context.Context) ([]OpenFindingCount, error) {
	var out []OpenFindingCount
	err := q.queryEach(ctx, `SELECT rule_id, category, severity, COUNT(*) FROM finding
		WHERE status IN ('open', 'acknowledged') GROUP BY rule_id, category, severity`, nil, func(r rows) error {
		var c OpenFindingCount
		var category, severity string
		if err := r.Scan(&c.RuleID, &category, &severity, &c.N); err != nil {
			return err
		}
		c.Category, c.Severity = cxaudit.Category(category), cxaudit.Severity(severity)
		out = append(out, c)
		return nil
	})
	return out, err
}

// StreamCompletion is when a source's stream last reached its end.
type StreamCompletion struct {
	Source, Object string
	// CompletedAt is zero before the first full pass.
	CompletedAt time.Time
}

// StreamCompletions lists every sync stream with when it last caught up.
func (q *queries) StreamCompletions(ctx context.Context) ([]StreamCompletion, error) {
	var out []StreamCompletion
	err := q.queryEach(ctx, `SELECT source, object, completed_at FROM sync_cursor`, nil, func(r rows) error {
		var c StreamCompletion
		var completed int64
		if err := r.Scan(&c.Source, &c.Object, &completed); err != nil {
			return err
		}
		if completed != 0 {
			c.CompletedAt = fromMS(completed)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// QueueDepth is the number of unfinished River jobs of a queue in a state.
type QueueDepth struct {
	Queue, State string
	N            int64
}

// QueueDepths counts River jobs not finished, by queue and state.
func (q *queries) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	var out []QueueDepth
	err := q.queryEach(ctx, `SELECT queue, state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY queue, state`, nil, func(r rows) error {
		var d QueueDepth
		if err := r.Scan(&d.Queue, &d.State, &d.N); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// LatestKPISnapshot returns the figures of the latest day's KPI snapshot,
// overall and by priority.
func (q *queries) LatestKPISnapshot(ctx context.Context) ([]KPISnapshot, error) {
	return q.kpiSnapshots(ctx, `day = (SELECT MAX(day) FROM kpi_snapshot) AND dimension IN ('', 'priority')`)
}
