// Package audit turns synced records into findings. It drains the store's
// audit queue, evaluates the rules that apply to each entity and reconciles
// the result with the entity's findings: new matches open findings, changed
// messages or severities update them, cleared conditions resolve them, and
// returning conditions reopen them. Findings that need writing back and the
// jobs that write them commit in one transaction.
//
// The files, by concern:
//
//   - audit.go: the run loop (Run) and one batch's audit (auditBatch).
//   - batch.go: draining the queue in batches, each read ahead while the
//     one before it is audited (prefetch).
//   - sweep.go: the sweep over every open entity, and its cache of
//     organizations with their linked accounts.
//   - windows.go: the ticket windows (`tickets`) of organizations and
//     accounts, read by a few goroutines ahead of the audit.
//   - input.go: what the rules read (Reader, the loader, prepareTicket),
//     as the audit and `rules preview` read it.
//   - lifecycle.go: the finding lifecycle as one pure function
//     (reconcile), its table test beside it.
//   - fit.go: which rules can run now (Availability).
package audit

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Store is what the audit reads and writes: what the rules read
// (CursorReader), the audit queue and the sweep, and the stored findings;
// it writes a batch's outcome in one transaction, through Tx only.
// store.Store satisfies it.
type Store interface {
	CursorReader
	NextAuditBatch(ctx context.Context, limit int) ([]store.QueueEntry, error)
	NextAuditBatchAfter(ctx context.Context, after store.QueueEntry, limit int) ([]store.QueueEntry, error)
	GetSweep(ctx context.Context) (store.Sweep, error)
	FinishSweep(ctx context.Context) error
	OpenTicketsAfter(ctx context.Context, afterID int64, limit int) ([]cxaudit.Ticket, error)
	SweepKeysAfter(ctx context.Context, kind cxaudit.EntityKind, afterID string, limit int) ([]store.EntityKey, error)
	FindingsForEntities(ctx context.Context, kind cxaudit.EntityKind, ids []string) (map[string][]cxaudit.Finding, error)
	InTx(ctx context.Context, fn func(ctx context.Context, q store.Querier) error) error
}

// Tx is what the audit writes in the transaction of a batch: its
// findings, and that its entries are done (the queue's, or the sweep's
// position).
type Tx interface {
	PutFindings(ctx context.Context, fs []cxaudit.Finding) error
	DoneAudit(ctx context.Context, entries []store.QueueEntry) error
	SaveSweepPosition(ctx context.Context, pos store.EntityKey) error
}

var (
	_ Store = store.Store(nil)
	_ Tx    = store.Querier(nil)
)

// Auditor evaluates rules over queued entities.
type Auditor struct {
	Store  Store
	Logger *slog.Logger
	// RulesFunc returns the current rule set; it may change between calls
	// (hot reload).
	RulesFunc func() *rules.Set
	// NowFunc is the clock rules see as `now`. Default time.Now.
	NowFunc func() time.Time
	// BatchSize is how many queued entities one transaction covers. Default 1000.
	BatchSize int
	// OnDirty, when set, is told in the transaction that stores a batch's
	// findings which kinds of entity now have findings to write back (the
	// worker queues its write-back jobs there: jobs.Services.OnDirty), so
	// that no finding is stored without its write-back being queued.
	OnDirty func(ctx context.Context, q store.Querier, kinds map[cxaudit.EntityKind]bool) error
	// SnoozeFor is how long the snooze tag silences a ticket's findings.
	// Default cxaudit.DefaultSnooze.
	SnoozeFor time.Duration
	// ObserveFunc, when set, is told of every finding change.
	ObserveFunc func(f cxaudit.Finding, change Change)
	// Sources are the systems synced, each with the cursor objects whose
	// first full pass makes its data whole (syncer.ReadyObjects). Rules
	// that read one wait for it; nil waits for nothing.
	Sources map[cxaudit.Source][]string
	// DisabledFunc, when set, is told at every batch which rules are set
	// aside (see Availability).
	DisabledFunc func(map[string]rules.Disabled)
	// Observe (CXAUDIT_MODE=observe) records every rule's findings in
	// mode observe, whatever the rule says: nothing of them is written
	// back. Back in enforce, the enforced rules' findings change mode and
	// are written then.
	Observe bool

	gate gate
}

// Stats counts what an audit run did.
type Stats struct {
	Entities   int
	Changes    map[Change]int
	EvalErrors int
}

func (a *Auditor) now() time.Time {
	if a.NowFunc != nil {
		return a.NowFunc()
	}
	return time.Now()
}

