// Package app wires cxaudit together: the store, the River client, the
// Zendesk and Salesforce adapters, the rules and the services the jobs
// drive. cmd/cxaudit and the demo build an App and run it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/jobs"
	"github.com/cxaudit/cxaudit/internal/metrics"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/report"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/tenant"
	"github.com/cxaudit/cxaudit/internal/webhook"
	"github.com/cxaudit/cxaudit/internal/writeback"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Options adjust an App beyond its Config.
type Options struct {
	// Migrate runs migrations when the App opens its store.
	Migrate bool
	// Periodic schedules the periodic jobs (the long-running worker). A
	// --once run and the demo drive the cycle themselves.
	Periodic bool
	// Rules, when set, is used instead of loading Config.RulesDir.
	Rules *rules.Set
	// HTTP adjusts the clients of both systems (tests shorten waits).
	HTTP remote.Options
	// NowFunc is the clock rules see. Default time.Now.
	NowFunc func() time.Time
	// TracerProvider traces jobs and API calls. Default: from the OTEL_*
	// variables, or none.
	TracerProvider trace.TracerProvider
	// Getenv, when set, is read again before every sync for the
	// credentials, so rotated ones (a Secret updated in place) take effect
	// without a restart.
	Getenv func(string) string
}

// riverClient is what App uses of *river.Client, whichever database.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// App is a configured cxaudit.
type App struct {
	Config   config.Config
	Logger   *slog.Logger
	Store    store.Store
	Metrics  *metrics.Metrics
	Services *jobs.Services

	obs observability // traces, River UI (observe.go)

	// Budgets are the API budgets of the configured systems.
	Budgets     map[cxaudit.Source]*ratelimit.Budget
	healthGauge *prometheus.GaugeVec

	// webhook serves POST /webhooks/zendesk; nil when no
	// CXAUDIT_ZENDESK_WEBHOOK_SECRET is set.
	webhook *webhook.Handler
	addr    atomic.Value // string: where Run listens

	rules    atomic.Pointer[rules.Set]
	creds    credentials
	river    riverClient
	clientID string
	closed   bool

	// rulesDebounce is how long the rules directory must stay quiet after
	// a change before it is reloaded; 0 means rules.DefaultDebounce.
	rulesDebounce time.Duration
}

