package audit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// TestReconcileLifecycle pins what an audit does with a finding, with no
// database: when the evidence counts as updated, that a snooze is stored
// once while its tag stays, and that nothing is planned for a closed
// ticket.
func TestReconcileLifecycle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	key := store.EntityKey{Kind: cxaudit.EntityTicket, ID: "1"}
	rule := &rules.Rule{ID: "r1", Title: "R1", Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityHigh,
		Mode: cxaudit.ModeEnforce, Version: "v1", Actions: cxaudit.Actions{ZendeskNote: true}}
	match := func(msg string) []rules.Match { return []rules.Match{{Rule: rule, Message: msg}} }
	stored := func(msg string, edit func(*cxaudit.Finding)) []cxaudit.Finding {
		res := reconcile(key, match(msg), nil, signals{}, now.Add(-3*day), nil)
		f := res.findings[0]
		f.WrittenStatus, f.WrittenHash = cxaudit.FindingOpen, f.ContentHash()
		if edit != nil {
			edit(&f)
		}
		return []cxaudit.Finding{f}
	}
	snoozedUntil := func(at time.Time) func(*cxaudit.Finding) {
		return func(f *cxaudit.Finding) { ack := now.Add(-day); f.AcknowledgedAt, f.SnoozedUntil = &ack, &at }
	}
	for _, tc := range []struct {
		name     string
		existing []cxaudit.Finding
		matches  []rules.Match
		sig      signals
		want     []Change
		check    func(t *testing.T, fs []cxaudit.Finding)
	}{
		{name: "first match opens", matches: match("late 3 days"), want: []Change{ChangeOpened}},
		{name: "same words: nothing stored", existing: stored("late 3 days", nil), matches: match("late 3 days")},
		{
			name: "only numbers moved: no update, the new words stored silently", existing: stored("late 3 days", nil), matches: match("late 4 days"),
			want: []Change{changeNone},
			check: func(t *testing.T, fs []cxaudit.Finding) {
				require.Equal(t, "late 4 days", fs[0].Message)
				require.False(t, fs[0].Dirty(), "and nothing to write")
			},
		},
		{name: "new words: updated", existing: stored("late 3 days", nil), matches: match("late 3 days, data lost"), want: []Change{ChangeUpdated}},
		{name: "cleared resolves", existing: stored("x", nil), want: []Change{ChangeResolved}},
		{name: "snooze tag snoozes", existing: stored("x", nil), matches: match("x"), sig: signals{snoozeFor: 7 * day}, want: []Change{ChangeSnoozed},
			check: func(t *testing.T, fs []cxaudit.Finding) { require.Equal(t, now.Add(7*day), *fs[0].SnoozedUntil) }},
		{name: "snooze tag still there next audit: nothing stored", existing: stored("x", snoozedUntil(now.Add(6*day))), matches: match("x"), sig: signals{snoozeFor: 7 * day}},
		{name: "snooze over, still open: unsnoozed", existing: stored("x", snoozedUntil(now.Add(-time.Minute))), matches: match("x"), want: []Change{ChangeUnsnoozed}},
		{
			name: "closed ticket: resolved, nothing planned", existing: stored("x", nil), sig: signals{closed: true}, want: []Change{ChangeResolved},
			check: func(t *testing.T, fs []cxaudit.Finding) {
				require.Equal(t, cxaudit.FindingNotWritable, fs[0].WrittenStatus)
				require.False(t, fs[0].Dirty())
			},
		},
		{
			name: "closed ticket: a new finding is not written either", matches: match("x"), sig: signals{closed: true}, want: []Change{ChangeOpened},
			check: func(t *testing.T, fs []cxaudit.Finding) { require.False(t, fs[0].Dirty()) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := reconcile(key, tc.matches, tc.existing, tc.sig, now, nil)
			require.Equal(t, tc.want, got.changes)
			if tc.check != nil {
				tc.check(t, got.findings)
			}
		})
	}
}