// Run audits what is due: it drains the audit queue and, when a sweep was
// requested (Store.RequestSweep), sweeps every open ticket, organization
// and account; it returns once neither has anything left.
//
// The queue is drained in batches: it reads the next batch (the queue
// entries after the last one read, and the records their rules read) while
// it evaluates and stores the last; when that pass reaches the end of the
// queue it starts again from its head, and stops once the queue is empty.
// The findings of a batch are read only after the batch before it
// committed, and an entity of the batch before, queued again meanwhile, is
// left for a later batch, so every batch sees its entities' findings as
// they are.
//
// The sweep walks the tables in key order, a batch at a time, with the same
// overlap, and stores how far it got with each batch's findings, so a sweep
// interrupted by a crash resumes where it stopped. Entities changed while it
// runs are queued by the sync and audited again after it.
func (a *Auditor) Run(ctx context.Context) (Stats, error) {
	stats := Stats{Changes: map[Change]int{}}
	size := a.BatchSize
	if size <= 0 {
		size = 1000
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for {
		if err := a.drain(ctx, size, &stats); err != nil {
			return stats, err
		}
		sw, err := a.Store.GetSweep(ctx)
		if err != nil || !sw.Due {
			return stats, err
		}
		if err := a.sweep(ctx, sw.Position, size, &stats); err != nil {
			return stats, err
		}
	}
}

// auditBatch evaluates the rules of a batch and stores what changed, with
// done (what marks the batch audited) in the same transaction.
func (a *Auditor) auditBatch(ctx context.Context, b batch, stats *Stats, done func(ctx context.Context, tx Tx) error) error {
	keys, set, now, ins, found := b.keys, b.fit.set, b.now, b.ins, b.found
	existing, err := findingsFor(ctx, a.Store, keys)
	if err != nil {
		return err
	}
	results := make([]entityResult, len(keys))
	evaluate := func(i int) {
		key := keys[i]
		var matches []rules.Match
		var failed map[string]bool
		if found[i] {
			var errs []error
			matches, errs = set.Evaluate(key.Kind, ins[i])
			for _, e := range errs {
				stats.EvalErrors++
				a.Logger.Warn("rule evaluation failed", "entity_kind", key.Kind, "entity_id", key.ID, "error", e)
				var ee *rules.EvalError
				if errors.As(e, &ee) && ee.Field == "when" {
					if failed == nil {
						failed = map[string]bool{}
					}
					failed[ee.RuleID] = true
				}
			}
		}
		// A rule set aside, or one that failed on this record, says nothing
		// of its finding here: it is kept as it is.
		keep := func(ruleID string) bool {
			_, aside := b.fit.disabled[ruleID]
			return aside || failed[ruleID]
		}
		results[i] = reconcile(key, matches, existing[key], a.signals(ins[i]), now, keep)
	}
	// Organizations and accounts read their customer's ticket window: it is
	// read once for the organization and its account, one customer at a
	// time, and dropped once they are evaluated.
	byOrg := map[int64][]int{}
	var orgs []int64
	for i, key := range keys {
		if org, ok := windowOrg(set, key, ins[i], found[i]); ok {
			if byOrg[org] == nil {
				orgs = append(orgs, org)
			}
			byOrg[org] = append(byOrg[org], i)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	windows := a.windows(wctx, orgs, now.Add(-rules.TicketWindow), windowComments(set), b.loader)
	for i, key := range keys {
		if _, ok := windowOrg(set, key, ins[i], found[i]); !ok {
			evaluate(i)
		}
	}
	for w := range windows {
		if w.err != nil {
			return w.err
		}
		for _, i := range byOrg[w.org] {
			ins[i].Tickets = w.tickets
			evaluate(i)
			ins[i].Tickets = nil
		}
	}

	dirtyKinds := map[cxaudit.EntityKind]bool{}
	var changed []cxaudit.Finding
	for _, r := range results {
		for _, f := range r.findings {
			changed = append(changed, f)
			if f.Dirty() {
				dirtyKinds[f.EntityKind] = true
			}
		}
	}
	err = a.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		var tx Tx = q
		if err := tx.PutFindings(ctx, changed); err != nil {
			return err
		}
		if err := done(ctx, tx); err != nil {
			return err
		}
		// The hook is the worker's: it queues jobs with the whole store.
		if len(dirtyKinds) > 0 && a.OnDirty != nil {
			return a.OnDirty(ctx, q, dirtyKinds)
		}
		return nil
	})
	if err != nil {
		return err
	}
	stats.Entities += len(keys)
	for _, r := range results {
		for i, c := range r.changes {
			if c == changeNone {
				continue
			}
			stats.Changes[c]++
			if a.ObserveFunc != nil {
				a.ObserveFunc(r.findings[i], c)
			}
		}
	}
	return nil
}

// signals reads acknowledgements from the ticket's tags.
func (a *Auditor) signals(in rules.Input) signals {
	sig := signals{observe: a.Observe}
	if in.Ticket == nil {
		return sig
	}
	// in.Ticket.Tags has cxaudit's managed tags removed; the ack and snooze
	// tags are the agents', and stay visible.
	sig.ack = in.Ticket.HasTag(cxaudit.AckTag)
	sig.closed = in.Ticket.Status == cxaudit.StatusClosed
	if in.Ticket.HasTag(cxaudit.SnoozeTag) {
		sig.snoozeFor = a.SnoozeFor
		if sig.snoozeFor <= 0 {
			sig.snoozeFor = cxaudit.DefaultSnooze
		}
	}
	return sig
}

// findingsFor returns the stored findings of each key's entity.
func findingsFor(ctx context.Context, q Store, keys []store.EntityKey) (map[store.EntityKey][]cxaudit.Finding, error) {
	ids := map[cxaudit.EntityKind][]string{}
	for _, k := range keys {
		ids[k.Kind] = append(ids[k.Kind], k.ID)
	}
	out := make(map[store.EntityKey][]cxaudit.Finding, len(keys))
	for kind, list := range ids {
		fs, err := q.FindingsForEntities(ctx, kind, list)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if k.Kind == kind {
				out[k] = fs[k.ID]
			}
		}
	}
	return out, nil
}
