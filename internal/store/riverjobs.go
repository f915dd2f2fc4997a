package store

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// River jobs, enqueued in the caller's transaction, and their counts.

func (q *queries) Enqueue(ctx context.Context, jobs ...river.InsertManyParams) error {
	if len(jobs) == 0 {
		return nil
	}
	if q.enqueue == nil {
		return cxaudit.Errorf(cxaudit.EINTERNAL, "store: no River client attached; cannot enqueue jobs")
	}
	return q.enqueue(ctx, jobs)
}

func (q *queries) JobCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := q.queryEach(ctx, `SELECT state, COUNT(*) FROM river_job GROUP BY state`, nil, func(r rows) error {
		var state string
		var n int
		if err := r.Scan(&state, &n); err != nil {
			return err
		}
		out[state] = n
		return nil
	})
	return out, err
}
