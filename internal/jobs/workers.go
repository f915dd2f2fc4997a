package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/report"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/writeback"
)

// Services are what the workers drive. A nil syncer or writer means that
// source is not configured: its jobs complete without doing anything.
type Services struct {
	Store               store.Store
	Logger              *slog.Logger
	ZendeskSync         *syncer.Zendesk
	SalesforceSync      *syncer.Salesforce
	Auditor             *audit.Auditor
	ZendeskWriteback    *writeback.Zendesk
	SalesforceWriteback *writeback.Salesforce
	// ReportFunc computes the scorecard of the last 7 days with the
	// current rules' targets (the kpi_snapshot job stores it); nil: the
	// job does nothing.
	ReportFunc func(ctx context.Context) (*report.Report, error)
	// BeforeSyncFunc, when set, runs before each sync of a source: the
	// App reads the credentials again there.
	BeforeSyncFunc func(ctx context.Context, source cxaudit.Source) error
}

func (s *Services) beforeSync(ctx context.Context, source cxaudit.Source) error {
	if s.BeforeSyncFunc == nil {
		return nil
	}
	return s.BeforeSyncFunc(ctx, source)
}

// AddWorkers registers every worker with ws.
func AddWorkers(ws *river.Workers, s *Services) {
	// A nil *syncer.Zendesk in an interface is not a nil interface: each
	// getter says whether its system is configured.
	river.AddWorker(ws, &syncWorker[ZendeskSyncArgs]{s: s, source: cxaudit.SourceZendesk,
		sync: func(s *Services) (fullSync, bool) { return s.ZendeskSync, s.ZendeskSync != nil }})
	river.AddWorker(ws, &syncWorker[SalesforceSyncArgs]{s: s, source: cxaudit.SourceSalesforce,
		sync: func(s *Services) (fullSync, bool) { return s.SalesforceSync, s.SalesforceSync != nil }})
	river.AddWorker(ws, &zendeskTicketWorker{s: s})
	river.AddWorker(ws, &auditWorker{s: s})
	river.AddWorker(ws, &auditSweepWorker{s: s})
	river.AddWorker(ws, &writebackWorker[ZendeskWritebackArgs]{s: s, source: cxaudit.SourceZendesk,
		write: func(s *Services) (writer, bool) { return s.ZendeskWriteback, s.ZendeskWriteback != nil }})
	river.AddWorker(ws, &writebackWorker[SalesforceWritebackArgs]{s: s, source: cxaudit.SourceSalesforce,
		write: func(s *Services) (writer, bool) { return s.SalesforceWriteback, s.SalesforceWriteback != nil }})
	river.AddWorker(ws, &kpiSnapshotWorker{s: s})
}

type kpiSnapshotWorker struct {
	river.WorkerDefaults[KPISnapshotArgs]
	s *Services
}

func (w *kpiSnapshotWorker) Timeout(*river.Job[KPISnapshotArgs]) time.Duration {
	return 10 * time.Minute
}

func (w *kpiSnapshotWorker) Work(ctx context.Context, job *river.Job[KPISnapshotArgs]) error {
	if w.s.ReportFunc == nil {
		return nil
	}
	r, err := w.s.ReportFunc(ctx)
	if err == nil {
		snap := r.Snapshot()
		err = w.s.Store.PutKPISnapshots(ctx, snap)
		w.s.Logger.Info("kpi snapshot", "day", snap[0].Day, "figures", len(snap), "error", err)
	}
	return outcome(w.s.Logger, job.Kind, err)
}

// Timeout is how long a job may run (river.Config.JobTimeout): a sync
// pass, an audit or a write-back of a large tenant takes minutes, and a
// cancelled one resumes where it stopped. The KPI snapshot and the
// webhook's one-ticket sync have shorter ones of their own.
const Timeout = time.Hour

// WritebackKinds are the entity kinds whose findings are written back, in
// the order their write-back jobs run: tickets by Zendesk's write-back,
// accounts by Salesforce's. Organization findings are never written (their
// rules may not carry a Salesforce Task: the loader refuses it), so they
// have no job. The one mapping from kind to job, used by the audit's hook
// and by run --once alike.
var WritebackKinds = []cxaudit.EntityKind{cxaudit.EntityTicket, cxaudit.EntityAccount}

// Writeback returns the write-back job of kind, and whether the worker
// writes that kind back (the system is configured).
func (s *Services) Writeback(kind cxaudit.EntityKind) (river.JobArgs, bool) {
	switch kind {
	case cxaudit.EntityTicket:
		return ZendeskWritebackArgs{}, s.ZendeskWriteback != nil
	case cxaudit.EntityAccount:
		return SalesforceWritebackArgs{}, s.SalesforceWriteback != nil
	}
	return nil, false
}

