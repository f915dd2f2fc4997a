package writeback

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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

// MaxSubject is the length of a Task's Subject, in characters. The marker
// comes first, so cutting a long title never cuts it.
const MaxSubject = 255

// Salesforce writes account findings as Tasks on the account.
type Salesforce struct {
	Client *salesforce.Client
	Store  Store
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

	unownedOnce sync.Once
	unowned     atomic.Pointer[UnownedTask]

	// running makes Runs one at a time in a process. River runs one
	// write-back job per system (unique while running), but a job made
	// available again while it still ran (a rescue) would otherwise run
	// beside itself: both would plan the same dirty records from a write
	// log neither had written yet, and write them twice. The second Run
	// waits, then finds in the log what the first wrote.
	running sync.Mutex
}

// UnownedTask is the first Task planned with no owner to go to: its
// account's owner is inactive and no FallbackOwnerID is set, so
// Salesforce gives it to the integration user, whom nobody watches.
type UnownedTask struct {
	AccountID, OwnerID string
	At                 time.Time
}

// Unowned returns the first Task planned without an owner since start, or
// nil.
func (s *Salesforce) Unowned() *UnownedTask { return s.unowned.Load() }

// noOwner records, and logs once, a Task of acc planned without an owner.
func (s *Salesforce) noOwner(acc *cxaudit.Account) {
	s.unownedOnce.Do(func() {
		s.unowned.Store(&UnownedTask{AccountID: acc.ID, OwnerID: acc.OwnerID, At: time.Now().UTC()})
		if s.Logger != nil {
			s.Logger.Warn("a Task goes out without an owner: the account's owner is inactive and SALESFORCE_TASK_FALLBACK_OWNER_ID is unset, "+
				"so Salesforce assigns it to the integration user, where nobody sees it (logged once; /readyz lists it)",
				"account_id", acc.ID, "inactive_owner_id", acc.OwnerID)
		}
	})
}

// Run first reads which of cxaudit's Tasks their owners completed (an
// acknowledgement), then writes every dirty account finding, in batches.
func (s *Salesforce) Run(ctx context.Context) (Stats, error) {
	s.running.Lock()
	defer s.running.Unlock()
	if err := s.acknowledgeCompleted(ctx); err != nil {
		return Stats{}, fmt.Errorf("read completed tasks: %w", err)
	}
	t := tenant.Resolve(nil, nil, nil)
	if s.TenantFunc != nil {
		var err error
		if t, err = s.TenantFunc(ctx); err != nil {
			return Stats{}, err
		}
	}
	st := &stage{store: s.Store, logger: s.Logger, dryRun: s.DryRun, budget: s.Budget, system: cxaudit.SourceSalesforce,
		name: string(cxaudit.SourceSalesforce), observeFunc: s.ObserveFunc, heldFunc: s.HeldFunc}
	return st.run(ctx, salesforceTarget{s: s, tenant: t})
}

// acknowledgeCompleted marks open findings whose Task the owner completed
// as acknowledged. Only Tasks changed since the last look are read.
func (s *Salesforce) acknowledgeCompleted(ctx context.Context) error {
	const object = "task_acknowledgements"
	cur, err := s.Store.GetCursor(ctx, cxaudit.SourceSalesforce, object)
	if err != nil {
		return err
	}
	since, err := cur.Since(store.CursorOverlap)
	if err != nil {
		return fmt.Errorf("stored %s %w", object, err)
	}
	started := time.Now()
	tasks, err := s.Client.ClosedTasks(ctx, taskSubjectPrefixes, since)
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
			f.Acknowledge(now)
			f.WrittenStatus = cxaudit.FindingAcknowledged // the owner did it in Salesforce: nothing to write
			if err := s.Store.PutFinding(ctx, f); err != nil {
				return err
			}
			s.Logger.Info("finding acknowledged: its task was completed", "fingerprint", f.Fingerprint, "rule_id", f.RuleID, "account_id", t.WhatID)
		}
	}
	return s.Store.PutCursor(ctx, cxaudit.SourceSalesforce, object, store.Cursor{Value: started.UTC().Format(time.RFC3339Nano), CompletedAt: started})
}

// salesforceTarget writes each account finding as one Task: created while
// the finding is open and has none, updated (completed, reopened, new
// content) once it has one. Creates and updates go in separate batches.
type salesforceTarget struct {
	s      *Salesforce
	tenant *tenant.Tenant
}

func (salesforceTarget) kind() cxaudit.EntityKind { return cxaudit.EntityAccount }
func (salesforceTarget) budgetKinds() []string {
	return []string{store.WriteSalesforceTask, store.WriteSalesforceTaskUpdate}
}
func (salesforceTarget) batchSize() int { return BatchSize }

func (salesforceTarget) describe(w write) []any {
	task := w.body.(cxaudit.Task)
	if task.ID != "" {
		return []any{"update_task_id", task.ID, "status", task.Status, "subject", task.Subject}
	}
	return []any{"create_task_on", task.WhatID, "subject", task.Subject}
}

