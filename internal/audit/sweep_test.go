package audit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
)

// testSweep checks that a sweep finds what auditing every entity through
// the queue finds, that it resumes where a crash stopped it without
// auditing anything twice, that a second sweep changes nothing, and that a
// change queued while it runs is audited after it.
func testSweep(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	now := time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)
	w := simworld.Generate(simworld.Options{Seed: 11, Accounts: 20, Tickets: 300, Now: now})
	set, err := rules.LoadDir("../../rules")
	require.NoError(t, err)
	auditor := func(s store.Store) *audit.Auditor {
		return &audit.Auditor{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RulesFunc: func() *rules.Set { return set },
			NowFunc: func() time.Time { return now }, BatchSize: 7}
	}
	queued, swept := newStore(t), newStore(t)
	seed(t, queued, w)
	seed(t, swept, w)
	keys, err := queued.SweepKeys(ctx)
	require.NoError(t, err)
	queueAll(t, queued)
	want, err := auditor(queued).Run(ctx)
	require.NoError(t, err)
	require.NotZero(t, want.Changes[audit.ChangeOpened])

	// Nothing is due until a sweep is asked for.
	stats, err := auditor(swept).Run(ctx)
	require.NoError(t, err)
	require.Zero(t, stats.Entities)

	// A sweep killed after a few batches resumes after the last batch it
	// stored: no entity is audited twice, none is missed.
	require.NoError(t, swept.RequestSweep(ctx))
	crash := &crashingStore{Store: swept, after: 5}
	first, err := auditor(crash).Run(ctx)
	require.ErrorIs(t, err, errCrash)
	require.Equal(t, 5*7, first.Entities, "five batches of seven were stored")
	sw, err := swept.GetSweep(ctx)
	require.NoError(t, err)
	require.True(t, sw.Due)
	require.Equal(t, cxaudit.EntityTicket, sw.Position.Kind)
	require.NoError(t, swept.RequestSweep(ctx), "a request while a sweep is under way joins it")
	rest, err := auditor(swept).Run(ctx)
	require.NoError(t, err)
	require.Equal(t, len(keys), first.Entities+rest.Entities)
	for c, n := range rest.Changes {
		first.Changes[c] += n
	}
	require.Equal(t, want.Changes, first.Changes)
	wantFindings, err := queued.ListFindings(ctx, store.FindingFilter{})
	require.NoError(t, err)
	got, err := swept.ListFindings(ctx, store.FindingFilter{})
	require.NoError(t, err)
	require.Equal(t, wantFindings, got)
	sw, err = swept.GetSweep(ctx)
	require.NoError(t, err)
	require.Equal(t, store.Sweep{}, sw, "the sweep finished")

	// The next sweep changes nothing.
	require.NoError(t, swept.RequestSweep(ctx))
	stats, err = auditor(swept).Run(ctx)
	require.NoError(t, err)
	require.Empty(t, stats.Changes)
	require.Equal(t, len(keys), stats.Entities)

	// A ticket solved while the sweep runs, after the sweep passed it, is
	// queued by the sync and audited after the sweep: its findings resolve.
	var target cxaudit.Ticket
	for _, f := range got {
		if f.EntityKind == cxaudit.EntityTicket && f.Status == cxaudit.FindingOpen {
			target, err = swept.Ticket(ctx, mustID(t, f.EntityID))
			require.NoError(t, err)
			break
		}
	}
	require.NotZero(t, target.ID)
	targetID := strconv.FormatInt(target.ID, 10)
	solver := &solveAfterStore{Store: swept, target: target.ID, solve: func() {
		solved := target
		solved.Status, solved.UpdatedAt = cxaudit.StatusSolved, now
		require.NoError(t, swept.UpsertTickets(ctx, []cxaudit.Ticket{solved}))
		require.NoError(t, swept.QueueAudit(ctx, []store.EntityKey{{Kind: cxaudit.EntityTicket, ID: targetID}}))
	}}
	require.NoError(t, swept.RequestSweep(ctx))
	stats, err = auditor(solver).Run(ctx)
	require.NoError(t, err)
	require.True(t, solver.done, "the ticket was solved after the sweep read past it")
	require.NotZero(t, stats.Changes[audit.ChangeResolved])
	fs, err := swept.FindingsForEntity(ctx, cxaudit.EntityTicket, targetID)
	require.NoError(t, err)
	for _, f := range fs {
		require.Equal(t, cxaudit.FindingResolved, f.Status, f.RuleID)
	}
}

var errCrash = errors.New("crash")

// crashingStore fails the transaction of the sweep batch after the first
// `after`, as a killed worker would leave it.
type crashingStore struct {
	store.Store
	after int
	mu    sync.Mutex
	saved int
}

func (s *crashingStore) InTx(ctx context.Context, fn func(ctx context.Context, q store.Querier) error) error {
	return s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		return fn(ctx, &crashingQuerier{Querier: q, s: s})
	})
}

type crashingQuerier struct {
	store.Querier
	s *crashingStore
}

func (q *crashingQuerier) SaveSweepPosition(ctx context.Context, pos store.EntityKey) error {
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	if q.s.saved == q.s.after {
		return errCrash
	}
	q.s.saved++
	return q.Querier.SaveSweepPosition(ctx, pos)
}

// solveAfterStore calls solve once the sweep has read tickets past target.
type solveAfterStore struct {
	store.Store
	target int64
	solve  func()
	mu     sync.Mutex
	done   bool
}

func (s *solveAfterStore) OpenTicketsAfter(ctx context.Context, afterID int64, limit int) ([]cxaudit.Ticket, error) {
	s.mu.Lock()
	if afterID > s.target && !s.done {
		s.done = true
		s.solve()
	}
	s.mu.Unlock()
	return s.Store.OpenTicketsAfter(ctx, afterID, limit)
}
