package report_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/report"
	"github.com/cxaudit/cxaudit/internal/report/reporttest"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

var (
	now   = reporttest.Now
	since = reporttest.Since
	Seed  = reporttest.Seed
)

func tp(t time.Time) *time.Time { return &t }

// fig is an expected figure: num/den, and value and met (nil: none).
type fig struct {
	num   float64
	den   int
	value any // float64 or nil
	met   any // bool or nil
}

func check(t *testing.T, what string, want fig, got report.Figure) {
	t.Helper()
	require.Equal(t, want.num, got.Numerator, "%s numerator", what)
	require.Equal(t, want.den, got.Denominator, "%s denominator", what)
	if want.value == nil {
		require.Nil(t, got.Value, "%s value", what)
	} else {
		require.NotNil(t, got.Value, "%s value", what)
		require.Equal(t, want.value, *got.Value, "%s value", what)
	}
	if want.met == nil {
		require.Nil(t, got.Met, "%s met", what)
	} else {
		require.NotNil(t, got.Met, "%s met", what)
		require.Equal(t, want.met, *got.Met, "%s met", what)
	}
}

func slices(t *testing.T, what string, want map[string]fig, got []report.Slice) {
	t.Helper()
	require.Len(t, got, len(want), "%s: %v", what, got)
	for _, s := range got {
		w, ok := want[s.Key]
		require.True(t, ok, "%s: unexpected key %q", what, s.Key)
		check(t, what+" "+s.Key, w, s.Figure)
	}
}

func TestScorecard(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			Seed(t, st)
			r, err := report.Compute(context.Background(), st, report.Options{Since: since, Now: now, PageSize: 3})
			require.NoError(t, err)
			require.Len(t, r.Weeks, 2)
			require.Equal(t, report.Week{Start: since, End: since.AddDate(0, 0, 7)}, r.Weeks[0])
			require.Equal(t, "defaults", r.Targets)
			names := []string{}
			for _, k := range r.KPIs {
				names = append(names, k.Name)
			}
			require.Equal(t, rules.KPIs, names)

			for _, tc := range []struct {
				kpi    string
				all    fig
				weekly []fig
				prio   map[string]fig
			}{
				{rules.KPIFirstResponse, fig{4, 6, 0.6667, false},
					[]fig{{2, 2, 1.0, true}, {2, 4, 0.5, false}},
					map[string]fig{"P1": {2, 3, 0.6667, false}, "P2": {1, 1, 1.0, true}, "P3": {1, 2, 0.5, false}}},
				{rules.KPIUpdateCadence, fig{2, 4, 0.5, false},
					[]fig{{2, 2, 1.0, true}, {0, 2, 0.0, false}},
					map[string]fig{"P1": {1, 3, 0.3333, false}, "P2": {1, 1, 1.0, true}}},
				{rules.KPISLA, fig{2, 4, 0.5, false},
					[]fig{{2, 2, 1.0, true}, {0, 2, 0.0, false}},
					map[string]fig{"P1": {1, 3, 0.3333, false}, "P2": {1, 1, 1.0, true}}},
				{rules.KPIEscalationRate, fig{2, 7, 0.2857, nil},
					[]fig{{1, 2, 0.5, nil}, {1, 5, 0.2, nil}},
					map[string]fig{"P1": {1, 3, 0.3333, nil}, "P2": {0, 1, 0.0, nil}, "P3": {1, 3, 0.3333, nil}}},
				{rules.KPIEscalationQuality, fig{2.5, 2, 1.25, false},
					[]fig{{0, 1, 0.0, false}, {2.5, 1, 2.5, false}},
					map[string]fig{"P1": {0, 1, 0.0, false}, "P3": {2.5, 1, 2.5, false}}},
				{rules.KPIReopenRate, fig{1, 4, 0.25, false},
					[]fig{{1, 3, 0.3333, false}, {0, 1, 0.0, true}},
					map[string]fig{"P1": {0, 2, 0.0, true}, "P2": {1, 1, 1.0, false}, "P3": {0, 1, 0.0, true}}},
				{rules.KPIBacklogAge, fig{1, 4, 0.25, false},
					[]fig{{1, 1, 1.0, false}, {1, 4, 0.25, false}},
					map[string]fig{"P2": {1, 1, 1.0, false}, "P3": {0, 3, 0.0, true}}},
				{rules.KPIOwnerActive, fig{2, 3, 0.6667, false}, []fig{{0, 0, nil, nil}, {2, 3, 0.6667, false}}, nil},
				{rules.KPIRenewalDate, fig{1, 2, 0.5, false}, []fig{{0, 0, nil, nil}, {1, 2, 0.5, false}}, nil},
				{rules.KPIExecSponsor, fig{1, 2, 0.5, false}, []fig{{0, 0, nil, nil}, {1, 2, 0.5, false}}, nil},
				{rules.KPIOrgLinked, fig{1, 2, 0.5, false}, []fig{{0, 0, nil, nil}, {1, 2, 0.5, false}}, nil},
			} {
				k := r.Get(tc.kpi)
				require.NotNil(t, k, tc.kpi)
				check(t, tc.kpi, tc.all, k.Figure)
				require.Len(t, k.Weekly, 2, tc.kpi)
				for i, w := range tc.weekly {
					check(t, tc.kpi+" week "+string(rune('0'+i)), w, k.Weekly[i])
				}
				if tc.prio != nil {
					slices(t, tc.kpi+" by priority", tc.prio, k.ByPriority)
				} else {
					require.Empty(t, k.ByPriority, tc.kpi)
				}
			}

			frt := r.Get(rules.KPIFirstResponse)
			require.Equal(t, &report.Bound{Op: ">=", Value: 0.95}, frt.Target)
			slices(t, "frt by group", map[string]fig{"group 7": {1, 1, 1.0, true}, "none": {3, 5, 0.6, false}}, frt.ByGroup)
			slices(t, "frt by tier", map[string]fig{"Enterprise": {1, 2, 0.5, false}, "none": {3, 4, 0.75, false}}, frt.ByTier)
			slices(t, "frt by owner", map[string]fig{"005A": {1, 2, 0.5, false}, "none": {3, 4, 0.75, false}}, frt.ByOwner)
			require.Equal(t, 1, frt.Findings.Open, "the resolved finding is not listed")
			require.Len(t, frt.Findings.Items, 1)
			require.Equal(t, "fp-frt-2", frt.Findings.Items[0].Fingerprint)
			require.Equal(t, "2", frt.Findings.Items[0].EntityID)

			// An acknowledged finding is still an open miss.
			require.Equal(t, 1, r.Get(rules.KPIUpdateCadence).Findings.Open)
			require.Equal(t, "fp-cad-2", r.Get(rules.KPIUpdateCadence).Findings.Items[0].Fingerprint)
			require.Equal(t, 2, r.Get(rules.KPISLA).Findings.Open)
			owner := r.Get(rules.KPIOwnerActive)
			slices(t, "owner by tier", map[string]fig{"Enterprise": {1, 2, 0.5, false}, "SMB": {1, 1, 1.0, true}}, owner.ByTier)
			slices(t, "owner by owner", map[string]fig{"005A": {2, 2, 1.0, true}, "005B": {0, 1, 0.0, false}}, owner.ByOwner)
			require.Equal(t, &report.Bound{Op: "<=", Value: 0.05}, r.Get(rules.KPIReopenRate).Target)
			require.Nil(t, r.Get(rules.KPIEscalationRate).Target)
		})
	}
}

