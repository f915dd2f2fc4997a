package store

import (
	"context"
	"fmt"
	"time"
)

// RenewLease records that the worker process clientID (its River client
// ID) is alive for ttl more.
func (q *queries) RenewLease(ctx context.Context, clientID string, ttl time.Duration) error {
	_, err := q.c.exec(ctx, `INSERT INTO worker_lease (client_id, expires_at) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET expires_at = excluded.expires_at`, clientID, ms(time.Now().Add(ttl)))
	return err
}

// DropLease removes clientID's lease when it stops cleanly, and leases long
// expired.
func (q *queries) DropLease(ctx context.Context, clientID string) error {
	_, err := q.c.exec(ctx, `DELETE FROM worker_lease WHERE client_id = $1 OR expires_at < $2`,
		clientID, ms(time.Now().Add(-time.Hour)))
	return err
}

// RescueOrphanedJobs makes River jobs available again that are 'running'
// for a client whose lease expired more than grace ago: its process died
// (SIGKILL, OOM, a lost node) mid-job. cxaudit's jobs are idempotent, so
// running one again is safe; River's own rescuer would wait for
// RescueStuckJobsAfter. The jobs of self, the caller's own client, are
// never rescued: its process is alive, and a job of its own made
// available again while it still runs would run twice at once (a lease
// renewal that came late under load, or failed, did that). grace gives a
// live replica whose renewal lags the same allowance.
func (q *queries) RescueOrphanedJobs(ctx context.Context, self string, grace time.Duration) (int, error) {
	n, err := q.c.exec(ctx, q.dialect.rescueOrphans, ms(time.Now().Add(-grace)), self)
	if err != nil {
		return 0, fmt.Errorf("rescue orphaned jobs: %w", err)
	}
	return int(n), nil
}
