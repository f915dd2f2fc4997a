package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/report"
	"github.com/cxaudit/cxaudit/internal/report/reporttest"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// seededStore returns the URL of a migrated store of kind holding the
// scorecard's hand-built dataset.
func seededStore(t *testing.T, kind string) string {
	t.Helper()
	ctx := context.Background()
	url := storetest.NewSQLitePath(t)
	if kind == "postgres" {
		url = storetest.NewPostgresSchema(t)
	}
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	_, err = store.Migrate(ctx, st)
	require.NoError(t, err)
	reporttest.Seed(t, st)
	return url
}

func TestReportCommand(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CXAUDIT_DATABASE_URL": seededStore(t, kind), "CXAUDIT_RULES_DIR": "../../rules"}
			period := []string{"report", "--since", "336h", "--until", "2026-11-30T12:00:00Z"}

			code, out, errOut := runCLI(t, env, period...)
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "targets: ../../rules/targets.yaml\n")
			require.Regexp(t, `(?m)^First-response compliance\s+66\.7 %\s+≥ 95 %\s+no\s+4/6\s+1$`, out)
			require.Regexp(t, `(?m)^  priority P3\s+50\.0 %\s+no\s+1/2\s*$`, out)
			require.Regexp(t, `(?m)^Strategic accounts with an executive sponsor\s+50\.0 %\s+≥ 70 %\s+no\s+1/2\s+0$`, out)

			code, out, errOut = runCLI(t, env, append(period, "--by", "tier")...)
			require.Equal(t, 0, code, errOut)
			require.Regexp(t, `(?m)^  tier Enterprise\s+50\.0 %\s+no\s+1/2\s*$`, out)

			code, out, errOut = runCLI(t, env, append(period, "--json")...)
			require.Equal(t, 0, code, errOut)
			var r report.Report
			require.NoError(t, json.Unmarshal([]byte(out), &r))
			require.Equal(t, reporttest.Now, r.Until.UTC())
			require.Equal(t, 0.6667, *r.Get(rules.KPIFirstResponse).Value)
			require.Equal(t, 4, r.Get(rules.KPIBacklogAge).Denominator)

			file := filepath.Join(t.TempDir(), "report.html")
			code, out, errOut = runCLI(t, env, append(period, "--html", file)...)
			require.Equal(t, 0, code, errOut)
			require.Equal(t, "report: wrote "+file+"\n", out)
			page, err := os.ReadFile(file)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(page), "<!DOCTYPE html>"))
			require.Contains(t, string(page), `data-kpi="crm_exec_sponsor"`)
		})
	}
}

func TestReportUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--since", "-1h"}, "--since -1h0m0s: give a positive duration"},
		{[]string{"report", "--by", "colour"}, `--by "colour": want priority, group, tier, owner or none`},
		{[]string{"report", "--until", "yesterday"}, `--until "yesterday": write a date`},
		{[]string{"report", "--json", "--html", "x.html"}, "give one of --json and --html"},
	} {
		code, _, errOut := runCLI(t, nil, tc.args...)
		require.Equal(t, 2, code, "%v", tc.args)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	code, _, errOut := runCLI(t, map[string]string{"CXAUDIT_DATABASE_URL": missing}, "report")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no store at "+missing+" (CXAUDIT_DATABASE_URL): run cxaudit migrate and a sync first")
	require.NoFileExists(t, missing, "the report creates no store")

	// A store without cxaudit's tables (not migrated) says what to run.
	empty := filepath.Join(t.TempDir(), "empty.db")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	code, _, errOut = runCLI(t, map[string]string{"CXAUDIT_DATABASE_URL": empty, "CXAUDIT_RULES_DIR": "../../rules"}, "report")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "the store lacks cxaudit's latest tables; run cxaudit migrate")

	code, out, errOut := runCLI(t, nil, "report", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out+errOut, "Usage: cxaudit report")
}