// A KPI without input says so: no escalated ticket, no value.
func TestScorecardWithoutInput(t *testing.T) {
	t.Parallel()
	st := storetest.NewSQLite(t)
	r, err := report.Compute(context.Background(), st, report.Options{Since: since, Now: now})
	require.NoError(t, err)
	for _, k := range r.KPIs {
		check(t, k.Name, fig{0, 0, nil, nil}, k.Figure)
		require.Equal(t, 0, k.Findings.Open)
	}

	_, err = report.Compute(context.Background(), st, report.Options{Since: now, Now: now})
	require.ErrorContains(t, err, "report: the period starts (2026-11-30T12:00:00Z) at or after it ends")
}

// Targets from a file change what is measured and what is met.
func TestScorecardTargets(t *testing.T) {
	t.Parallel()
	st := storetest.NewSQLite(t)
	Seed(t, st)
	tg, err := rules.ParseTargets("targets.yaml", []byte("kpis:\n  first_response:\n    min: 0.6\n    minutes: {P1: 30}\n  reopen_rate: {max: 0.3}\n"))
	require.NoError(t, err)
	r, err := report.Compute(context.Background(), st, report.Options{Since: since, Now: now, Targets: tg})
	require.NoError(t, err)
	require.Equal(t, "targets.yaml", r.Targets)
	// P1 only, within 30 min: T1, T2 and T9 all met.
	check(t, "frt", fig{3, 3, 1.0, true}, r.Get(rules.KPIFirstResponse).Figure)
	check(t, "reopen", fig{1, 4, 0.25, true}, r.Get(rules.KPIReopenRate).Figure)
}

