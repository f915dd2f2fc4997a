package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// BatchSize is how many Tasks one Salesforce call writes
// (composite/sobjects takes at most 200).
const BatchSize = 200

// Salesforce writes account findings as Tasks on the account.
type Salesforce struct {
	Client *salesforce.Client
	Store  store.Store
	Logger *slog.Logger
	// RulesFunc gives Task descriptions each rule's docs link; optional.
	RulesFunc func() *rules.Set
	// FallbackOwnerID owns Tasks of accounts whose owner is inactive.
	// Empty leaves OwnerId unset: Salesforce assigns the API user.
	FallbackOwnerID string
	// DryRun logs each would-be write instead of making it.
	DryRun bool
	// Budget caps Tasks created or updated per rolling hour (0: no cap).
	// What is over it stays dirty, is counted in Stats.Held, and is written
	// when the budget allows.
	Budget int
	// ObserveFunc, when set, is told of every write made.
	ObserveFunc func(kind string)
	// HeldFunc, when set, is told at the end of each run how many
	// entities the budget held.
	HeldFunc func(n int)
	// TenantFunc returns the tenant, whose Task Status and Priority
	// picklists the Tasks use; nil writes Salesforce's defaults.
	TenantFunc func(ctx context.Context) (*tenant.Tenant, error)
}

type taskRecord struct {
	Mark store.WrittenMark `json:"mark"`
}

// op is one Task write.
type op struct {
	finding cxaudit.Finding
	target  string
	marker  string
	task    cxaudit.Task
	rec     store.WriteRecord
}

// TaskMarker is the reference a finding's Task carries in its Subject.
func TaskMarker(fingerprint string) string { return "cxaudit:" + fingerprint }

// Run first reads which of cxaudit's Tasks their owners completed (an
// acknowledgement), then writes every dirty account finding, in batches.
func (s *Salesforce) Run(ctx context.Context) (Stats, error) {
	var stats Stats
	var errs []error
	var err error
	if err := s.acknowledgeCompleted(ctx); err != nil {
		return stats, fmt.Errorf("read completed tasks: %w", err)
	}
	t := tenant.Resolve(nil, nil, nil)
	if s.TenantFunc != nil {
		if t, err = s.TenantFunc(ctx); err != nil {
			return stats, err
		}
	}
	b, err := newBudget(ctx, s.Store, s.Budget, store.WriteSalesforceTask, store.WriteSalesforceTaskUpdate)
	if err != nil {
		return stats, err
	}
	after := ""
	var creates, updates []op
	// within keeps what the budget allows of ops and holds the rest.
	within := func(ops []op) []op {
		if r := b.remaining(); r >= 0 && len(ops) > r {
			stats.Held += len(ops) - r
			ops = ops[:r]
		}
		b.spend(len(ops))
		return ops
	}
	flush := func(force bool) error {
		if len(creates) >= BatchSize || (force && len(creates) > 0) {
			if ops := within(creates); len(ops) > 0 {
				if err := s.create(ctx, ops, &stats); err != nil {
					return err
				}
			}
			creates = creates[:0]
		}
		if len(updates) >= BatchSize || (force && len(updates) > 0) {
			if ops := within(updates); len(ops) > 0 {
				if err := s.update(ctx, ops, &stats); err != nil {
					return err
				}
			}
			updates = updates[:0]
		}
		return nil
	}
	for {
		ids, err := s.Store.DirtyEntities(ctx, cxaudit.EntityAccount, after, 100)
		if err != nil {
			return stats, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			c, u, err := s.plan(ctx, id, t)
			if err != nil {
				stats.Failed++
				errs = append(errs, fmt.Errorf("account %s: %w", id, err))
				continue
			}
			creates, updates = append(creates, c...), append(updates, u...)
			if err := flush(false); err != nil {
				return stats, err
			}
		}
		after = ids[len(ids)-1]
	}
	if err := flush(true); err != nil {
		return stats, err
	}
	if s.HeldFunc != nil {
		s.HeldFunc(stats.Held)
	}
	if stats.Held > 0 {
		s.Logger.Warn("salesforce write budget spent; holding the rest until it allows", "budget_per_hour", s.Budget, "held_tasks", stats.Held)
	}
	return stats, errors.Join(errs...)
}

