package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

// This file is the write-back protocol, shared by every target: dirty
// paging, the hourly budget, dry run, the held gauge, and the write log
// (pending → done) with reconcile-before-write and adoption. A target
// (Zendesk ticket, Salesforce Task) supplies only plan, find and apply.

// write is one remote write a target planned.
type write struct {
	entityID string
	// logTarget keys the write log ("zendesk:ticket:123",
	// "salesforce:task:<fp>"); rec is its record as the plan found it.
	logTarget string
	rec       store.WriteRecord
	// marker travels in the remote record; "" for a write that is
	// harmless to send twice (it needs no pending record).
	marker string
	// marks are what the write carries of each finding.
	marks []store.WrittenMark
	// body is the target's own description of the write; nil when
	// nothing visible changes, and the marks are recorded as they are.
	body any
}

// outcome is what became of a write that was sent.
type outcome int

const (
	// failed: not known to be applied; the findings stay dirty and the
	// pending record is reconciled before the next attempt.
	failed outcome = iota
	// written: applied.
	written
	// gone: the remote record no longer exists; there is nowhere to
	// write, and the findings are recorded as written.
	gone
	// refused: the remote record takes no writes ever again (a closed
	// ticket); the findings are recorded as not writable.
	refused
)

// result is the answer to one write.
type result struct {
	outcome  outcome
	remoteID string
	// events are the write-event kinds a written write counts as.
	events []string
	// err explains a failure, or something amiss with a write made.
	err error
}

// found is a write that exists remotely already: its record, and what it
// shows of each finding.
type found struct {
	remoteID string
	marks    []store.WrittenMark
}

// target is one remote system's side of write-back.
type target interface {
	// kind is the entity kind whose dirty findings the target writes.
	kind() cxaudit.EntityKind
	// budgetKinds are the write-event kinds the hourly budget counts.
	budgetKinds() []string
	// batchSize is how many writes apply takes at once.
	batchSize() int
	// plan decides the writes of one entity's dirty findings from what
	// the store holds; it calls no remote system.
	plan(ctx context.Context, entityID string) ([]write, error)
	// find looks remotely, by marker, for writes that may exist already:
	// pending ones (their answer was lost) and, where the target can,
	// ones no record of this store knows (another store made them). It
	// returns what it found by log target.
	find(ctx context.Context, ws []write) (map[string]found, error)
	// apply sends writes, and returns one result per write, in order. An
	// error is for the writes from the first result missing on.
	apply(ctx context.Context, ws []write) ([]result, error)
	// describe gives the log attributes of a dry-run write.
	describe(w write) []any
}

// Store is what write-back reads and writes: the findings to write and
// the entities they are about, the write log, the writes of the last
// hour (the budget), and the cursor of completed Tasks; what a write
// changes commits in one transaction, through Tx only. store.Store
// satisfies it.
type Store interface {
	DirtyEntities(ctx context.Context, kind cxaudit.EntityKind, afterID string, limit int) ([]string, error)
	FindingsForEntity(ctx context.Context, kind cxaudit.EntityKind, id string) ([]cxaudit.Finding, error)
	ListFindings(ctx context.Context, filter store.FindingFilter) ([]cxaudit.Finding, error)
	PutFinding(ctx context.Context, f cxaudit.Finding) error
	MarkWritten(ctx context.Context, marks []store.WrittenMark) error
	Ticket(ctx context.Context, id int64) (cxaudit.Ticket, error)
	Account(ctx context.Context, id string) (cxaudit.Account, error)
	GetWriteLog(ctx context.Context, target string) (store.WriteRecord, error)
	CountWrites(ctx context.Context, since time.Time) (map[string]int, error)
	GetCursor(ctx context.Context, source cxaudit.Source, object string) (store.Cursor, error)
	PutCursor(ctx context.Context, source cxaudit.Source, object string, c store.Cursor) error
	InTx(ctx context.Context, fn func(ctx context.Context, q store.Querier) error) error
}

// Tx is what write-back writes in a transaction: the write log, and with
// a write's outcome, what it wrote of each finding and that it counted.
type Tx interface {
	PutWriteLog(ctx context.Context, r store.WriteRecord) error
	MarkWritten(ctx context.Context, marks []store.WrittenMark) error
	RecordWrite(ctx context.Context, e store.WriteEvent) error
}

var (
	_ Store = store.Store(nil)
	_ Tx    = store.Querier(nil)
)

// inTx runs fn in a transaction of st, with only what write-back writes.
func inTx(ctx context.Context, st Store, fn func(ctx context.Context, tx Tx) error) error {
	return st.InTx(ctx, func(ctx context.Context, q store.Querier) error { return fn(ctx, q) })
}

// stage runs the protocol for one target.
type stage struct {
	store       Store
	logger      *slog.Logger
	dryRun      bool
	budget      int
	system      cxaudit.Source
	name        string // string(system), for logs
	observeFunc func(kind string)
	heldFunc    func(n int)
}

