package audit_test

import (
	"context"
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
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// onBothStores runs test on PostgreSQL and on SQLite.
func onBothStores(t *testing.T, test func(t *testing.T, newStore func(t *testing.T) store.Store)) {
	t.Run("Postgres", func(t *testing.T) { test(t, func(t *testing.T) store.Store { return storetest.NewPostgres(t) }) })
	t.Run("SQLite", func(t *testing.T) { test(t, func(t *testing.T) store.Store { return storetest.NewSQLite(t) }) })
}

func TestRunBatches(t *testing.T) { onBothStores(t, testRunBatches) }

func TestSweep(t *testing.T) { onBothStores(t, testSweep) }

func seed(t *testing.T, s store.Store, w *simworld.World) {
	ctx := context.Background()
	require.NoError(t, s.UpsertOrganizations(ctx, w.Organizations))
	require.NoError(t, s.UpsertUsers(ctx, w.Users))
	var contacts []cxaudit.Contact
	var opps []cxaudit.Opportunity
	for _, a := range w.Accounts {
		contacts = append(contacts, a.Contacts...)
		opps = append(opps, a.Opportunities...)
	}
	require.NoError(t, s.UpsertAccounts(ctx, w.Accounts))
	require.NoError(t, s.UpsertContacts(ctx, contacts))
	require.NoError(t, s.UpsertOpportunities(ctx, opps))
	require.NoError(t, s.UpsertTickets(ctx, w.Tickets))
}

// testRunBatches checks that small, overlapped batches find what one batch
// finds, that a second sweep changes nothing, and that an entity queued
// again while the audit runs is audited again.
func testRunBatches(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	now := time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)
	w := simworld.Generate(simworld.Options{Seed: 7, Accounts: 20, Tickets: 300, Now: now})
	set, err := rules.LoadDir("../../rules")
	require.NoError(t, err)
	auditor := func(s store.Store, size int) *audit.Auditor {
		return &audit.Auditor{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RulesFunc: func() *rules.Set { return set },
			NowFunc: func() time.Time { return now }, BatchSize: size}
	}

	one, small := newStore(t), newStore(t)
	seed(t, one, w)
	seed(t, small, w)
	for _, s := range []store.Store{one, small} {
		queueAll(t, s)
	}
	wantStats, err := auditor(one, 100_000).Run(ctx)
	require.NoError(t, err)
	gotStats, err := auditor(small, 7).Run(ctx)
	require.NoError(t, err)
	require.NotZero(t, wantStats.Changes[audit.ChangeOpened])
	require.Equal(t, wantStats, gotStats)
	want, err := one.ListFindings(ctx, store.FindingFilter{})
	require.NoError(t, err)
	got, err := small.ListFindings(ctx, store.FindingFilter{})
	require.NoError(t, err)
	require.Equal(t, want, got)

	// Nothing changed: the second pass changes nothing.
	queueAll(t, small)
	stats, err := auditor(small, 7).Run(ctx)
	require.NoError(t, err)
	require.Empty(t, stats.Changes)
	require.Equal(t, gotStats.Entities, stats.Entities)

	// A ticket solved and queued again while the audit runs (after its
	// batch was read) is audited again: its findings resolve.
	var target cxaudit.Ticket
	for _, f := range got {
		if f.EntityKind == cxaudit.EntityTicket && f.Status == cxaudit.FindingOpen {
			tk, err := small.Ticket(ctx, mustID(t, f.EntityID))
			require.NoError(t, err)
			target = tk
			break
		}
	}
	require.NotZero(t, target.ID)
	queueAll(t, small)
	targetID := strconv.FormatInt(target.ID, 10)
	solve := func() {
		solved := target
		solved.Status, solved.UpdatedAt = cxaudit.StatusSolved, now
		require.NoError(t, small.UpsertTickets(ctx, []cxaudit.Ticket{solved}))
		require.NoError(t, small.QueueAudit(ctx, []store.EntityKey{{Kind: cxaudit.EntityTicket, ID: targetID}}))
	}
	rs := &requeueStore{Store: small, target: targetID, then: solve}
	a := auditor(rs, 7)
	stats, err = a.Run(ctx)
	require.NoError(t, err)
	require.True(t, rs.done, "the ticket changed while its batch was audited")
	require.NotZero(t, stats.Changes[audit.ChangeResolved])
	fs, err := small.FindingsForEntity(ctx, cxaudit.EntityTicket, targetID)
	require.NoError(t, err)
	require.NotEmpty(t, fs)
	for _, f := range fs {
		require.Equal(t, cxaudit.FindingResolved, f.Status, f.RuleID)
	}
	left, err := small.NextAuditBatch(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, left)
}

// queueAll queues every entity a sweep audits.
func queueAll(t *testing.T, s store.Store) {
	keys, err := s.SweepKeys(context.Background())
	require.NoError(t, err)
	require.NoError(t, s.QueueAudit(context.Background(), keys))
}

func mustID(t *testing.T, s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return id
}

// requeueStore calls then once, when the batch after the one holding target
// is read: the target's batch is read and not yet done.
type requeueStore struct {
	store.Store
	target string
	then   func()
	mu     sync.Mutex
	seen   bool
	done   bool
}

func (s *requeueStore) check(entries []store.QueueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen && !s.done {
		s.done = true
		s.then()
	}
	for _, e := range entries {
		if e.Key.Kind == cxaudit.EntityTicket && e.Key.ID == s.target {
			s.seen = true
		}
	}
}

func (s *requeueStore) NextAuditBatch(ctx context.Context, limit int) ([]store.QueueEntry, error) {
	keys, err := s.Store.NextAuditBatch(ctx, limit)
	s.check(keys)
	return keys, err
}

func (s *requeueStore) NextAuditBatchAfter(ctx context.Context, after store.QueueEntry, limit int) ([]store.QueueEntry, error) {
	keys, err := s.Store.NextAuditBatchAfter(ctx, after, limit)
	s.check(keys)
	return keys, err
}
