package audit

import (
	"context"
	"slices"
	"time"

	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

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
		last := b.last
		next = a.prefetch(ctx, &last, size, b.keys)
		if len(b.keys) == 0 {
			continue
		}
		err := a.auditBatch(ctx, b, stats, func(ctx context.Context, tx Tx) error {
			return tx.DoneAudit(ctx, b.entries)
		})
		if err != nil {
			return err
		}
	}
}

// batch is a batch of queue entries with what their rules read.
type batch struct {
	read int // entries read, before skipping any
	// from is the queue entry the batch was read after (nil: the head of
	// the queue), last the last one it read, and entries those it audits,
	// which DoneAudit removes. A sweep's batch has none of them.
	from    *store.QueueEntry
	last    store.QueueEntry
	entries []store.QueueEntry
	cursor  store.EntityKey // a sweep's batch: the last entity read
	keys    []store.EntityKey
	set     *rules.Set // every rule
	fit     fit        // the rules that run, and those set aside
	loader  *loader
	now     time.Time
	ins     []rules.Input
	found   []bool
	err     error
}

// prefetch reads, in the background, the batch after from (or at the head of
// the queue) without the entities of skip, and what their rules read.
func (a *Auditor) prefetch(ctx context.Context, from *store.QueueEntry, size int, skip []store.EntityKey) <-chan batch {
	out := make(chan batch, 1)
	go func() {
		b := batch{from: from}
		defer func() { out <- b }()
		var entries []store.QueueEntry
		if from == nil {
			entries, b.err = a.Store.NextAuditBatch(ctx, size)
		} else {
			entries, b.err = a.Store.NextAuditBatchAfter(ctx, *from, size)
		}
		if b.err != nil || len(entries) == 0 {
			return
		}
		b.read, b.last = len(entries), entries[len(entries)-1]
		if len(skip) > 0 {
			skipped := make(map[store.EntityKey]bool, len(skip))
			for _, k := range skip {
				skipped[k] = true
			}
			entries = slices.DeleteFunc(entries, func(e store.QueueEntry) bool { return skipped[e.Key] })
		}
		if len(entries) == 0 {
			return
		}
		keys := make([]store.EntityKey, len(entries))
		for i, e := range entries {
			keys[i] = e.Key
		}
		b.entries, b.keys, b.set, b.now = entries, keys, a.RulesFunc(), a.now().UTC()
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