// plan decides the Task writes of one account's dirty findings, from the
// store alone.
func (t salesforceTarget) plan(ctx context.Context, accountID string) ([]write, error) {
	findings, err := t.s.Store.FindingsForEntity(ctx, cxaudit.EntityAccount, accountID)
	if err != nil {
		return nil, err
	}
	var ws []write
	var acc *cxaudit.Account
	accountGone := false
	for _, f := range findings {
		if !f.Dirty() {
			continue
		}
		w := write{entityID: accountID, logTarget: "salesforce:task:" + f.Fingerprint, marks: []store.WrittenMark{store.MarkOf(f)}}
		if w.rec, err = t.s.Store.GetWriteLog(ctx, w.logTarget); err != nil {
			return nil, err
		}
		if f.Actions.SalesforceTask == nil {
			// Nothing to write in Salesforce: recorded as written.
			ws = append(ws, w)
			continue
		}
		if acc == nil && !accountGone {
			a, err := t.s.Store.Account(ctx, accountID)
			switch {
			case cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND:
				// The account was deleted in Salesforce, and its Tasks with
				// it: there is nothing left to write.
				accountGone = true
			case err != nil:
				return nil, err
			default:
				acc = &a
			}
		}
		if accountGone {
			ws = append(ws, w)
			continue
		}
		task := t.s.task(f, acc, t.tenant)
		switch {
		case w.rec.RemoteID != "":
			// Updates set absolute values: sending one twice is harmless,
			// so it needs no marker and no pending record.
			task.ID = w.rec.RemoteID
			w.body = task
		case f.Status == cxaudit.FindingOpen:
			w.marker = TaskMarker(f.Fingerprint)
			w.body = task
		}
		// Resolved before its Task was ever created: nothing to close.
		ws = append(ws, w)
	}
	return ws, nil
}

// find looks up Tasks to create by their marker on the account: one
// created by a write whose answer was lost, or by another store.
func (t salesforceTarget) find(ctx context.Context, ws []write) (map[string]found, error) {
	var refs []salesforce.TaskRef
	byMarker := map[salesforce.TaskRef]write{}
	for _, w := range ws {
		if w.marker == "" || w.rec.RemoteID != "" {
			continue
		}
		ref := salesforce.TaskRef{WhatID: w.entityID, SubjectPrefix: w.marker}
		refs = append(refs, ref)
		byMarker[ref] = w
	}
	if len(refs) == 0 {
		return nil, nil
	}
	tasks, err := t.s.Client.FindTasks(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := map[string]found{}
	for _, task := range tasks {
		fp := fingerprintIn(task.Subject)
		w, ok := byMarker[salesforce.TaskRef{WhatID: task.WhatID, SubjectPrefix: TaskMarker(fp)}]
		if !ok || fp == "" {
			continue
		}
		marks := w.marks // another store's Task for the finding as it is
		if w.rec.State == store.WritePending {
			if marks, err = pendingMarks(w.rec); err != nil {
				return nil, err
			}
		}
		out[w.logTarget] = found{remoteID: task.ID, marks: marks}
	}
	return out, nil
}

// apply writes one batch, all creates or all updates (see group).
func (t salesforceTarget) apply(ctx context.Context, ws []write) ([]result, error) {
	tasks := make([]cxaudit.Task, len(ws))
	for i, w := range ws {
		tasks[i] = w.body.(cxaudit.Task)
	}
	write, kind := t.s.Client.CreateTasks, store.WriteSalesforceTask
	if tasks[0].ID != "" {
		write, kind = t.s.Client.UpdateTasks, store.WriteSalesforceTaskUpdate
	}
	results, err := write(ctx, tasks)
	if err != nil {
		return nil, fmt.Errorf("write %d tasks: %w", len(tasks), err)
	}
	out := make([]result, len(results))
	for i, r := range results {
		if r.Err != nil {
			out[i] = result{outcome: failed, err: fmt.Errorf("task for finding %s: %w", ws[i].marks[0].Fingerprint, r.Err)}
			continue
		}
		out[i] = result{outcome: written, remoteID: r.ID, events: []string{kind}}
	}
	return out, nil
}

// group keeps creates and updates in batches of their own.
func (salesforceTarget) group(w write) string {
	if w.body.(cxaudit.Task).ID != "" {
		return "update"
	}
	return "create"
}

// task is the Task of a finding on acc, in the org's own Task statuses
// and priorities (tn).
func (s *Salesforce) task(f cxaudit.Finding, acc *cxaudit.Account, tn *tenant.Tenant) cxaudit.Task {
	ta := f.Actions.SalesforceTask
	open, completed := tn.TaskStatuses()
	t := cxaudit.Task{
		WhatID:   acc.ID,
		Subject:  truncateRunes(TaskMarker(f.Fingerprint)+" "+withoutBidi(f.Title), MaxSubject),
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
	if t.OwnerID == "" {
		s.noOwner(acc)
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
