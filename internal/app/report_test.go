package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/report/reporttest"
	"github.com/cxaudit/cxaudit/internal/simworld"
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