// acknowledgeCompleted marks open findings whose Task the owner completed
// as acknowledged. Only Tasks changed since the last look are read.
func (s *Salesforce) acknowledgeCompleted(ctx context.Context) error {
	const object = "task_acknowledgements"
	cur, err := s.Store.GetCursor(ctx, cxaudit.SourceSalesforce, object)
	if err != nil {
		return err
	}
	var since time.Time
	if cur.Value != "" {
		if since, err = time.Parse(time.RFC3339Nano, cur.Value); err != nil {
			return fmt.Errorf("stored %s cursor %q: %w", object, cur.Value, err)
		}
		since = since.Add(-5 * time.Minute) // SystemModstamp commits late sometimes
	}
	started := time.Now()
	tasks, err := s.Client.ClosedTasks(ctx, "cxaudit:", since)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, t := range tasks {
		fp := fingerprintIn(t.Subject)
		if fp == "" {
			continue
		}
		fs, err := s.Store.ListFindings(ctx, store.FindingFilter{RuleID: "", EntityKind: cxaudit.EntityAccount, EntityID: t.WhatID})
		if err != nil {
			return err
		}
		for _, f := range fs {
			// Only a finding cxaudit last wrote as open: a Task cxaudit
			// completed itself, or one about to be reopened, is no ack.
			if f.Fingerprint != fp || f.Status != cxaudit.FindingOpen || f.AcknowledgedAt != nil || f.WrittenStatus != cxaudit.FindingOpen {
				continue
			}
			f.AcknowledgedAt = &now
			f.WrittenStatus = cxaudit.FindingAcknowledged // the owner did it in Salesforce: nothing to write
			if err := s.Store.PutFinding(ctx, f); err != nil {
				return err
			}
			s.Logger.Info("finding acknowledged: its task was completed", "fingerprint", f.Fingerprint, "rule_id", f.RuleID, "account_id", t.WhatID)
		}
	}
	return s.Store.PutCursor(ctx, cxaudit.SourceSalesforce, object, store.Cursor{Value: started.UTC().Format(time.RFC3339Nano), CompletedAt: started})
}

// fingerprintIn finds the fingerprint in a Task subject "… (cxaudit:<fp>)".
func fingerprintIn(subject string) string {
	i := strings.LastIndex(subject, "cxaudit:")
	if i < 0 {
		return ""
	}
	fp := subject[i+len("cxaudit:"):]
	if j := strings.IndexAny(fp, ") "); j >= 0 {
		fp = fp[:j]
	}
	if len(fp) != 16 {
		return ""
	}
	return fp
}

// plan decides the Task writes of one account's dirty findings.
func (s *Salesforce) plan(ctx context.Context, accountID string, t *tenant.Tenant) (creates, updates []op, err error) {
	findings, err := s.Store.FindingsForEntity(ctx, cxaudit.EntityAccount, accountID)
	if err != nil {
		return nil, nil, err
	}
	var acc *cxaudit.Account
	for _, f := range findings {
		if !f.Dirty() {
			continue
		}
		o := op{finding: f, target: "salesforce:task:" + f.Fingerprint, marker: TaskMarker(f.Fingerprint)}
		if o.rec, err = s.Store.GetWriteLog(ctx, o.target); err != nil {
			return nil, nil, err
		}
		if f.Actions.SalesforceTask == nil {
			// Nothing to write in Salesforce: record it as written.
			if err := s.Store.MarkWritten(ctx, []store.WrittenMark{store.MarkOf(f)}); err != nil {
				return nil, nil, err
			}
			continue
		}
		if acc == nil {
			a, err := s.Store.Account(ctx, accountID)
			if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
				// The account was deleted in Salesforce, and its Tasks with
				// it: there is nothing left to write.
				if err := s.Store.MarkWritten(ctx, []store.WrittenMark{store.MarkOf(f)}); err != nil {
					return nil, nil, err
				}
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			acc = &a
		}
		o.task = s.task(f, acc, t)
		if o.rec.RemoteID != "" {
			o.task.ID = o.rec.RemoteID
			updates = append(updates, o)
		} else if f.Status == cxaudit.FindingOpen {
			creates = append(creates, o)
		} else if err := s.Store.MarkWritten(ctx, []store.WrittenMark{store.MarkOf(f)}); err != nil {
			// Resolved before its Task was ever created: nothing to close.
			return nil, nil, err
		}
	}
	return creates, updates, nil
}

