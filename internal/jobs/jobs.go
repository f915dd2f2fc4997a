// Package jobs holds cxaudit's River jobs: small argument structs with
// stable kinds, and workers that are thin adapters around the sync, audit
// and write-back services, mapping their errors to River outcomes.
//
// Every job is unique while it is queued or running, so that however many
// replicas, timers and triggers enqueue it, one pass runs at a time.
package jobs

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Queues.
const (
	QueueSync      = "sync"
	QueueAudit     = "audit"
	QueueWriteback = "writeback"
	// QueueTicket runs webhook-driven ticket syncs, apart from the long
	// periodic syncs so that they never wait behind one.
	QueueTicket = "ticket"
)

// uniqueWhileActive dedups a job with one already waiting or running. A
// completed job does not block the next one.
var uniqueWhileActive = river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled,
	},
}

// ZendeskSyncArgs syncs users, organizations and tickets from Zendesk.
type ZendeskSyncArgs struct{}

func (ZendeskSyncArgs) Kind() string { return "zendesk_sync" }
func (ZendeskSyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, UniqueOpts: uniqueWhileActive, MaxAttempts: 10}
}

// ZendeskTicketArgs syncs one ticket a Zendesk webhook said changed, and
// queues it for audit (write-back follows the audit as usual). It is
// unique by ticket while waiting or running, so a storm of webhooks for
// one ticket coalesces into one job. A webhook that comes while that job
// runs (it may have read the ticket already) is queued as the ticket's one
// Rerun job, which waits only behind a running one.
type ZendeskTicketArgs struct {
	TicketID int64 `json:"ticket_id"`
	Rerun    bool  `json:"rerun,omitempty"`
}

func (ZendeskTicketArgs) Kind() string { return "zendesk_ticket" }
func (ZendeskTicketArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTicket, UniqueOpts: uniqueWhileActive, MaxAttempts: 5}
}

// SalesforceSyncArgs syncs accounts, contacts and opportunities.
type SalesforceSyncArgs struct{}

func (SalesforceSyncArgs) Kind() string { return "salesforce_sync" }
func (SalesforceSyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSync, UniqueOpts: uniqueWhileActive, MaxAttempts: 10}
}

// AuditArgs drains the audit queue.
type AuditArgs struct{}

func (AuditArgs) Kind() string { return "audit" }
func (AuditArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAudit, UniqueOpts: uniqueWhileActive, MaxAttempts: 10}
}

// AuditSweepArgs asks the audit to sweep every open ticket, organization
// and account, for rules whose outcome changes with time alone (backlog
// aging, first-response targets), and starts it.
type AuditSweepArgs struct{}

func (AuditSweepArgs) Kind() string { return "audit_sweep" }
func (AuditSweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAudit, UniqueOpts: uniqueWhileActive, MaxAttempts: 10}
}

// ZendeskWritebackArgs writes dirty ticket findings to Zendesk.
type ZendeskWritebackArgs struct{}

func (ZendeskWritebackArgs) Kind() string { return "zendesk_writeback" }
func (ZendeskWritebackArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWriteback, UniqueOpts: uniqueWhileActive, MaxAttempts: 25}
}

// SalesforceWritebackArgs writes dirty account findings to Salesforce.
type SalesforceWritebackArgs struct{}

func (SalesforceWritebackArgs) Kind() string { return "salesforce_writeback" }
func (SalesforceWritebackArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWriteback, UniqueOpts: uniqueWhileActive, MaxAttempts: 25}
}

// KPISnapshotArgs stores today's snapshot of the KPI scorecard (package
// report): the figures of the last 7 days, and the CRM coverage now. It
// runs hourly; the day's last run is the day's snapshot.
type KPISnapshotArgs struct{}

func (KPISnapshotArgs) Kind() string { return "kpi_snapshot" }
func (KPISnapshotArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueAudit, UniqueOpts: uniqueWhileActive, MaxAttempts: 5}
}

// Params returns insert parameters for args, with their own InsertOpts.
func Params(args ...river.JobArgs) []river.InsertManyParams {
	out := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		out[i] = river.InsertManyParams{Args: a}
	}
	return out
}

// outcome maps a service error to what River should do with the job: a
// rate limit snoozes it (no attempt burnt, no request inside the window),
// bad credentials and other permanent errors cancel it (retrying cannot
// help until they change; the next periodic run tries again), anything
// else is retried with back-off.
func outcome(logger *slog.Logger, kind string, err error) error {
	if err == nil {
		return nil
	}
	var rl *cxaudit.RateLimitError
	if errors.As(err, &rl) {
		wait := max(rl.RetryAfter, time.Second)
		logger.Warn("rate limited; snoozing job", "job_kind", kind, "source", rl.Source, "retry_after", wait.String())
		return river.JobSnooze(wait)
	}
	switch cxaudit.ErrorCode(err) {
	case cxaudit.EUNAUTHORIZED:
		logger.Error("credentials rejected; cancelling job until the next run", "job_kind", kind, "error", err)
		return river.JobCancel(err)
	case cxaudit.EINVALID:
		// A permanent error (a configuration the system refuses, an object
		// the integration user may not read): retrying cannot help. The
		// next scheduled run tries again, and picks up a fixed field map or
		// permission then.
		logger.Error("permanent error; cancelling job until the next run", "job_kind", kind, "error", err)
		return river.JobCancel(err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	logger.Error("job failed; will retry", "job_kind", kind, "error", err)
	return err
}

// SnoozeLimit caps how long a job snoozes. A rate-limited job snoozes for
// what the system asked (outcome), and a Retry-After is the server's word:
// Retry-After: 999999999 scheduled a sync for the year 2058, and since
// sync jobs are unique while scheduled, no later sync of that system ran,
// across restarts. Snoozed for at most Max, the job runs again and asks
// again; a system that still wants a longer pause gets another Max.
type SnoozeLimit struct {
	river.WorkerMiddlewareDefaults
	// Max is the longest snooze; zero or less is no cap.
	Max    time.Duration
	Logger *slog.Logger
}

// Work implements rivertype.WorkerMiddleware.
func (m *SnoozeLimit) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	var snooze *river.JobSnoozeError
	if m.Max <= 0 || !errors.As(err, &snooze) || snooze.Duration <= m.Max {
		return err
	}
	if m.Logger != nil {
		m.Logger.Warn("snooze capped (CXAUDIT_MAX_RETRY_AFTER); the job asks again then", "job_kind", job.Kind,
			"asked", snooze.Duration.String(), "snooze", m.Max.String())
	}
	return river.JobSnooze(m.Max)
}

// RetryPolicy retries failed jobs after 1s, 2s, 4s … capped at MaxBackoff,
// with up to 10% jitter. cxaudit's jobs are idempotent passes over what is
// still to do, so a failed pass is best retried soon: River's default
// (attempt⁴ seconds) would leave findings unwritten for hours after a
// short outage.
type RetryPolicy struct {
	MaxBackoff time.Duration
}

// NextRetry implements river.ClientRetryPolicy.
func (p RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	maxBackoff := p.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 30 * time.Second
	}
	// Errors has one entry per failed attempt; snoozes are not failures.
	n := max(len(job.Errors), 1)
	d := maxBackoff
	if n < 32 {
		d = min(time.Second<<(n-1), maxBackoff)
	}
	d += time.Duration(rand.Int64N(int64(d)/10 + 1))
	return time.Now().Add(d)
}
