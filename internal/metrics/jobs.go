package metrics

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// JobMiddleware times every River job this replica works
// (cxaudit_job_duration_seconds).
func (m *Metrics) JobMiddleware() rivertype.WorkerMiddleware {
	return river.WorkerMiddlewareFunc(func(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
		start := time.Now()
		err := doInner(ctx)
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		m.JobDuration.WithLabelValues(job.Kind, outcome).Observe(time.Since(start).Seconds())
		return err
	})
}
