package audit_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
	rulepack "github.com/cxaudit/cxaudit/rules"
)

func TestBusinessHoursInTheTicketsSchedule(t *testing.T) { onBothStores(t, testBusinessHours) }

// testBusinessHours audits P1 tickets of two groups against the account's
// schedules, as the sync stores them: EMEA support in Berlin (the default)
// and Americas support in Los Angeles, named for group 300 in the field
// map. The default rule counts business hours in each ticket's own
// schedule, across a weekend and a holiday.
func testBusinessHours(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := newStore(t)
	// Monday 2025-03-17 15:00 UTC: 16:00 in Berlin, 08:00 in Los Angeles.
	now := time.Date(2025, 3, 17, 15, 0, 0, 0, time.UTC)
	weekdays := func(open, close int) []bizhours.Interval {
		var out []bizhours.Interval
		for d := 1; d <= 5; d++ {
			out = append(out, bizhours.Interval{Start: d*1440 + open*60, End: d*1440 + close*60})
		}
		return out
	}
	require.NoError(t, s.PutSchema(ctx, store.SchemaZendesk, &tenant.ZendeskSchema{Schedules: []bizhours.Schedule{
		{ID: 1, Name: "EMEA support", TimeZone: "Berlin", Intervals: weekdays(8, 18),
			Holidays: []bizhours.Holiday{{Name: "Closed Friday", StartDate: "2025-03-14", EndDate: "2025-03-14"}}},
		{ID: 2, Name: "Americas support", TimeZone: "Pacific Time (US & Canada)", Intervals: weekdays(9, 17)},
	}}))
	// Both came in on Thursday 2025-03-13 at 17:00 UTC (18:00 in Berlin,
	// 10:00 in Los Angeles), and nobody has answered.
	created := time.Date(2025, 3, 13, 17, 0, 0, 0, time.UTC)
	tickets := []cxaudit.Ticket{
		{ID: 1, GroupID: 200, Status: cxaudit.StatusOpen, Priority: cxaudit.PriorityUrgent, Tags: []string{"sev1"}, CreatedAt: created, UpdatedAt: created},
		{ID: 2, GroupID: 300, Status: cxaudit.StatusOpen, Priority: cxaudit.PriorityUrgent, Tags: []string{"sev1"}, CreatedAt: created, UpdatedAt: created},
	}
	require.NoError(t, s.UpsertTickets(ctx, tickets))
	queueAll(t, s)

	dir := t.TempDir()
	require.NoError(t, rulepack.WriteTo(dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, rules.FieldMapFile),
		[]byte("zendesk:\n  schedules:\n    groups:\n      300: Americas support\n"), 0o644))
	set, err := rules.LoadDir(dir)
	require.NoError(t, err)
	a := &audit.Auditor{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RulesFunc: func() *rules.Set { return set }, NowFunc: func() time.Time { return now }}
	_, err = a.Run(ctx)
	require.NoError(t, err)
	got := map[string]string{}
	fs, err := s.ListFindings(ctx, store.FindingFilter{RuleID: "backlog.p1_unanswered_business_hours"})
	require.NoError(t, err)
	for _, f := range fs {
		got[f.EntityID] = f.Message
	}
	// Berlin: Thursday after closing, Friday a holiday, the weekend, then
	// Monday 08:00 to 16:00: 8 business hours.
	require.Contains(t, got["1"], "no agent reply for 8 business hours")
	// Los Angeles: Thursday 10:00-17:00 (7 h), Friday 09:00-17:00 (8 h),
	// Monday not open yet at 08:00: 15 business hours.
	require.Contains(t, got["2"], "no agent reply for 15 business hours")
}
