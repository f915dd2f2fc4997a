package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseGauges(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("GaugeReads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		counts, err := s.OpenFindingCounts(ctx)
		require.NoError(t, err)
		require.Empty(t, counts)
		finding := func(rule, id string, sev cxaudit.Severity, status cxaudit.FindingStatus) cxaudit.Finding {
			return cxaudit.Finding{Fingerprint: cxaudit.Fingerprint(rule, cxaudit.EntityTicket, id), RuleID: rule, RuleVersion: "v", Title: "t",
				Category: cxaudit.CategoryBacklogAging, Severity: sev, Mode: cxaudit.ModeEnforce, EntityKind: cxaudit.EntityTicket,
				EntityID: id, Message: "m", Status: status, OpenedAt: now, UpdatedAt: now}
		}
		for _, f := range []cxaudit.Finding{
			finding("r1", "1", cxaudit.SeverityHigh, cxaudit.FindingOpen),
			finding("r1", "2", cxaudit.SeverityHigh, cxaudit.FindingAcknowledged),
			finding("r1", "3", cxaudit.SeverityLow, cxaudit.FindingOpen),
			finding("r1", "4", cxaudit.SeverityHigh, cxaudit.FindingResolved),
			finding("r2", "1", cxaudit.SeverityHigh, cxaudit.FindingOpen),
		} {
			require.NoError(t, s.PutFinding(ctx, f))
		}
		counts, err = s.OpenFindingCounts(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []store.OpenFindingCount{
			{RuleID: "r1", Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityHigh, N: 2},
			{RuleID: "r1", Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityLow, N: 1},
			{RuleID: "r2", Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityHigh, N: 1},
		}, counts, "open and acknowledged findings, not resolved ones")

		require.NoError(t, s.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", store.Cursor{Value: "a", CompletedAt: now, UpdatedAt: now}))
		require.NoError(t, s.PutCursor(ctx, cxaudit.SourceSalesforce, "Account", store.Cursor{Value: "b", UpdatedAt: now}))
		streams, err := s.StreamCompletions(ctx)
		require.NoError(t, err)
		require.Len(t, streams, 2)
		for _, c := range streams {
			switch c.Object {
			case "tickets":
				require.Equal(t, string(cxaudit.SourceZendesk), c.Source)
				require.True(t, c.CompletedAt.Equal(now), "completed at %v", c.CompletedAt)
			case "Account":
				require.Equal(t, string(cxaudit.SourceSalesforce), c.Source)
				require.True(t, c.CompletedAt.IsZero(), "never completed")
			default:
				t.Fatalf("unexpected stream %+v", c)
			}
		}

		depths, err := s.QueueDepths(ctx)
		require.NoError(t, err)
		require.Empty(t, depths)
		attachRiver(t, s)
		later := river.InsertManyParams{Args: conformanceJobArgs{N: 3}, InsertOpts: &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}}
		other := river.InsertManyParams{Args: conformanceJobArgs{N: 4}, InsertOpts: &river.InsertOpts{Queue: "storetest_other"}}
		require.NoError(t, s.Enqueue(ctx, append(jobParams(1, 2), later, other)...))
		depths, err = s.QueueDepths(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []store.QueueDepth{
			{Queue: "storetest", State: "available", N: 2}, {Queue: "storetest", State: "scheduled", N: 1}, {Queue: "storetest_other", State: "available", N: 1},
		}, depths)

		snaps, err := s.LatestKPISnapshot(ctx)
		require.NoError(t, err)
		require.Empty(t, snaps)
		latest := []store.KPISnapshot{
			{Day: "2026-11-02", KPI: "first_response", Numerator: 3, Denominator: 4, TakenAt: now},
			{Day: "2026-11-02", KPI: "first_response", Dimension: "priority", Key: "P1", Numerator: 1, Denominator: 2, TakenAt: now},
		}
		require.NoError(t, s.PutKPISnapshots(ctx, append([]store.KPISnapshot{
			{Day: "2026-11-01", KPI: "first_response", Numerator: 1, Denominator: 4, TakenAt: now},
			{Day: "2026-11-02", KPI: "first_response", Dimension: "group", Key: "Tier 1", Numerator: 1, Denominator: 1, TakenAt: now},
		}, latest...)))
		snaps, err = s.LatestKPISnapshot(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, latest, snaps, "the latest day's, overall and by priority")
	})
}
