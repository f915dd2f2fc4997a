package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/jobs"
	"github.com/cxaudit/cxaudit/internal/rules"
)

// CycleResult is what one --once cycle did.
type CycleResult struct {
	Started  time.Time
	Duration time.Duration
	// Writes counts remote writes made during the cycle, by kind.
	Writes map[string]int
	// FailedJobs counts jobs that failed for good or were cancelled.
	FailedJobs int
}

// RunOnce runs one full cycle: sync every configured source, audit
// everything, write back, and wait until the queue drains. It returns an
// error wrapping errJobsFailed when a job failed for good. When ctx ends
// first (a deadline, a signal) it stops waiting, gives running jobs 30s to
// finish, cancels what is left, and returns an error wrapping ctx's.
func (a *App) RunOnce(ctx context.Context) (CycleResult, error) {
	res := CycleResult{Started: time.Now()}
	var failed atomic.Int64
	stopCounting := a.countJobs(&failed)
	stopLease, err := a.startLease(ctx)
	if err != nil {
		stopCounting()
		return res, err
	}
	defer stopLease()
	// River runs until stopped, not until ctx ends: a cancelled start
	// context is River's abrupt stop, after which its SQLite notifier
	// retried without pause for as long as the process lived.
	if err := a.river.Start(context.WithoutCancel(ctx)); err != nil {
		stopCounting()
		return res, fmt.Errorf("start river: %w", err)
	}
	err = a.cycle(ctx)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if serr := a.river.Stop(stopCtx); serr != nil {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer ccancel()
		_ = a.river.StopAndCancel(cctx)
		if err == nil {
			err = fmt.Errorf("stop river: %w", serr)
		}
	}
	stopCounting()
	res.Duration = time.Since(res.Started)
	res.FailedJobs = int(failed.Load())
	if w, werr := a.Store.CountWrites(context.WithoutCancel(ctx), res.Started); werr == nil {
		res.Writes = w
	} else if err == nil {
		err = werr
	}
	if err == nil && res.FailedJobs > 0 {
		err = fmt.Errorf("%w: %d", errJobsFailed, res.FailedJobs)
	}
	return res, err
}

func (a *App) cycle(ctx context.Context) error {
	var syncs []river.JobArgs
	if a.Services.ZendeskSync != nil {
		syncs = append(syncs, jobs.ZendeskSyncArgs{})
	}
	if a.Services.SalesforceSync != nil {
		syncs = append(syncs, jobs.SalesforceSyncArgs{})
	}
	// Sync both sides before auditing, so cross-system rules see both.
	if err := a.enqueueAndWait(ctx, syncs...); err != nil {
		return err
	}
	if err := a.enqueueAndWait(ctx, jobs.AuditSweepArgs{}); err != nil {
		return err
	}
	// The day's scorecard snapshot, so a worker run from cron keeps the
	// KPI history too.
	if err := a.enqueueAndWait(ctx, jobs.KPISnapshotArgs{}); err != nil {
		return err
	}
	// Write-back jobs were enqueued with the findings. A trigger that came
	// while a write-back job was running was dropped (unique jobs), so look
	// again until nothing is dirty, or a pass makes no progress (the write
	// budget is spent, or writes keep failing).
	if a.Config.DryRun {
		return nil
	}
	before := -1
	for {
		var pending []river.JobArgs
		n := 0
		for _, kind := range jobs.WritebackKinds {
			job, enabled := a.Services.Writeback(kind)
			ids, err := a.Store.DirtyEntities(ctx, kind, "", 100_000)
			if err != nil {
				return err
			}
			if len(ids) > 0 && enabled {
				n += len(ids)
				pending = append(pending, job)
			}
		}
		if len(pending) == 0 || (before >= 0 && n >= before) {
			if n > 0 {
				a.Logger.Warn("findings left unwritten this cycle: the hourly write budget (CXAUDIT_ZENDESK_WRITE_BUDGET, CXAUDIT_SALESFORCE_WRITE_BUDGET) is spent, or writes are failing; "+
					"they stay queued and go out as the budget frees (a write stops counting an hour after it was made), so a run within the hour may write none of them", "entities", n)
			}
			return nil
		}
		before = n
		if err := a.enqueueAndWait(ctx, pending...); err != nil {
			return err
		}
	}
}

func (a *App) enqueueAndWait(ctx context.Context, args ...river.JobArgs) error {
	if len(args) > 0 {
		if err := a.Store.Enqueue(ctx, jobs.Params(args...)...); err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
	}
	return a.waitIdle(ctx)
}