func TestRender(t *testing.T) {
	t.Parallel()
	st := storetest.NewSQLite(t)
	Seed(t, st)
	// A message with markup is escaped, not rendered.
	require.NoError(t, st.PutFinding(context.Background(), cxaudit.Finding{Fingerprint: "fp-x", RuleID: "backlog.first_response_missed", RuleVersion: "v",
		Title: "First-response target missed", Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityHigh, Mode: cxaudit.ModeEnforce,
		EntityKind: cxaudit.EntityTicket, EntityID: "4", Message: `<script>alert(1)</script>`, Status: cxaudit.FindingOpen, OpenedAt: now, UpdatedAt: now}))
	r, err := report.Compute(context.Background(), st, report.Options{Since: since, Now: now})
	require.NoError(t, err)

	var text strings.Builder
	require.NoError(t, r.WriteText(&text, "priority"))
	out := text.String()
	require.Contains(t, out, "cxaudit scorecard 2026-11-16 12:00 to 2026-11-30 12:00 UTC (2 weeks), targets: defaults\n")
	require.Regexp(t, `(?m)^First-response compliance\s+66\.7 %\s+≥ 95 %\s+no\s+4/6\s+2$`, out)
	require.Regexp(t, `(?m)^  priority P1\s+66\.7 %\s+no\s+2/3\s*$`, out)
	require.Regexp(t, `(?m)^Escalation packet quality\s+1\.25\s+≥ 4\.5\s+no\s+2\.5/2\s+0$`, out)
	require.Regexp(t, `(?m)^Escalation rate\s+28\.6 %\s+—\s+n/a\s+2/7\s+0$`, out)
	require.Regexp(t, `(?m)^crm_owner_active\s+—\s+66\.7 %$`, out, "a state KPI has no figure before its snapshot")
	require.Regexp(t, `(?m)^first_response\s+100\.0 %\s+50\.0 %$`, out)

	var js strings.Builder
	require.NoError(t, r.WriteJSON(&js))
	var back report.Report
	require.NoError(t, json.Unmarshal([]byte(js.String()), &back))
	require.Equal(t, r.KPIs, back.KPIs, "--json is the report, whole")

	var html strings.Builder
	require.NoError(t, r.WriteHTML(&html))
	page := html.String()
	require.NotContains(t, page, "<script>alert(1)</script>")
	require.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	require.NotContains(t, page, "http://", "no network: nothing fetched")
	require.NotContains(t, page, "https://")
	require.Contains(t, page, `<tr id="kpi-first_response" data-kpi="first_response">`)
	require.Contains(t, page, `<td class="value" data-value="0.6667">66.7 %</td>`)
	require.Contains(t, page, `<a href="#findings-first_response">2 open</a>`)
	require.Contains(t, page, `<li id="finding-fp-frt-2">`)
	require.Contains(t, page, `<polyline class="line" points=`)
}

// The daily snapshot is stored, and the past weeks of the KPIs of the
// current state are read from it: the trend of CRM coverage survives
// records edited since.
func TestSnapshotHistory(t *testing.T) {
	t.Parallel()
	for name, open := range storetest.Stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := open(t)
			Seed(t, st)
			// A snapshot at the end of week 0 (11-23 12:00), taken before
			// account 001C was added.
			first, err := report.Compute(ctx, st, report.Options{Since: since.AddDate(0, 0, -7), Now: since.AddDate(0, 0, 7)})
			require.NoError(t, err)
			snap := first.Snapshot()
			require.Contains(t, snap, store.KPISnapshot{Day: "2026-11-23", KPI: rules.KPIFirstResponse, Dimension: "priority", Key: "P1",
				Numerator: 1, Denominator: 1, TakenAt: since.AddDate(0, 0, 7)})
			require.NoError(t, st.PutKPISnapshots(ctx, snap))
			// An older snapshot of the same week loses to the later one.
			require.NoError(t, st.PutKPISnapshots(ctx, []store.KPISnapshot{{Day: "2026-11-22", KPI: rules.KPIOwnerActive, Numerator: 0, Denominator: 9, TakenAt: since.AddDate(0, 0, 6)}}))
			// Since then another active owner's account was added.
			require.NoError(t, st.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001D", Name: "Delta", OwnerID: "005A", OwnerActive: true, SystemModstamp: now}}))

			r, err := report.Compute(ctx, st, report.Options{Since: since, Now: now})
			require.NoError(t, err)
			k := r.Get(rules.KPIOwnerActive)
			check(t, "owner now", fig{3, 4, 0.75, false}, k.Figure)
			check(t, "owner week 0 from the snapshot", fig{2, 3, 0.6667, false}, k.Weekly[0])
			require.Equal(t, "2026-11-23", k.Weekly[0].Snapshot)
			check(t, "owner week 1", fig{3, 4, 0.75, false}, k.Weekly[1])
			require.Empty(t, k.Weekly[1].Snapshot)
			var text strings.Builder
			require.NoError(t, r.WriteText(&text, ""))
			require.Regexp(t, `(?m)^crm_owner_active\s+66\.7 %\*\s+75\.0 %$`, text.String(), "a figure from a snapshot is marked")
			var page strings.Builder
			require.NoError(t, r.WriteHTML(&page))
			require.Contains(t, page.String(), "week of 2026-11-16: 66.7 % (2/3), from the snapshot of 2026-11-23")
			// Ticket KPIs are computed from the tickets, not the snapshot.
			require.Empty(t, r.Get(rules.KPIFirstResponse).Weekly[0].Snapshot)
		})
	}
}