// New opens the store, loads the rules, builds the adapters for each
// configured source and the River client.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts Options) (_ *App, err error) {
	a := &App{Config: cfg, Logger: logger, Metrics: metrics.New()}
	// Whatever fails after the store is open releases what was started
	// before it: the store, and the tracer (with its exporter goroutine).
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	set := opts.Rules
	if set == nil {
		if set, err = rules.LoadDir(cfg.RulesDir); err != nil {
			return nil, fmt.Errorf("load rules from %s:\n%w", cfg.RulesDir, err)
		}
		// No rules is never what was meant (a wrong path, a ConfigMap not
		// mounted), and running without any would resolve every finding.
		if len(set.Rules()) == 0 {
			return nil, fmt.Errorf("CXAUDIT_RULES_DIR: %s holds no rules (rule files, *.yaml or *.yml: %d); point CXAUDIT_RULES_DIR at the rules directory",
				cfg.RulesDir, set.Files())
		}
	}
	a.setRules(set)

	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal())
	if err != nil {
		return nil, err
	}
	a.Store = st
	if opts.Migrate {
		res, err := store.Migrate(ctx, st)
		if err != nil {
			return nil, err
		}
		if len(res.App)+len(res.River) > 0 {
			logger.Info("migrated database", "app", res.App, "river", res.River)
		}
	}

	httpOpts := opts.HTTP
	httpOpts.Logger = logger
	if httpOpts.Timeout == 0 {
		httpOpts.Timeout = cfg.HTTPTimeout
	}
	httpOpts.ObserveFunc = a.Metrics.ObserveAttempt
	a.Budgets = a.budgets(cfg)
	if err := a.observe(ctx, st, opts); err != nil {
		return nil, err
	}
	progress := a.progressMetrics()
	svc := &jobs.Services{Store: st, Logger: logger}
	svc.Auditor = &audit.Auditor{
		Store: st, Logger: logger, RulesFunc: a.Rules, NowFunc: opts.NowFunc,
		OnDirty: svc.OnDirty, ObserveFunc: a.Metrics.ObserveFinding,
		SnoozeFor:    time.Duration(cfg.SnoozeDays) * 24 * time.Hour,
		Sources:      map[cxaudit.Source][]string{},
		DisabledFunc: a.observeDisabled,
		Observe:      cfg.Observe(),
	}
	observeWrite := func(system cxaudit.Source) func(string) {
		return func(kind string) { a.Metrics.Writes.WithLabelValues(string(system), kind).Inc() }
	}
	heldGauge := func(system cxaudit.Source) func(int) {
		return func(n int) { a.Metrics.WritebackHeld.WithLabelValues(string(system)).Set(float64(n)) }
	}
	observeSync := func(source cxaudit.Source) func(string, int) {
		return func(object string, n int) {
			a.Metrics.SyncRecords.WithLabelValues(string(source), object).Add(float64(n))
		}
	}
	start := time.Now().AddDate(0, 0, -cfg.BackfillDays)

	if cfg.Zendesk.Enabled() {
		zc, err := zendesk.New(zendesk.Config{URL: cfg.Zendesk.URL, Email: cfg.Zendesk.Email, APIToken: cfg.Zendesk.APIToken.Reveal(), Logger: logger, HTTP: a.instrumented(a.budgeted(httpOpts, cxaudit.SourceZendesk), cxaudit.SourceZendesk)})
		if err != nil {
			return nil, fmt.Errorf("ZENDESK_URL: %w", err)
		}
		a.creds.zendesk = zc
		svc.ZendeskSync = &syncer.Zendesk{Client: zc, Store: st, Logger: logger, Start: start, ObserveFunc: observeSync(cxaudit.SourceZendesk), ProgressFunc: progress,
			// Comments only of the tickets the current rules can judge
			// (read at every page: a reload takes effect at the next one).
			CommentsFunc: func(status string) bool {
				set := a.Rules()
				return set == nil || set.NeedsComments(status)
			},
			CommentConcurrency: cfg.Zendesk.CommentConcurrency, CommentEvents: cfg.Zendesk.Comments == config.ZendeskCommentsEvents}
		svc.Auditor.Sources[cxaudit.SourceZendesk] = syncer.ReadyObjects[cxaudit.SourceZendesk]
		svc.ZendeskWriteback = &writeback.Zendesk{Client: zc, Store: st, Logger: logger, RulesFunc: a.Rules,
			DryRun: cfg.DryRun, ResolutionNote: cfg.ResolutionNote, Budget: cfg.ZendeskWriteBudget, SnoozeFor: time.Duration(cfg.SnoozeDays) * 24 * time.Hour,
			ObserveFunc: observeWrite(cxaudit.SourceZendesk), HeldFunc: heldGauge(cxaudit.SourceZendesk)}
	} else {
		logger.Info("zendesk not configured (ZENDESK_URL unset): skipping its sync and write-back")
	}
	if cfg.Salesforce.Enabled() {
		scfg := salesforce.Config{InstanceURL: cfg.Salesforce.InstanceURL, AccessToken: cfg.Salesforce.AccessToken.Reveal(), Logger: logger, HTTP: a.instrumented(a.budgeted(httpOpts, cxaudit.SourceSalesforce), cxaudit.SourceSalesforce)}
		if sj := cfg.Salesforce; sj.UsesJWT() {
			scfg.JWT = &salesforce.JWTConfig{ClientID: sj.ClientID, Username: sj.Username, PrivateKey: []byte(sj.PrivateKey.Reveal()), LoginURL: sj.LoginURL, Audience: sj.JWTAudience}
		}
		sc, err := salesforce.New(scfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", salesforceVariable(err), err)
		}
		a.creds.sf, a.creds.sfHTTP = sc, scfg.HTTP
		svc.SalesforceSync = &syncer.Salesforce{Client: sc, Store: st, Logger: logger,
			FieldMapFunc: func() *tenant.FieldMap { return a.Rules().FieldMap() },
			WantFunc:     func(object string) []string { return a.Rules().FieldsRead(object) },
			ObserveFunc:  observeSync(cxaudit.SourceSalesforce), ProgressFunc: progress}
		svc.SalesforceWriteback = &writeback.Salesforce{Client: sc, Store: st, Logger: logger, RulesFunc: a.Rules,
			FallbackOwnerID: cfg.Salesforce.FallbackOwnerID, DryRun: cfg.DryRun, Budget: cfg.SalesforceWriteBudget,
			ObserveFunc: observeWrite(cxaudit.SourceSalesforce), HeldFunc: heldGauge(cxaudit.SourceSalesforce),
			TenantFunc: func(ctx context.Context) (*tenant.Tenant, error) {
				return audit.LoadTenant(ctx, st, a.Rules().FieldMap())
			}}
		svc.Auditor.Sources[cxaudit.SourceSalesforce] = syncer.ReadyObjects[cxaudit.SourceSalesforce]
		if cfg.Salesforce.FallbackOwnerID == "" {
			logger.Warn(noFallbackOwner)
		}
	} else {
		logger.Info("salesforce not configured (SALESFORCE_INSTANCE_URL unset): skipping its sync and write-back")
	}
	if sec := cfg.ZendeskWebhookSecret.Reveal(); sec != "" && svc.ZendeskSync != nil {
		a.webhook = &webhook.Handler{Verifier: webhook.NewVerifier(sec), Logger: logger.With("component", "webhook"), Enqueue: a.enqueueTicket,
			ObserveFunc: func(outcome string) { a.Metrics.WebhookRequests.WithLabelValues(outcome).Inc() }}
	}
	if cfg.Observe() {
		// CXAUDIT_MODE=observe: no write-back at all, not even of
		// findings an earlier enforce run wrote (their resolutions wait
		// for enforce); rules preview shows what enforce would write.
		svc.ZendeskWriteback, svc.SalesforceWriteback = nil, nil
		logger.Warn(observeWarning)
	}
	a.Metrics.SetMode(string(cfg.Mode))
	a.creds.getenv, a.creds.current = opts.Getenv, cfg
	svc.BeforeSyncFunc = a.refreshCredentials
	svc.ReportFunc = func(ctx context.Context) (*report.Report, error) {
		now := time.Now()
		return a.Report(ctx, now.AddDate(0, 0, -7), now)
	}
	a.Services = svc

	workers := river.NewWorkers()
	jobs.AddWorkers(workers, svc)
	a.clientID = newClientID()
	rcfg := &river.Config{
		ID:     a.clientID,
		Logger: logger.With("component", "river"),
		Queues: map[string]river.QueueConfig{
			jobs.QueueSync:      {MaxWorkers: 2},
			jobs.QueueAudit:     {MaxWorkers: 1},
			jobs.QueueWriteback: {MaxWorkers: 2},
			jobs.QueueTicket:    {MaxWorkers: 4},
		},
		Workers:              workers,
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    200 * time.Millisecond,
		JobTimeout:           jobs.Timeout,
		RescueStuckJobsAfter: 2 * jobs.Timeout,
		RetryPolicy:          jobs.RetryPolicy{MaxBackoff: 30 * time.Second},
		MaxAttempts:          10,
	}
	if opts.Periodic {
		rcfg.PeriodicJobs = a.periodicJobs()
	}
	rcfg.Middleware = a.jobMiddleware()
	switch s := st.(type) {
	case *store.Postgres:
		err = startRiver(a, riverpgxv5.New(s.Pool), rcfg, s.AttachRiver)
	case *store.SQLite:
		err = startRiver(a, riversqlite.New(s.DB), rcfg, s.AttachRiver)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// observeWarning is said at start and on /readyz in CXAUDIT_MODE=observe.
const observeWarning = "CXAUDIT_MODE=observe: every rule records its findings and nothing is written to Zendesk or Salesforce; " +
	"see what enforce would write with `cxaudit rules preview`, then set CXAUDIT_MODE=enforce (each rule's own mode)"

// noFallbackOwner is said at start and on /readyz when Tasks of accounts
// whose owner is inactive have no owner to go to.
const noFallbackOwner = "SALESFORCE_TASK_FALLBACK_OWNER_ID is unset: Tasks on accounts whose owner is inactive go out without an owner, " +
	"and Salesforce assigns them to the integration user, where nobody sees them; set it to the Id of a user who handles them"

// Warnings are what /readyz lists for the operator without making the
// worker unready: settings that make cxaudit work in a way nobody may
// notice. Keys name the concern.
func (a *App) Warnings() map[string]string {
	out := map[string]string{}
	if a.Config.Observe() {
		out["mode"] = observeWarning
	}
	if sw := a.Services.SalesforceWriteback; sw != nil && a.Config.Salesforce.FallbackOwnerID == "" {
		msg := noFallbackOwner
		if u := sw.Unowned(); u != nil {
			msg += fmt.Sprintf(" (it happened: first on account %s, whose owner %s is inactive, at %s)", u.AccountID, u.OwnerID, u.At.Format(time.RFC3339))
		}
		out["salesforce_task_owner"] = msg
	}
	return out
}

// salesforceVariables name the environment variable behind each setting
// of salesforce.Config that salesforce.New can refuse (cxaudit.Error's
// Field).
var salesforceVariables = map[string]string{
	"Config.InstanceURL":   "SALESFORCE_INSTANCE_URL",
	"Config.AccessToken":   "SALESFORCE_ACCESS_TOKEN",
	"JWTConfig.ClientID":   "SALESFORCE_CLIENT_ID",
	"JWTConfig.Username":   "SALESFORCE_USERNAME",
	"JWTConfig.LoginURL":   "SALESFORCE_LOGIN_URL",
	"JWTConfig.Audience":   "SALESFORCE_JWT_AUDIENCE",
	"JWTConfig.PrivateKey": "SALESFORCE_PRIVATE_KEY",
}

// salesforceVariable is the variable to blame for err from salesforce.New.
func salesforceVariable(err error) string {
	if v, ok := salesforceVariables[cxaudit.ErrorField(err)]; ok {
		return v
	}
	return "SALESFORCE_INSTANCE_URL"
}

// startRiver builds the River client on driver, attaches it to the store
// (so the store can enqueue jobs in its transactions) and mounts River UI.
func startRiver[TTx any](a *App, driver riverdriver.Driver[TTx], cfg *river.Config, attach func(*river.Client[TTx])) error {
	c, err := river.NewClient[TTx](driver, cfg)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	attach(c)
	a.river = c
	return newRiverUI(a, c)
}

// Rules returns the active rule set.
func (a *App) Rules() *rules.Set { return a.rules.Load() }

// observeDisabled sets cxaudit_rule_disabled to the rules the audit sets
// aside.
func (a *App) observeDisabled(disabled map[string]rules.Disabled) {
	a.Metrics.RulesDisabled.Reset()
	for id, d := range disabled {
		reason := "waiting"
		if len(d.Problems) > 0 {
			reason = "field"
		}
		a.Metrics.RulesDisabled.WithLabelValues(id, reason).Set(1)
	}
}

// Availability returns the rules that cannot run on this tenant now and
// why (see audit.Availability).
func (a *App) Availability(ctx context.Context) (map[string]rules.Disabled, error) {
	disabled, _, err := audit.Availability(ctx, a.Store, a.Rules(), a.Services.Auditor.Sources)
	return disabled, err
}

func (a *App) setRules(s *rules.Set) {
	for _, w := range s.Warnings() {
		a.Logger.Warn("rule warning (it loads, but likely never does what was meant)", "warning", w.Error())
	}
	a.rules.Store(s)
	a.Metrics.RulesReloadOK.Set(1)
	a.Metrics.RulesLoaded.Set(float64(len(s.Rules())))
}

// ReloadRules loads the rules directory again. On error the active rules
// stay as they were and the reload gauge drops to 0. A reload that would
// remove every rule, or more than Config.RulesMaxDrop of them, is such an
// error: a directory emptied or unmounted under a running worker would
// otherwise resolve every open finding (and reopen them all when the files
// return). A restart applies a change that large.
func (a *App) ReloadRules() error {
	set, err := rules.LoadDir(a.Config.RulesDir)
	if err == nil {
		err = a.checkDrop(a.Rules(), set)
	}
	if err != nil {
		a.Metrics.RulesReloadOK.Set(0)
		return err
	}
	if old := a.Rules(); old != nil && old.Version() == set.Version() {
		a.Metrics.RulesReloadOK.Set(1)
		return nil
	}
	a.setRules(set)
	a.Logger.Info("rules reloaded", "rules", len(set.Rules()), "version", set.Version())
	return nil
}

// checkDrop refuses a new rule set that removes every rule of old, or a
// larger share of them than Config.RulesMaxDrop.
func (a *App) checkDrop(old, set *rules.Set) error {
	if old == nil || len(old.Rules()) == 0 {
		return nil
	}
	var dropped []string
	for _, r := range old.Rules() {
		if set.Rule(r.ID) == nil {
			dropped = append(dropped, r.ID)
		}
	}
	n := len(old.Rules())
	switch {
	case len(set.Rules()) == 0:
		return fmt.Errorf("rules reload refused: %s holds no rules now (rule files: %d), the last good set has %d; "+
			"an emptied or unmounted rules directory would resolve every finding",
			a.Config.RulesDir, set.Files(), n)
	case float64(len(dropped)) > a.Config.RulesMaxDrop*float64(n):
		const listed = 10
		names := strings.Join(dropped[:min(len(dropped), listed)], ", ")
		if len(dropped) > listed {
			names += fmt.Sprintf(" and %d more", len(dropped)-listed)
		}
		return fmt.Errorf("rules reload refused: it would remove %d of the %d rules (%s), more than CXAUDIT_RULES_MAX_DROP=%g allows; "+
			"restart cxaudit to apply a change this large", len(dropped), n, names, a.Config.RulesMaxDrop)
	}
	return nil
}

// WebhookCatchAll is how often the audit and Zendesk write-back look for
// work left by a dropped trigger when webhooks are served: a ticket a
// webhook synced reaches the ticket as a note within seconds, not at the
// next minute. Each look is a query or two when there is nothing to do.
const WebhookCatchAll = 2 * time.Second

func (a *App) periodicJobs() []*river.PeriodicJob {
	catchAll := time.Minute
	if a.webhook != nil {
		catchAll = WebhookCatchAll
	}
	every := func(d time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(d), func() (river.JobArgs, *river.InsertOpts) {
			return args, nil
		}, &river.PeriodicJobOpts{RunOnStart: true})
	}
	var out []*river.PeriodicJob
	if a.Services.ZendeskSync != nil {
		out = append(out, every(a.Config.SyncInterval, jobs.ZendeskSyncArgs{}))
	}
	if a.Services.SalesforceSync != nil {
		out = append(out, every(a.Config.SyncInterval, jobs.SalesforceSyncArgs{}))
	}
	out = append(out,
		every(a.Config.SweepInterval, jobs.AuditSweepArgs{}),
		// Catch-alls: work left by a trigger that arrived while the same job
		// was running (unique jobs drop such triggers).
		every(catchAll, jobs.AuditArgs{}),
		// The day's scorecard snapshot, refreshed hourly.
		every(time.Hour, jobs.KPISnapshotArgs{}),
	)
	if a.Services.ZendeskWriteback != nil {
		out = append(out, every(catchAll, jobs.ZendeskWritebackArgs{}))
	}
	if a.Services.SalesforceWriteback != nil {
		out = append(out, every(time.Minute, jobs.SalesforceWritebackArgs{}))
	}
	return out
}