// jobCountFailures is how many JobCounts in a row may fail while a --once
// cycle waits before it gives up: one dropped database connection (a
// failover, a killed backend) must not end the run, a database that stays
// away must.
const jobCountFailures = 5

// waitIdle waits until no job is waiting, scheduled or running, or ctx
// ends; then its error says what was still active.
func (a *App) waitIdle(ctx context.Context) error {
	const poll = 50 * time.Millisecond
	failures := 0
	var active map[string]int
	for {
		wait := poll
		counts, err := a.Store.JobCounts(ctx)
		switch {
		case err != nil && ctx.Err() == nil && failures+1 < jobCountFailures:
			failures++
			wait = poll << (2 * failures) // 200ms, 800ms, 3.2s, 12.8s
			a.Logger.Warn("counting jobs failed; trying again", "error", err, "attempt", failures, "retry_in", wait.String())
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("count jobs (%d attempts): %w", jobCountFailures, err)
		case err == nil:
			failures = 0
			active = map[string]int{}
			for _, state := range []string{"available", "running", "retryable", "scheduled", "pending"} {
				if counts[state] > 0 {
					active[state] = counts[state]
				}
			}
			if len(active) == 0 {
				return nil
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("jobs still active %v: %w", active, ctx.Err())
		case <-t.C:
		}
	}
}

// Run is the long-running worker: River with its periodic jobs, and the
// HTTP server with /healthz, /readyz and /metrics, until ctx ends. Then
// River stops fetching, lets running jobs finish within grace, and cancels
// what is left.
func (a *App) Run(ctx context.Context, grace time.Duration) error {
	stopCounting := a.countJobs(nil)
	defer stopCounting()

	ln, err := net.Listen("tcp", a.Config.ListenAddr)
	if err != nil {
		return fmt.Errorf("CXAUDIT_LISTEN_ADDR: %w", err)
	}
	a.addr.Store(ln.Addr().String())
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	a.Logger.Info("listening", "addr", ln.Addr().String())

	stopLease, err := a.startLease(ctx)
	if err != nil {
		srv.Close()
		return err
	}
	defer stopLease()
	// River runs until stopped, not until ctx ends: a cancelled start
	// context is River's abrupt stop (it cancels every running job at
	// once), which would leave --grace unused. The signal ends the select
	// below; Stop then waits up to grace for running jobs, and only what
	// is still running after that is cancelled (StopAndCancel).
	if err := a.river.Start(context.WithoutCancel(ctx)); err != nil {
		srv.Close()
		return fmt.Errorf("start river: %w", err)
	}
	go a.watchRules(ctx)
	a.startRiverUI(ctx)

	select {
	case <-ctx.Done():
	case err = <-srvErr:
		a.Logger.Error("http server stopped", "error", err)
	}
	a.Logger.Info("shutting down: no new jobs; waiting for running jobs", "grace", grace)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if serr := a.river.Stop(stopCtx); serr != nil {
		a.Logger.Warn("running jobs did not finish in time; cancelling them", "error", serr)
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer ccancel()
		_ = a.river.StopAndCancel(cctx)
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Addr returns the address Run's HTTP server listens on ("" before it
// does): CXAUDIT_LISTEN_ADDR with the port chosen for ":0".
func (a *App) Addr() string {
	s, _ := a.addr.Load().(string)
	return s
}

// watchRules reloads the rules directory when its files change (an edit, or
// the symlink swap of a Kubernetes ConfigMap), once the changes settle. A
// broken edit keeps the last good rules: every error is logged and
// cxaudit_rules_last_reload_successful drops to 0 until a good edit. If the
// directory cannot be watched (no inotify watches left, say), it falls back
// to reloading every 30 seconds.
func (a *App) watchRules(ctx context.Context) {
	dir := a.Config.RulesDir
	reload := func() {
		if err := a.ReloadRules(); err != nil {
			var le *rules.LoadError
			if errors.As(err, &le) {
				for _, e := range le.Errors {
					a.Logger.Error("rules reload: error in rule file", "dir", dir, "error", e.Error())
				}
			} else {
				a.Logger.Error("rules reload failed", "dir", dir, "error", err)
			}
			a.Logger.Error("rules reload failed; keeping the last good rules", "dir", dir, "version", a.Rules().Version())
		}
	}
	w, err := rules.NewWatcher(dir, a.rulesDebounce)
	if err != nil {
		a.Logger.Error("cannot watch the rules directory; reloading it every 30s instead", "dir", dir, "error", err)
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				reload()
			}
		}
	}
	// Changes made while the watch was being set up are not lost.
	reload()
	w.Run(ctx, reload, func(err error) { a.Logger.Warn("rules watcher", "error", err) })
}