// WritebackJobs returns the write-back jobs for the kinds of entity whose
// findings became dirty.
func (s *Services) WritebackJobs(kinds map[cxaudit.EntityKind]bool) []river.InsertManyParams {
	var args []river.JobArgs
	for _, k := range WritebackKinds {
		if job, ok := s.Writeback(k); ok && kinds[k] {
			args = append(args, job)
		}
	}
	return Params(args...)
}

// OnDirty is the audit's hook (audit.Auditor.OnDirty): in the transaction
// that stores the findings, it queues the write-back of the kinds that
// have findings to write.
func (s *Services) OnDirty(ctx context.Context, q store.Querier, kinds map[cxaudit.EntityKind]bool) error {
	if params := s.WritebackJobs(kinds); len(params) > 0 {
		return q.Enqueue(ctx, params...)
	}
	return nil
}

// fullSync is a system's sync pass: syncer.Zendesk and syncer.Salesforce.
type fullSync interface {
	Sync(ctx context.Context) (syncer.Stats, error)
}

// syncWorker runs one system's sync pass and queues an audit of what it
// stored. sync returns the system's syncer, false when it is not
// configured (the job then completes doing nothing).
type syncWorker[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	s      *Services
	source cxaudit.Source
	sync   func(*Services) (fullSync, bool)
}

func (w *syncWorker[A]) Work(ctx context.Context, job *river.Job[A]) error {
	sy, ok := w.sync(w.s)
	if !ok {
		return nil
	}
	if err := w.s.beforeSync(ctx, w.source); err != nil {
		return outcome(w.s.Logger, job.Kind, err)
	}
	stats, err := sy.Sync(ctx)
	w.s.Logger.Info(string(w.source)+" sync", "pages", stats.Pages, "records", stats.Records, "error", err)
	if stats.Pages > 0 {
		// What was committed is queued for audit even if a later page failed.
		if qerr := w.s.Store.Enqueue(ctx, Params(AuditArgs{})...); qerr != nil && err == nil {
			err = qerr
		}
	}
	return outcome(w.s.Logger, job.Kind, err)
}

type zendeskTicketWorker struct {
	river.WorkerDefaults[ZendeskTicketArgs]
	s *Services
}

func (w *zendeskTicketWorker) Timeout(*river.Job[ZendeskTicketArgs]) time.Duration {
	return 5 * time.Minute
}

func (w *zendeskTicketWorker) Work(ctx context.Context, job *river.Job[ZendeskTicketArgs]) error {
	if w.s.ZendeskSync == nil {
		return nil
	}
	if err := w.s.beforeSync(ctx, cxaudit.SourceZendesk); err != nil {
		return outcome(w.s.Logger, job.Kind, err)
	}
	res, err := w.s.ZendeskSync.SyncTicket(ctx, job.Args.TicketID, Params(AuditArgs{})...)
	w.s.Logger.Debug("zendesk ticket sync", "ticket_id", job.Args.TicketID, "stored", res.Stored, "error", err)
	return outcome(w.s.Logger, job.Kind, err)
}

type auditWorker struct {
	river.WorkerDefaults[AuditArgs]
	s *Services
}

func (w *auditWorker) Work(ctx context.Context, job *river.Job[AuditArgs]) error {
	// Rules that read a system whose first full sync has not completed
	// wait for it (audit.Availability); the others run now.
	stats, err := w.s.Auditor.Run(ctx)
	w.s.Logger.Info("audit", "entities", stats.Entities, "changes", stats.Changes, "eval_errors", stats.EvalErrors, "error", err)
	return outcome(w.s.Logger, job.Kind, err)
}

type auditSweepWorker struct {
	river.WorkerDefaults[AuditSweepArgs]
	s *Services
}

func (w *auditSweepWorker) Work(ctx context.Context, job *river.Job[AuditSweepArgs]) error {
	err := w.s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		if err := q.RequestSweep(ctx); err != nil {
			return err
		}
		return q.Enqueue(ctx, Params(AuditArgs{})...)
	})
	w.s.Logger.Info("audit sweep requested", "error", err)
	return outcome(w.s.Logger, job.Kind, err)
}

// writer is a system's write-back: writeback.Zendesk and
// writeback.Salesforce.
type writer interface {
	Run(ctx context.Context) (writeback.Stats, error)
}

// writebackWorker writes one system's dirty findings back. write returns
// the system's writer, false when it is not configured.
type writebackWorker[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	s      *Services
	source cxaudit.Source
	write  func(*Services) (writer, bool)
}

func (w *writebackWorker[A]) Work(ctx context.Context, job *river.Job[A]) error {
	wr, ok := w.write(w.s)
	if !ok {
		return nil
	}
	stats, err := wr.Run(ctx)
	w.s.Logger.Info(string(w.source)+" write-back", "writes", stats.Writes, "reconciled", stats.Reconciled, "failed", stats.Failed, "error", err)
	return outcome(w.s.Logger, job.Kind, err)
}