// task is the Task of a finding on acc, in the org's own Task statuses
// and priorities (tn).
func (s *Salesforce) task(f cxaudit.Finding, acc *cxaudit.Account, tn *tenant.Tenant) cxaudit.Task {
	ta := f.Actions.SalesforceTask
	open, completed := tn.TaskStatuses()
	t := cxaudit.Task{
		WhatID:   acc.ID,
		Subject:  truncate(fmt.Sprintf("[cxaudit] %s (%s)", withoutBidi(f.Title), TaskMarker(f.Fingerprint)), 255),
		Priority: ta.Priority,
		Status:   open,
	}
	if t.Priority == "" {
		t.Priority = cxaudit.TaskPriority(f.Severity)
	}
	t.Priority = tn.TaskPriority(t.Priority)
	if acc.OwnerID != "" && acc.OwnerActive {
		t.OwnerID = acc.OwnerID
	} else {
		t.OwnerID = s.FallbackOwnerID
	}
	if ta.DueInDays > 0 {
		due := f.OpenedAt.AddDate(0, 0, ta.DueInDays).UTC().Truncate(24 * time.Hour)
		t.ActivityDate = &due
	}
	var d strings.Builder
	fmt.Fprintf(&d, "%s\n\nSeverity: %s\nRule: %s", f.Message, f.Severity, f.RuleID)
	if s.RulesFunc != nil {
		if r := s.RulesFunc().Rule(f.RuleID); r != nil && r.Docs != "" {
			fmt.Fprintf(&d, "\nHow to fix: %s", r.Docs)
		}
	}
	d.WriteString("\n\nCompleting this Task acknowledges the finding. cxaudit completes it itself when the issue clears.")
	// Messages quote synced records (account names): no bidirectional
	// controls, as in Zendesk notes.
	t.Description = withoutBidi(d.String())
	if f.Status == cxaudit.FindingResolved {
		t.Status = completed
	}
	return t
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// create writes new Tasks. Targets left pending by an earlier attempt are
// first looked for in Salesforce, and adopted when found.
func (s *Salesforce) create(ctx context.Context, ops []op, stats *Stats) error {
	var pendingMarkers []string
	for _, o := range ops {
		if o.rec.State == store.WritePending {
			pendingMarkers = append(pendingMarkers, o.marker)
		}
	}
	found := map[string]string{} // marker → Task Id
	if len(pendingMarkers) > 0 {
		tasks, err := s.Client.FindTasks(ctx, pendingMarkers)
		if err != nil {
			return fmt.Errorf("reconcile pending tasks: %w", err)
		}
		for _, t := range tasks {
			for _, m := range pendingMarkers {
				if strings.Contains(strings.ToLower(t.Subject), strings.ToLower(m)) {
					found[m] = t.ID
				}
			}
		}
	}
	var todo []op
	for _, o := range ops {
		if id, ok := found[o.marker]; ok {
			stats.Reconciled++
			if err := s.done(ctx, o, id, "", stats); err != nil {
				return err
			}
			continue
		}
		todo = append(todo, o)
	}
	if len(todo) == 0 {
		return nil
	}
	if s.DryRun {
		for _, o := range todo {
			s.Logger.Info("dry run: would create salesforce task", "account_id", o.task.WhatID, "rule_id", o.finding.RuleID, "subject", o.task.Subject)
		}
		return nil
	}
	// Record intent before the call: if the worker dies mid-call, the next
	// attempt searches for these markers first.
	if err := s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		for _, o := range todo {
			payload, _ := json.Marshal(taskRecord{Mark: store.MarkOf(o.finding)})
			if err := q.PutWriteLog(ctx, store.WriteRecord{Target: o.target, State: store.WritePending, Marker: o.marker, Payload: payload}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	tasks := make([]cxaudit.Task, len(todo))
	for i, o := range todo {
		tasks[i] = o.task
	}
	results, err := s.Client.CreateTasks(ctx, tasks)
	if err != nil {
		return fmt.Errorf("create %d tasks: %w", len(tasks), err)
	}
	var errs []error
	for i, r := range results {
		if r.Err != nil {
			stats.Failed++
			errs = append(errs, fmt.Errorf("task for finding %s: %w", todo[i].finding.Fingerprint, r.Err))
			continue
		}
		if err := s.done(ctx, todo[i], r.ID, store.WriteSalesforceTask, stats); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// update changes existing Tasks: new content, completion when the finding
// resolved, reopening when it returned.
func (s *Salesforce) update(ctx context.Context, ops []op, stats *Stats) error {
	if s.DryRun {
		for _, o := range ops {
			s.Logger.Info("dry run: would update salesforce task", "task_id", o.task.ID, "status", o.task.Status, "rule_id", o.finding.RuleID)
		}
		return nil
	}
	tasks := make([]cxaudit.Task, len(ops))
	for i, o := range ops {
		tasks[i] = o.task
	}
	// Updates set absolute values: sending one twice is harmless, so no
	// pending record is needed.
	results, err := s.Client.UpdateTasks(ctx, tasks)
	if err != nil {
		return fmt.Errorf("update %d tasks: %w", len(tasks), err)
	}
	var errs []error
	for i, r := range results {
		if r.Err != nil {
			stats.Failed++
			errs = append(errs, fmt.Errorf("task %s: %w", ops[i].task.ID, r.Err))
			continue
		}
		if err := s.done(ctx, ops[i], ops[i].task.ID, store.WriteSalesforceTaskUpdate, stats); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func (s *Salesforce) done(ctx context.Context, o op, taskID, kind string, stats *Stats) error {
	mark := store.MarkOf(o.finding)
	if o.rec.State == store.WritePending && kind == "" {
		// Adopted: what was written is what the pending record says.
		var tr taskRecord
		if err := json.Unmarshal(o.rec.Payload, &tr); err == nil && tr.Mark.Fingerprint != "" {
			mark = tr.Mark
		}
	}
	return s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		payload, _ := json.Marshal(taskRecord{Mark: mark})
		if err := q.PutWriteLog(ctx, store.WriteRecord{Target: o.target, State: store.WriteDone, Marker: o.marker, RemoteID: taskID, Payload: payload}); err != nil {
			return err
		}
		if err := q.MarkWritten(ctx, []store.WrittenMark{mark}); err != nil {
			return err
		}
		if kind == "" {
			return nil
		}
		stats.count(kind)
		if s.ObserveFunc != nil {
			s.ObserveFunc(kind)
		}
		return q.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceSalesforce, Kind: kind, Target: o.target})
	})
}