// record is a write log record's payload: what the write carried.
type record struct {
	Marks []store.WrittenMark `json:"marks"`
}

func (s *stage) run(ctx context.Context, t target) (Stats, error) {
	var stats Stats
	var errs []error
	b, err := newBudget(ctx, s.store, s.budget, t.budgetKinds()...)
	if err != nil {
		return stats, err
	}
	replanned := map[string]bool{}
	queue := &queues{t: t}
	// flush sends what the queues hold (all of it with force, else whole
	// batches) and re-plans the entities whose writes were found remote.
	flush := func(force bool) error {
		for {
			batch := queue.next(force)
			if batch == nil {
				return nil
			}
			again, err := s.send(ctx, t, batch, b, &stats, &errs)
			if err != nil {
				return err
			}
			for _, id := range again {
				if replanned[id] {
					continue
				}
				replanned[id] = true
				if err := s.plan(ctx, t, id, queue, &stats, &errs); err != nil {
					return err
				}
			}
		}
	}
	after := ""
	for {
		ids, err := s.store.DirtyEntities(ctx, t.kind(), after, 100)
		if err != nil {
			return stats, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			if err := s.plan(ctx, t, id, queue, &stats, &errs); err != nil {
				return stats, err
			}
			if err := flush(false); err != nil {
				return stats, err
			}
		}
		after = ids[len(ids)-1]
	}
	if err := flush(true); err != nil {
		return stats, err
	}
	if s.heldFunc != nil {
		s.heldFunc(stats.Held)
	}
	if stats.Held > 0 {
		s.logger.Warn(s.name+" write budget spent; holding the rest until it allows", "budget_per_hour", s.budget, "held", stats.Held)
	}
	return stats, errors.Join(errs...)
}

// plan queues the writes of one entity; those that change nothing visible
// are recorded at once. A failure to plan one entity is counted and the
// others go on.
func (s *stage) plan(ctx context.Context, t target, id string, queue *queues, stats *Stats, errs *[]error) error {
	ws, err := t.plan(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		stats.Failed++
		*errs = append(*errs, fmt.Errorf("%s %s: %w", t.kind(), id, err))
		return nil
	}
	for _, w := range ws {
		if w.body == nil {
			if err := s.store.MarkWritten(ctx, w.marks); err != nil {
				return err
			}
			continue
		}
		queue.add(w)
	}
	return nil
}

// grouper is a target whose batches hold one kind of write each
// (Salesforce: creates, updates).
type grouper interface {
	group(w write) string
}

// queues hold the writes planned and not sent yet, by group. A write
// planned again (its entity re-planned after an adoption) replaces the
// one queued for its log target.
type queues struct {
	t      target
	order  []string
	groups map[string][]write
}

func (q *queues) add(w write) {
	for g, ws := range q.groups {
		q.groups[g] = slices.DeleteFunc(ws, func(o write) bool { return o.logTarget == w.logTarget })
	}
	g := ""
	if gr, ok := q.t.(grouper); ok {
		g = gr.group(w)
	}
	if q.groups == nil {
		q.groups = map[string][]write{}
	}
	if _, ok := q.groups[g]; !ok {
		q.order = append(q.order, g)
	}
	q.groups[g] = append(q.groups[g], w)
}

// next takes a whole batch from a group, or with force whatever a group
// holds; nil when there is none.
func (q *queues) next(force bool) []write {
	size := q.t.batchSize()
	for _, g := range q.order {
		ws := q.groups[g]
		if len(ws) >= size || force && len(ws) > 0 {
			n := min(len(ws), size)
			q.groups[g] = ws[n:]
			return ws[:n:n]
		}
	}
	return nil
}

