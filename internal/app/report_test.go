package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/report/reporttest"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestReportPage: the worker serves the scorecard at /report behind the
// River UI's credentials, and not at all without them.
func TestReportPage(t *testing.T) {
	t.Parallel()
	const user, pass = "lead", "report-pass-2718"
	w := simworld.Generate(simworld.Options{Seed: 19, Accounts: 3, Tickets: 5})
	a, _, _ := newSimApp(t, w, storetest.NewSQLitePath(t), map[string]string{"CXAUDIT_RIVERUI_USERNAME": user, "CXAUDIT_RIVERUI_PASSWORD": pass})
	reporttest.Seed(t, a.Store)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	get := func(path, u, p string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if u != "" {
			req.SetBasicAuth(u, p)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	const period = "/report?since=336h&until=2026-11-30T12:00:00Z"
	resp, _ := get(period, "", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(period, user, "wrong")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, body := get(period, user, pass)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.True(t, strings.HasPrefix(body, "<!DOCTYPE html>"))
	require.Contains(t, body, `<tr id="kpi-first_response" data-kpi="first_response">`)
	require.Contains(t, body, `<td class="value" data-value="0.6667">66.7 %</td>`)
	require.Contains(t, body, "targets: ../../rules/targets.yaml")

	resp, body = get("/report?since=forever", user, pass)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, "since: give a positive duration")

	// Without credentials the page is not served at all.
	b, _, _ := newSimApp(t, w, storetest.NewSQLitePath(t), nil)
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/report", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

// TestKPISnapshotJob: a cycle stores the day's scorecard snapshot through
// the kpi_snapshot River job, and /metrics serves it as
// cxaudit_kpi_ratio{kpi,priority} with numerators and denominators as
// their own series.
func TestKPISnapshotJob(t *testing.T) {
	t.Parallel()
	w := simworld.Generate(simworld.Options{Seed: 23, Accounts: 12, Tickets: 80})
	a, _, _ := newSimApp(t, w, storetest.NewSQLitePath(t), nil)
	ctx := context.Background()
	before := time.Now()
	_, err := a.RunOnce(ctx)
	require.NoError(t, err)

	today := time.Now().UTC().Format(time.DateOnly)
	snaps, err := a.Store.KPISnapshots(ctx, today, today)
	require.NoError(t, err)
	byKey := map[string]store.KPISnapshot{}
	for _, s := range snaps {
		byKey[s.KPI+"/"+s.Key] = s
		require.False(t, s.TakenAt.Before(before.Truncate(time.Millisecond)), "taken by this cycle")
	}
	require.Equal(t, 12, byKey["crm_owner_active/"].Denominator, "every account")
	frt, ok := byKey["first_response/"]
	require.True(t, ok, "first response overall: %v", snaps)
	require.Positive(t, frt.Denominator)

	fams := gather(t, a)
	ratio := find(t, fams, "cxaudit_kpi_ratio", "kpi", "first_response", "priority", "all").GetGauge().GetValue()
	require.InDelta(t, frt.Numerator/float64(frt.Denominator), ratio, 1e-9)
	require.Equal(t, float64(frt.Denominator), find(t, fams, "cxaudit_kpi_denominator", "kpi", "first_response", "priority", "all").GetGauge().GetValue())
	require.Equal(t, frt.Numerator, find(t, fams, "cxaudit_kpi_numerator", "kpi", "first_response", "priority", "all").GetGauge().GetValue())
	p1 := byKey["first_response/P1"]
	if p1.Denominator > 0 {
		require.InDelta(t, p1.Numerator/float64(p1.Denominator), find(t, fams, "cxaudit_kpi_ratio", "kpi", "first_response", "priority", "P1").GetGauge().GetValue(), 1e-9)
	}
	for _, s := range snaps {
		if s.Denominator == 0 && s.Dimension == "" {
			for _, m := range series(fams, "cxaudit_kpi_ratio") {
				require.False(t, label(m, "kpi") == s.KPI && label(m, "priority") == "all", "%s has no input: no ratio", s.KPI)
			}
		}
	}
	require.InDelta(t, float64(frt.TakenAt.UnixMilli())/1000, find(t, fams, "cxaudit_kpi_snapshot_timestamp_seconds").GetGauge().GetValue(), 0.001)

	// The support lead's dashboard charts these series, and only metrics
	// cxaudit defines.
	d, data := readDashboard(t, "cxaudit-support-lead.json")
	defined := definedMetrics(t)
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, target := range p.Targets {
			for _, n := range metricName.FindAllString(target.Expr, -1) {
				require.True(t, defined[n], "panel %q: %s is no metric of cxaudit's", p.Title, n)
				require.Contains(t, fams, n, "panel %q: %s was scraped", p.Title, n)
			}
		}
	}
	for _, n := range []string{"cxaudit_kpi_ratio", "cxaudit_kpi_numerator", "cxaudit_kpi_denominator"} {
		require.Contains(t, string(data), n)
	}
	for _, kpi := range rules.KPIs {
		require.Contains(t, string(data), `kpi=\"`+kpi+`\"`, "the dashboard shows %s", kpi)
	}
}
