// Package audit turns synced records into findings. It drains the store's
// audit queue, evaluates the rules that apply to each entity and reconciles
// the result with the entity's findings: new matches open findings, changed
// messages or severities update them, cleared conditions resolve them, and
// returning conditions reopen them. Findings that need writing back and the
// jobs that write them commit in one transaction.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Auditor evaluates rules over queued entities.
type Auditor struct {
	Store  store.Store
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

// drain audits the audit queue until it is empty.
func (a *Auditor) drain(ctx context.Context, size int, stats *Stats) error {
	next := a.prefetch(ctx, nil, size, nil)
	for {
		b := <-next
		if b.err != nil {
			return b.err
		}
		if b.read == 0 {
			if b.from == nil {
				return nil
			}
			// The end of this pass: start again from the head of the queue.
			next = a.prefetch(ctx, nil, size, nil)
			continue
		}
		cursor := b.cursor
		next = a.prefetch(ctx, &cursor, size, b.keys)
		if len(b.keys) == 0 {
			continue
		}
		err := a.auditBatch(ctx, b, stats, func(ctx context.Context, q store.Querier) error {
			return q.DoneAuditBatch(ctx, b.keys)
		})
		if err != nil {
			return err
		}
	}
}

// sweep audits every open ticket, organization and account after pos, in
// store.SweepOrder and key order, then marks the sweep finished.
func (a *Auditor) sweep(ctx context.Context, pos store.EntityKey, size int, stats *Stats) error {
	// Batches are read one after another, never two at once: they can
	// share the cache without a lock.
	cache := &links{}
	next := a.prefetchSweep(ctx, pos, size, cache)
	for {
		b := <-next
		if b.err != nil {
			return b.err
		}
		if b.read == 0 {
			return a.Store.FinishSweep(ctx)
		}
		next = a.prefetchSweep(ctx, b.cursor, size, cache)
		err := a.auditBatch(ctx, b, stats, func(ctx context.Context, q store.Querier) error {
			return q.SaveSweepPosition(ctx, b.cursor)
		})
		if err != nil {
			return err
		}
	}
}

// prefetchSweep reads, in the background, the sweep's next batch after pos
// (the zero key: from the start) and what its rules read. A batch holds one
// kind of entity; it reads nothing when the sweep is done.
func (a *Auditor) prefetchSweep(ctx context.Context, pos store.EntityKey, size int, cache *links) <-chan batch {
	out := make(chan batch, 1)
	go func() {
		b := batch{from: &pos}
		defer func() { out <- b }()
		kinds := store.SweepOrder
		if pos.Kind != "" {
			i := slices.Index(kinds, pos.Kind)
			if i < 0 {
				b.err = fmt.Errorf("audit sweep: unknown position %s %s", pos.Kind, pos.ID)
				return
			}
			kinds = kinds[i:]
		}
		b.set, b.now = a.RulesFunc(), a.now().UTC()
		l, err := a.loader(ctx, &b)
		if err != nil {
			b.err = err
			return
		}
		l.links = cache
		after := pos.ID
		for i, kind := range kinds {
			if i > 0 {
				after = ""
			}
			if kind == cxaudit.EntityTicket {
				var afterID int64
				if after != "" {
					if afterID, b.err = strconv.ParseInt(after, 10, 64); b.err != nil {
						return
					}
				}
				tickets, err := a.Store.OpenTicketsAfter(ctx, afterID, size)
				if err != nil {
					b.err = err
					return
				}
				if len(tickets) == 0 {
					continue
				}
				b.keys = make([]store.EntityKey, len(tickets))
				for j, t := range tickets {
					b.keys[j] = store.EntityKey{Kind: kind, ID: strconv.FormatInt(t.ID, 10)}
				}
				b.ins, b.found = make([]rules.Input, len(tickets)), make([]bool, len(tickets))
				b.err = l.tickets(ctx, b.keys, tickets, b.ins, b.found)
			} else {
				if b.keys, b.err = a.Store.SweepKeysAfter(ctx, kind, after, size); b.err != nil {
					return
				}
				if len(b.keys) == 0 {
					continue
				}
				b.ins, b.found, b.err = l.load(ctx, b.keys)
			}
			b.read, b.cursor = len(b.keys), b.keys[len(b.keys)-1]
			return
		}
	}()
	return out
}

// batch is a batch of queue entries with what their rules read.
type batch struct {
	from   *store.EntityKey // nil: read from the head of the queue
	read   int              // entries read, before skipping any
	cursor store.EntityKey  // the last entry read
	keys   []store.EntityKey
	set    *rules.Set // every rule
	fit    fit        // the rules that run, and those set aside
	loader *loader
	now    time.Time
	ins    []rules.Input
	found  []bool
	err    error
}

// prefetch reads, in the background, the batch after from (or at the head of
// the queue) without the entities of skip, and what their rules read.
func (a *Auditor) prefetch(ctx context.Context, from *store.EntityKey, size int, skip []store.EntityKey) <-chan batch {
	out := make(chan batch, 1)
	go func() {
		b := batch{from: from}
		defer func() { out <- b }()
		var keys []store.EntityKey
		if from == nil {
			keys, b.err = a.Store.NextAuditBatch(ctx, size)
		} else {
			keys, b.err = a.Store.NextAuditBatchAfter(ctx, *from, size)
		}
		if b.err != nil || len(keys) == 0 {
			return
		}
		b.read, b.cursor = len(keys), keys[len(keys)-1]
		if len(skip) > 0 {
			skipped := make(map[store.EntityKey]bool, len(skip))
			for _, k := range skip {
				skipped[store.EntityKey{Kind: k.Kind, ID: k.ID}] = true
			}
			keys = slices.DeleteFunc(keys, func(k store.EntityKey) bool { return skipped[store.EntityKey{Kind: k.Kind, ID: k.ID}] })
		}
		if len(keys) == 0 {
			return
		}
		b.keys, b.set, b.now = keys, a.RulesFunc(), a.now().UTC()
		l, err := a.loader(ctx, &b)
		if err != nil {
			b.err = err
			return
		}
		// Read and evaluate outside the write transaction: SQLite has a
		// single connection, and PostgreSQL holds locks for less time this way.
		b.ins, b.found, b.err = l.load(ctx, keys)
	}()
	return out
}

// loader judges which rules of b's set can run on this tenant now (and
// reports what changed), and returns the loader of b's inputs.
func (a *Auditor) loader(ctx context.Context, b *batch) (*loader, error) {
	disabled, t, err := Availability(ctx, a.Store, b.set, a.Sources)
	if err != nil {
		return nil, err
	}
	a.gate.report(a.Logger, disabled)
	if a.DisabledFunc != nil {
		a.DisabledFunc(disabled)
	}
	b.fit = fit{set: b.set.Except(disabled), disabled: disabled}
	l, err := newLoader(ctx, a.Store, b.set, b.now, t)
	if err != nil {
		return nil, err
	}
	b.loader = l
	return l, nil
}

// auditBatch evaluates the rules of a batch and stores what changed, with
// done (what marks the batch audited) in the same transaction.
func (a *Auditor) auditBatch(ctx context.Context, b batch, stats *Stats, done func(ctx context.Context, q store.Querier) error) error {
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
		if err := q.PutFindings(ctx, changed); err != nil {
			return err
		}
		if err := done(ctx, q); err != nil {
			return err
		}
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

// windowOrg returns the organization whose tickets of the last rules.TicketWindow
// the rules of an organization or account read (as `tickets`), and whether
// they read any: an account linked to no organization has none, and rules
// that never mention `tickets` need none.
func windowOrg(set *rules.Set, key store.EntityKey, in rules.Input, found bool) (int64, bool) {
	if !found || key.Kind == cxaudit.EntityTicket || in.Organization == nil {
		return 0, false
	}
	if reads, _ := set.TicketWindow(key.Kind); !reads {
		return 0, false
	}
	return in.Organization.ID, true
}

// windowComments reports whether any rule reads the comments of the
// tickets in a window; when none does they are not read.
func windowComments(set *rules.Set) bool {
	_, org := set.TicketWindow(cxaudit.EntityOrganization)
	_, acc := set.TicketWindow(cxaudit.EntityAccount)
	return org || acc
}

// window is an organization's tickets since the start of the window.
type window struct {
	org     int64
	tickets []cxaudit.Ticket
	err     error
}

// Ticket windows are read by windowReaders goroutines, at most windowsAhead
// of them ahead of the one being evaluated.
const (
	windowReaders = 2
	windowsAhead  = 4
)

// windows reads the ticket window of each of orgs in the background and
// hands them over in the order of orgs. It stops after an error, or when
// ctx is done.
func (a *Auditor) windows(ctx context.Context, orgs []int64, since time.Time, comments bool, l *loader) <-chan window {
	out := make(chan window, 1)
	results := make([]chan window, len(orgs))
	for i := range results {
		results[i] = make(chan window, 1)
	}
	// A reader takes a token before it takes an organization, so the
	// organization handed over next is always being read, never waiting.
	tokens := make(chan struct{}, windowsAhead)
	var next atomic.Int64
	for range windowReaders {
		go func() {
			for {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				i := int(next.Add(1)) - 1
				if i >= len(orgs) {
					return
				}
				ts, err := a.Store.TicketsForOrganizations(ctx, []int64{orgs[i]}, since, comments)
				w := ts[orgs[i]]
				for j := range w {
					prepareTicket(&w[j], l.agents, l.managed, l.tenant)
				}
				results[i] <- window{org: orgs[i], tickets: w, err: err}
			}
		}()
	}
	go func() {
		defer close(out)
		for i := range results {
			var w window
			select {
			case w = <-results[i]:
			case <-ctx.Done():
				return
			}
			<-tokens
			select {
			case out <- w:
			case <-ctx.Done():
				return
			}
			if w.err != nil {
				return
			}
		}
	}()
	return out
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

// links holds organizations with their linked accounts. A sweep keeps them
// while it runs, since every batch of tickets names much the same
// customers: an organization or account changed meanwhile is queued by
// the sync, and its tickets audited again once the sweep is done. Rules
// only read what they are handed, so one value serves every ticket.
type links struct {
	orgs map[int64]*link
}

type link struct {
	org cxaudit.Organization
	acc *cxaudit.Account // nil: linked to no account
}

// maxLinks bounds what a sweep keeps: a tenant with more organizations
// starts over when it is full.
const maxLinks = 20_000

func (c *links) get(org int64) *link { return c.orgs[org] }

func (c *links) put(l *link) {
	if c.orgs == nil || len(c.orgs) >= maxLinks {
		c.orgs = make(map[int64]*link)
	}
	c.orgs[l.org.ID] = l
}

// findingsFor returns the stored findings of each key's entity.
func findingsFor(ctx context.Context, q store.Querier, keys []store.EntityKey) (map[store.EntityKey][]cxaudit.Finding, error) {
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
