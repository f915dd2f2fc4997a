package cxaudit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

func TestContentHashIgnoresDriftingNumbers(t *testing.T) {
	t.Parallel()
	base := cxaudit.Finding{Severity: cxaudit.SeverityMedium, Message: "P2 ticket open for 15 days (threshold 14 days)."}
	for _, tt := range []struct {
		name    string
		change  func(*cxaudit.Finding)
		updated bool
	}{
		{"age drifts", func(f *cxaudit.Finding) { f.Message = "P2 ticket open for 16 days (threshold 14 days)." }, false},
		{"decimals drift", func(f *cxaudit.Finding) { f.Message = "P2 ticket open for 15.75 days (threshold 14 days)." }, false},
		{"words change", func(f *cxaudit.Finding) { f.Message = "P2 ticket pending for 15 days (threshold 14 days)." }, true},
		{"severity changes", func(f *cxaudit.Finding) { f.Severity = cxaudit.SeverityHigh }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.change(&f)
			require.Equal(t, tt.updated, f.ContentHash() != base.ContentHash())
		})
	}
}

// TestContentHashDurations: a wait duration_text writes in hours and
// minutes, then in days, is one piece of evidence as it grows; in minutes
// (under an hour) it is another shape, hashed as before.
func TestContentHashDurations(t *testing.T) {
	t.Parallel()
	msg := func(d string) cxaudit.Finding {
		return cxaudit.Finding{Severity: cxaudit.SeverityHigh, Message: "P2 ticket: last public update was " + d + " ago (cadence 4 h)."}
	}
	days := msg("2 days")
	require.Equal(t, days.ContentHash(), ptr(msg("47 h 58 min")).ContentHash())
	require.Equal(t, days.ContentHash(), ptr(msg("4 h 0 min")).ContentHash())
	require.NotEqual(t, days.ContentHash(), ptr(msg("45 min")).ContentHash())
	// The hash of a message without hours and minutes is what it was
	// (findings written before keep theirs).
	old := cxaudit.Finding{Severity: cxaudit.SeverityMedium, Message: "P2 ticket open for 15 days (threshold 14 days)."}
	require.Equal(t, "ab4dde08b833d726", old.ContentHash())
}

func ptr[T any](v T) *T { return &v }

func TestDirty(t *testing.T) {
	t.Parallel()
	open := cxaudit.Finding{Mode: cxaudit.ModeEnforce, Status: cxaudit.FindingOpen, Message: "m", Actions: cxaudit.Actions{ZendeskNote: true}}
	written := open
	written.WrittenStatus, written.WrittenHash = cxaudit.FindingOpen, open.ContentHash()
	resolvedWritten := written
	resolvedWritten.Status = cxaudit.FindingResolved
	resolvedNever := open
	resolvedNever.Status = cxaudit.FindingResolved
	observe := open
	observe.Mode = cxaudit.ModeObserve
	noActions := open
	noActions.Actions = cxaudit.Actions{}

	require.True(t, open.Dirty(), "new finding")
	require.False(t, written.Dirty(), "written as it is")
	require.True(t, resolvedWritten.Dirty(), "resolved after being written")
	require.False(t, resolvedNever.Dirty(), "resolved before it was ever written")
	require.False(t, observe.Dirty(), "observe mode never writes")
	require.False(t, noActions.Dirty(), "nothing to write")
}

func TestFingerprintStable(t *testing.T) {
	t.Parallel()
	a := cxaudit.Fingerprint("backlog.p2_p3_stale", cxaudit.EntityTicket, "42")
	require.Equal(t, a, cxaudit.Fingerprint("backlog.p2_p3_stale", cxaudit.EntityTicket, "42"))
	require.Len(t, a, 16)
	require.NotEqual(t, a, cxaudit.Fingerprint("backlog.p2_p3_stale", cxaudit.EntityTicket, "4"))
	require.NotEqual(t, a, cxaudit.Fingerprint("backlog.p2_p3_stale", cxaudit.EntityOrganization, "42"))
}

// TestTransitions pins the transitions a finding goes through: an
// acknowledgement is kept once made, a snooze acknowledges until its end,
// its end unsnoozes, and resolving stamps the time.
func TestTransitions(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	f := &cxaudit.Finding{Status: cxaudit.FindingOpen}
	f.Acknowledge(t0)
	f.Acknowledge(t0.Add(day))
	if !f.AcknowledgedAt.Equal(t0) {
		t.Fatalf("a second acknowledgement moved the first: %v", f.AcknowledgedAt)
	}
	g := &cxaudit.Finding{Status: cxaudit.FindingOpen}
	g.Snooze(t0, t0.Add(7*day))
	for _, tc := range []struct {
		at   time.Time
		over bool
	}{{t0, false}, {t0.Add(7*day - time.Second), false}, {t0.Add(7 * day), true}, {t0.Add(8 * day), true}} {
		if got := g.SnoozeOver(tc.at); got != tc.over {
			t.Errorf("SnoozeOver(%v) = %v, want %v", tc.at, got, tc.over)
		}
	}
	if g.AcknowledgedAt == nil || !g.Acknowledged() {
		t.Fatal("a snoozed finding is acknowledged")
	}
	g.Unsnooze()
	if g.AcknowledgedAt != nil || g.SnoozedUntil != nil || g.Acknowledged() {
		t.Fatal("unsnoozed: open and unacknowledged again")
	}
	g.Resolve(t0.Add(9 * day))
	if g.Status != cxaudit.FindingResolved || !g.ResolvedAt.Equal(t0.Add(9*day)) || !g.UpdatedAt.Equal(t0.Add(9*day)) {
		t.Fatalf("resolved: %+v", g)
	}
}
