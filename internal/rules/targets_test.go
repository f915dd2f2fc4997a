package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The shipped targets.yaml says what DefaultTargets says: a directory
// without the file scores the same as one with it.
func TestTargetsFileIsTheDefaults(t *testing.T) {
	t.Parallel()
	set, err := LoadDir("../../rules")
	require.NoError(t, err)
	got := set.Targets()
	require.Equal(t, filepath.Join("../../rules", TargetsFile), got.File)
	want := DefaultTargets()
	for _, kpi := range KPIs {
		require.Equal(t, want.Get(kpi), got.Get(kpi), kpi)
	}
	require.Len(t, got.KPI, len(KPIs))
}

func TestTargetsMissingFileIsDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(ownerRule), 0o644))
	set, err := LoadDir(dir)
	require.NoError(t, err)
	require.Equal(t, "", set.Targets().File)
	require.Equal(t, 15.0, set.Targets().Get(KPIFirstResponse).Minutes[cxaudit.PriorityUrgent])
	var out strings.Builder
	require.NoError(t, Check(dir, &out))
	require.Contains(t, out.String(), "targets: no targets.yaml in "+dir+": the scorecard uses the default targets\n")
}

const ownerRule = `rules:
  - id: crm.account_owner_inactive
    title: t
    category: crm_hygiene
    severity: low
    entity: account
    mode: observe
    when: "!account.owner_active"
    message: '"x"'
`

func TestTargetsOverride(t *testing.T) {
	t.Parallel()
	tg, err := ParseTargets("targets.yaml", []byte(`kpis:
  first_response:
    min: 0.9
    minutes: {P1: 30, high: 120}
  backlog_age: {days: 10}
  escalation_quality: {min: 4}
  reopen_rate: {rules: []}
`))
	require.NoError(t, err)
	fr := tg.Get(KPIFirstResponse)
	require.Equal(t, 0.9, *fr.Min)
	require.Equal(t, map[string]float64{"urgent": 30, "high": 120}, fr.Minutes)
	require.Equal(t, DefaultTargets().Get(KPIFirstResponse).Rules, fr.Rules, "a setting left out keeps its default")
	require.Equal(t, 10.0, tg.Get(KPIBacklogAge).Days)
	require.Equal(t, 0.10, *tg.Get(KPIBacklogAge).Max)
	require.Equal(t, 4.0, *tg.Get(KPIEscalationQuality).Min)
	require.Empty(t, tg.Get(KPIReopenRate).Rules)
	met, ok := tg.Get(KPIEscalationQuality).Met(4.0)
	require.True(t, met && ok)
	_, ok = tg.Get(KPIEscalationRate).Met(0.5)
	require.False(t, ok, "escalation_rate has no target")
}

func TestTargetsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src, want string }{
		{"unknown KPI", "kpis:\n  first_respons: {min: 0.9}\n",
			`targets.yaml:2:3: $.kpis: unknown KPI 'first_respons' (did you mean 'first_response'?)`},
		{"percent", "kpis:\n  sla:\n    min: 95%\n",
			`targets.yaml:3:10: $.kpis.sla.min: expected a number, got "95%" (write a share as a number from 0 to 1: 0.95 for 95 %)`},
		{"share over 1", "kpis:\n  sla: {min: 95}\n",
			`targets.yaml:2:14: $.kpis.sla.min: sla is a share from 0 to 1 (write 0.95 for 95 %), got 95`},
		{"score over 5", "kpis:\n  escalation_quality: {min: 45}\n",
			`targets.yaml:2:29: $.kpis.escalation_quality.min: escalation_quality is an average score out of 5, from 0 to 5, got 45`},
		{"both bounds", "kpis:\n  sla: {min: 0.9, max: 0.99}\n",
			`targets.yaml:2:8: $.kpis.sla: give one of min and max, not both`},
		{"priority", "kpis:\n  first_response:\n    minutes: {P5: 10}\n",
			`targets.yaml:3:19: $.kpis.first_response.minutes.P5: unknown priority "P5": write P1, P2, P3 or P4 (or Zendesk's urgent, high, normal, low)`},
		{"setting of another KPI", "kpis:\n  reopen_rate: {days: 3}\n",
			`targets.yaml:2:17: $.kpis.reopen_rate: unknown field 'days'`},
		{"days", "kpis:\n  backlog_age: {days: 0}\n",
			`targets.yaml:2:23: $.kpis.backlog_age.days: expected a number of days above 0, got 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTargets("targets.yaml", []byte(tc.src))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// A rule id a target names must be a rule of the directory: a typo would
// leave the KPI without its findings.
func TestTargetsNameRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(ownerRule), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, TargetsFile), []byte("kpis:\n  crm_owner_active:\n    rules: [crm.account_owner_inactiv]\n"), 0o644))
	_, err := LoadDir(dir)
	require.Error(t, err)
	require.Contains(t, err.Error(), filepath.Join(dir, TargetsFile)+`:3:13: $.kpis.crm_owner_active.rules[0]: no rule has the id "crm.account_owner_inactiv" (did you mean 'crm.account_owner_inactive'?)`)
	var out strings.Builder
	require.Error(t, Check(dir, &out))
	require.Contains(t, out.String(), "rules: 1 error\n")
}