// send writes one batch: within the budget, reconciled first, journalled,
// applied, committed. It returns the entities to plan again because some
// of their writes were found already made.
func (s *stage) send(ctx context.Context, t target, batch []write, b *budget, stats *Stats, errs *[]error) ([]string, error) {
	if r := b.remaining(); r >= 0 && len(batch) > r {
		stats.Held += len(batch) - r
		batch = batch[:r]
	}
	if len(batch) == 0 {
		return nil, nil
	}
	if s.dryRun {
		for _, w := range batch {
			s.logger.Info("dry run: would write to "+s.name, append([]any{"entity_id", w.entityID, "findings", len(w.marks)}, t.describe(w)...)...)
		}
		return nil, nil
	}

	// Reconcile before writing: a pending write may have been applied,
	// and a write this store has no record of may have been made by
	// another.
	var look []write
	for _, w := range batch {
		if w.rec.State == store.WritePending || w.rec.State == "" && w.marker != "" {
			look = append(look, w)
		}
	}
	var again []string
	if len(look) > 0 {
		got, err := t.find(ctx, look)
		if err != nil {
			return nil, fmt.Errorf("reconcile %s writes: %w", s.name, err)
		}
		var todo []write
		for _, w := range batch {
			f, ok := got[w.logTarget]
			if !ok {
				todo = append(todo, w)
				continue
			}
			if err := s.commit(ctx, w, store.WriteRecord{Target: w.logTarget, State: store.WriteDone, Marker: w.marker, RemoteID: f.remoteID}, f.marks, nil); err != nil {
				return nil, err
			}
			stats.Reconciled++
			s.logger.Info("adopted a write found in "+s.name, "entity_id", w.entityID, "target", w.logTarget, "marker", w.marker)
			again = append(again, w.entityID)
		}
		batch = todo
	}
	if len(batch) == 0 {
		return again, nil
	}

	// Record intent before the call: if the worker dies mid-call, the
	// next attempt looks for these markers first.
	if err := inTx(ctx, s.store, func(ctx context.Context, tx Tx) error {
		for _, w := range batch {
			if w.marker == "" {
				continue
			}
			payload, err := json.Marshal(record{Marks: w.marks})
			if err != nil {
				return fmt.Errorf("encode write log of %s: %w", w.logTarget, err)
			}
			if err := tx.PutWriteLog(ctx, store.WriteRecord{Target: w.logTarget, State: store.WritePending, Marker: w.marker, RemoteID: w.rec.RemoteID, Payload: payload}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	b.spend(len(batch))
	results, err := t.apply(ctx, batch)
	for i, r := range results {
		w := batch[i]
		marks := w.marks
		switch r.outcome {
		case failed:
			stats.Failed++
			*errs = append(*errs, fmt.Errorf("%s %s: %w", t.kind(), w.entityID, r.err))
			s.logger.Error(s.name+" write-back failed", "entity_id", w.entityID, "target", w.logTarget, "error", r.err)
			continue
		case gone:
			s.logger.Warn(s.name+" record not found; findings not written", "entity_id", w.entityID, "target", w.logTarget)
		case refused:
			// Final: the findings are never written again.
			marks = make([]store.WrittenMark, len(w.marks))
			for j, m := range w.marks {
				marks[j] = store.WrittenMark{Fingerprint: m.Fingerprint, Status: cxaudit.FindingNotWritable, Hash: m.Hash}
			}
			stats.NotWritable++
			s.logger.Info(s.name+" record takes no writes; findings recorded as not writable", "entity_id", w.entityID, "target", w.logTarget, "reason", r.err)
		}
		remoteID := r.remoteID
		if remoteID == "" {
			remoteID = w.rec.RemoteID
		}
		var events []string
		if r.outcome == written {
			events = r.events
		}
		if err := s.commit(ctx, w, store.WriteRecord{Target: w.logTarget, State: store.WriteDone, Marker: w.marker, RemoteID: remoteID}, marks, events); err != nil {
			return nil, err
		}
		for _, kind := range events {
			stats.count(kind)
			if s.observeFunc != nil {
				s.observeFunc(kind)
			}
		}
		if r.outcome == written && r.err != nil {
			*errs = append(*errs, fmt.Errorf("%s %s: %w", t.kind(), w.entityID, r.err))
			s.logger.Error(s.name+" write-back applied, but not as sent", "entity_id", w.entityID, "target", w.logTarget, "error", r.err)
		}
	}
	if err != nil {
		// The batch as a whole failed (network, 5xx, rate limit): its
		// writes may have been applied, and stay pending.
		stats.Failed += len(batch) - len(results)
		return again, err
	}
	return again, nil
}

// commit ends a write: its log record turns done, with what it carried,
// in the transaction that marks its findings written and records the
// remote writes it made.
func (s *stage) commit(ctx context.Context, w write, rec store.WriteRecord, marks []store.WrittenMark, events []string) error {
	payload, err := json.Marshal(record{Marks: marks})
	if err != nil {
		return fmt.Errorf("encode write log of %s: %w", rec.Target, err)
	}
	rec.Payload = payload
	system := s.system
	return inTx(ctx, s.store, func(ctx context.Context, tx Tx) error {
		if err := tx.PutWriteLog(ctx, rec); err != nil {
			return err
		}
		if err := tx.MarkWritten(ctx, marks); err != nil {
			return err
		}
		for _, kind := range events {
			if err := tx.RecordWrite(ctx, store.WriteEvent{System: system, Kind: kind, Target: rec.Target}); err != nil {
				return err
			}
		}
		return nil
	})
}

// pendingMarks decodes what a pending record's write carried. Task
// records written before the protocol was shared carry one "mark".
func pendingMarks(rec store.WriteRecord) ([]store.WrittenMark, error) {
	var r struct {
		record
		Mark *store.WrittenMark `json:"mark"`
	}
	if err := json.Unmarshal(rec.Payload, &r); err != nil {
		return nil, fmt.Errorf("decode write log of %s: %w", rec.Target, err)
	}
	if len(r.Marks) == 0 && r.Mark != nil {
		return []store.WrittenMark{*r.Mark}, nil
	}
	return r.Marks, nil
}