// enqueueTicket queues the sync of ticket id for a webhook. A storm
// coalesces into the ticket's one waiting job; when that job is already
// running (it may have read the ticket before this change), the change is
// queued as the ticket's one Rerun job instead, which SyncTicket keeps
// from overwriting a newer copy.
func (a *App) enqueueTicket(ctx context.Context, id int64) error {
	res, err := a.river.Insert(ctx, jobs.ZendeskTicketArgs{TicketID: id}, nil)
	if err != nil {
		return err
	}
	if !res.UniqueSkippedAsDuplicate || res.Job == nil || res.Job.State != rivertype.JobStateRunning {
		return nil
	}
	again, err := a.river.Insert(ctx, jobs.ZendeskTicketArgs{TicketID: id, Rerun: true}, nil)
	if err == nil && again.UniqueSkippedAsDuplicate && again.Job != nil && again.Job.State == rivertype.JobStateRunning {
		a.Logger.Debug("webhook: the ticket's job and its rerun are both running; the periodic sync reads this change if they missed it", "ticket_id", id)
	}
	return err
}

// Close flushes and stops the tracer and releases the store.
func (a *App) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	a.closeObservability()
	if a.Store == nil {
		return nil
	}
	return a.Store.Close()
}

// countJobs subscribes to job outcomes for metrics and, while a --once
// cycle runs, for its exit status.
func (a *App) countJobs(failed *atomic.Int64) func() {
	events, cancel := a.river.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			outcome := string(ev.Kind)
			a.Metrics.Jobs.WithLabelValues(ev.Job.Kind, outcome).Inc()
			if ev.Kind == river.EventKindJobCancelled || (ev.Kind == river.EventKindJobFailed && ev.Job.State == "discarded") {
				if failed != nil {
					failed.Add(1)
				}
				a.Logger.Error("job failed for good", "job_kind", ev.Job.Kind, "job_id", ev.Job.ID, "attempts", ev.Job.Attempt,
					"error", lastError(ev))
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func lastError(ev *river.Event) string {
	if n := len(ev.Job.Errors); n > 0 {
		return ev.Job.Errors[n-1].Error
	}
	return ""
}

var errJobsFailed = errors.New("one or more jobs failed for good")
